/**
 * What is particular to the workerd entry: the ensure call goes out through
 * `fetch` with the spawner token, a missing spawner URL only skips it, and bad
 * bindings answer a JSON error that names the binding.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import workerd, { type WorkerdEnv } from '../../api/workerd';

/**
 * The contract suite owns the `contract` prefix; these tests keep their jobs apart,
 * through the gateway that serves the `entry` prefix (a gateway serves one prefix).
 */
const base: WorkerdEnv = { ...(env as WorkerdEnv), KILN_PREFIX: 'entry', UPSTASH_REDIS_REST_URL: `${(env as WorkerdEnv).UPSTASH_REDIS_REST_URL}-entry` };

const submit = (body: unknown) =>
  new Request('http://localhost/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function ensureCalls(): Promise<{ worker_type: string; authorized: boolean }[]> {
  const res = await fetch(`${base.WORKER_MANAGER_URL}/test/ensure-calls`);
  return (await res.json()) as { worker_type: string; authorized: boolean }[];
}

describe('workerd entry (api/workerd.ts)', () => {
  it('GET /health reaches Redis through the gateway and the spawner through fetch', async () => {
    const res = await exports.default.fetch(new Request('http://localhost/health'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', redis: 'ok', spawner: 'ok' });
  });

  it('asks the spawner for a worker through fetch, with the bearer token', async () => {
    const res = await workerd.fetch(submit({ worker_type: 'tensorflow', payload: { n: 1 } }), base);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'queued', worker_type: 'tensorflow', worker_ensured: true, ensure_action: 'already-running' });
    expect(await ensureCalls()).toContainEqual({ worker_type: 'tensorflow', authorized: true });
  });

  it('with no spawner URL the job is still queued, for the spawner loop to serve', async () => {
    const noSpawner: WorkerdEnv = { ...base, WORKER_MANAGER_URL: '' };
    const res = await workerd.fetch(submit({ function: 'echo', input: { a: 1 } }), noSpawner);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { job_id: string; worker_ensured: boolean; ensure_error: string };
    expect(body.worker_ensured).toBe(false);
    expect(body.ensure_error).toContain('spawner loop');
    const job = await workerd.fetch(new Request(`http://localhost/jobs/${body.job_id}`), noSpawner);
    expect(await job.json()).toMatchObject({ job_id: body.job_id, status: 'queued', worker_type: 'node' });
  });

  it('a wrong spawner token is reported, and the job is queued anyway', async () => {
    const badToken: WorkerdEnv = { ...base, SPAWNER_TOKEN: 'wrong' };
    const res = await workerd.fetch(submit({ function: 'echo' }), badToken);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'queued', worker_ensured: false, ensure_error: expect.stringContaining('401') });
  });

  it('KILN_API_TOKEN (a secret binding) guards every data route, not /health, /openapi.json, /docs or the dashboard', async () => {
    const guarded: WorkerdEnv = { ...base, KILN_API_TOKEN: 's3cret' };
    expect((await workerd.fetch(new Request('http://kiln.test/health'), guarded)).status).toBe(200);
    expect((await workerd.fetch(new Request('http://kiln.test/'), guarded)).status).toBe(200);
    expect((await workerd.fetch(new Request('http://kiln.test/ui/app.js'), guarded)).status).toBe(200);
    expect((await workerd.fetch(new Request('http://kiln.test/workers/status'), guarded)).status).toBe(401);
    const doc = await workerd.fetch(new Request('http://kiln.test/openapi.json'), guarded);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.1.0');
    const docs = await workerd.fetch(new Request('http://kiln.test/docs'), guarded);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');
    expect((await workerd.fetch(new Request('http://kiln.test/jobs'), guarded)).status).toBe(401);
    const ok = await workerd.fetch(new Request('http://kiln.test/jobs', { headers: { authorization: 'Bearer s3cret' } }), guarded);
    expect(ok.status).toBe(200);
  });

  it('without KILN_API_TOKEN only loopback Host names are served (DNS-rebinding guard); with it, any', async () => {
    for (const host of ['localhost', '127.0.0.1:8787', '[::1]:8787', 'kiln.localhost']) {
      const res = await workerd.fetch(new Request('http://localhost/health', { headers: { host } }), base);
      expect(res.status, host).toBe(200);
    }
    const rebound = await workerd.fetch(new Request('http://kiln.test/jobs'), base);
    expect(rebound.status).toBe(403);
    expect(((await rebound.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'HOST_NOT_ALLOWED', message: expect.stringContaining('KILN_API_TOKEN'),
    });
    const evil = await workerd.fetch(new Request('http://localhost/jobs', { method: 'POST', headers: { host: 'evil.example:8787', 'content-type': 'application/json' }, body: '{"function":"echo"}' }), base);
    expect(evil.status).toBe(403);
    const guarded: WorkerdEnv = { ...base, KILN_API_TOKEN: 's3cret' };
    const ok = await workerd.fetch(new Request('http://kiln.test/jobs', { headers: { authorization: 'Bearer s3cret' } }), guarded);
    expect(ok.status).toBe(200);
  });

  it('missing or bad bindings answer 500 JSON naming the binding', async () => {
    const missing = await workerd.fetch(new Request('http://localhost/health'), {});
    expect(missing.status).toBe(500);
    expect(((await missing.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'BAD_CONFIG', message: expect.stringContaining('UPSTASH_REDIS_REST_URL'),
    });
    const badPrefix = await workerd.fetch(new Request('http://localhost/health'), { ...base, KILN_PREFIX: 'a b' });
    expect(badPrefix.status).toBe(500);
    expect(((await badPrefix.json()) as { error: { message: string } }).error.message).toContain('KILN_PREFIX');
  });

  it('builds the app once per env object, not per request', async () => {
    const own: WorkerdEnv = { ...base };
    const first = await workerd.fetch(new Request('http://localhost/health'), own);
    expect(first.status).toBe(200);
    // Broken after first use: the same env object keeps answering from its cached
    // app, while a new env object with the broken URL is built (and refused).
    own.UPSTASH_REDIS_REST_URL = 'not a url';
    const again = await workerd.fetch(new Request('http://localhost/health'), own);
    expect(again.status).toBe(200);
    const fresh = await workerd.fetch(new Request('http://localhost/health'), { ...own });
    expect(fresh.status).toBe(500);
  });
});
