/**
 * Issue #9, lookups, inside workerd: GET and HEAD requests that carry a body
 * framing header (content-length / transfer-encoding) are served, not a 500; and
 * names of Object.prototype's properties are unknown worker types, model types
 * and functions here too.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

/**
 * Through the workerd entry's own entrypoint (as wrangler dev serves it): only there does
 * workerd turn a framing header on a GET into a body stream. A Request built here
 * and handed to `workerd.fetch` directly has no body and hides the bug.
 */
const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  exports.default.fetch(new Request(`http://localhost${path}`, {
    method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }));

describe('workerd: GET and HEAD with a body framing header', () => {
  for (const method of ['GET', 'HEAD']) {
    for (const headers of [{ 'content-length': '5' }, { 'transfer-encoding': 'chunked' }] as Record<string, string>[]) {
      it(`${method} ${JSON.stringify(headers)} is served`, async () => {
        for (const path of ['/health', '/jobs', '/workers/status', '/workers/types', '/openapi.json']) {
          const res = await call(method, path, headers);
          expect(res.status, `${method} ${path}`).toBe(200);
          await res.body?.cancel();
        }
        const missing = await call(method, '/jobs/no-such-job', headers);
        expect(missing.status).toBe(404);
        await missing.body?.cancel();
      });
    }
  }
});

describe('workerd: own keys only', () => {
  it('worker_type, model_type and function named like Object.prototype properties are a 400', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'valueof']) {
      const typed = await call('POST', '/jobs', {}, { worker_type: name, payload: {} });
      expect(typed.status, `worker_type ${name}`).toBe(400);
      expect(((await typed.json()) as { error: { field: string } }).error.field).toBe('worker_type');
      const model = await call('POST', '/jobs/training', {}, { model_type: name, data_path: 'x.csv' });
      expect(model.status, `model_type ${name}`).toBe(400);
      expect(((await model.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_MODEL_TYPE');
    }
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const fn = await call('POST', '/jobs', {}, { function: name });
      expect(fn.status, `function ${name}`).toBe(400);
      expect(((await fn.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_FUNCTION');
    }
  });
});
