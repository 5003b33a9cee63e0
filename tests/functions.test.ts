/**
 * Node functions as a user writes them: `kiln/functions` (JobFailure), `retryable: false`
 * on anything thrown, and the function names the spawner registers for the API.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures');

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1 } },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'failure-functions.mjs') },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const submit = async (body: Record<string, unknown>) => {
  const r = await sys.request('POST', '/jobs', body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const finished = (id: string) =>
  sys.waitFor(`job ${id} to finish`, async () => {
    const j = await sys.job(id);
    return j.status === 'failed' && j;
  });

describe('kiln/functions', () => {
  it('resolves once Kiln is installed as a dependency', () => {
    const app = mkdtempSync(join(tmpdir(), 'kiln-app-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(ROOT, join(app, 'node_modules', 'kiln'), 'dir');
      writeFileSync(join(app, 'fns.mjs'), "import { JobFailure } from 'kiln/functions';\nconst f = new JobFailure('x', { retryable: false });\nconsole.log(JSON.stringify({ name: f.name, retryable: f.retryable, error: f.error, isError: f instanceof Error }));\n");
      const out = JSON.parse(execFileSync(process.execPath, [join(app, 'fns.mjs')], { cwd: app, encoding: 'utf8' }));
      expect(out).toEqual({ name: 'JobFailure', retryable: false, error: { type: 'JobFailure', message: 'x' }, isError: true });
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('a JobFailure from kiln/functions with retryable: false fails the job for good', async () => {
    const f = await finished(await submit({ function: 'badInput', input: { n: 1 }, max_attempts: 4 }));
    expect(f.attempts).toBe(1);
    expect(f.error).toMatchObject({ type: 'BadInput', message: 'no good: {"n":1}' });
  });

  it('an Error subclass or a plain object with retryable: false is not retried either', async () => {
    const sub = await finished(await submit({ function: 'overQuota', max_attempts: 4 }));
    expect(sub.attempts).toBe(1);
    expect(sub.error).toMatchObject({ type: 'QuotaError', message: 'over quota' });
    const plain = await finished(await submit({ function: 'plainObject', max_attempts: 4 }));
    expect(plain.attempts).toBe(1);
    expect(plain.error).toMatchObject({ type: 'PlainFailure', message: 'a plain object' });
  });

  it('a JobFailure is retryable by default', async () => {
    const f = await finished(await submit({ function: 'flaky', max_attempts: 2, backoff: { delay_ms: 10 } }));
    expect(f.attempts).toBe(2);
    expect(f.error).toMatchObject({ type: 'JobFailure', message: 'try again' });
  });
});
