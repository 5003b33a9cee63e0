/**
 * Synchronous results (POST /jobs*?wait=) with real workers: a job that ends within
 * the wait is answered 200 with the job, succeeded or failed; a slow one is 202 when
 * the wait runs out; waits past KILN_MAX_WAITS are 429 before anything is queued.
 * (tests/contract/suite.ts covers the same answers without workers, in both runtimes.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1, min_workers: 0 } },
    api: { maxWaits: 2 },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

describe('?wait= with real workers', () => {
  it('a job that succeeds within the wait is 200 with its result (a cold start included)', async () => {
    const r = await sys.request('POST', '/jobs?wait=30', { function: 'echo', input: { hello: 'sync' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'succeeded', kind: 'function', result: { hello: 'sync' }, attempts: 1 });
    expect(r.body.worker_id).toMatch(/^node-/);
    expect(r.body).toEqual(await sys.job(r.body.job_id));
    // warm: the answer comes within a few polls of the job's end
    const t0 = performance.now();
    const warm = await sys.request('POST', '/jobs?wait=5', { function: 'echo', input: 2 });
    expect(warm.status).toBe(200);
    expect(warm.body.result).toBe(2);
    console.log(`warm echo through ?wait=: ${(performance.now() - t0).toFixed(1)} ms`);
  });

  it('a job that fails within the wait is 200 with status failed and its error', async () => {
    const r = await sys.request('POST', '/jobs?wait=20&other=ignored', { function: 'fail', input: { message: 'no luck', retryable: false } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'failed', error: { type: 'handler_error', message: 'no luck' } });
  });

  it('a job still running when the wait runs out is 202 with its status then; it goes on and succeeds', async () => {
    const t0 = Date.now();
    const r = await sys.request('POST', '/jobs?wait=0.6', { function: 'sleep', input: { ms: 2500 } });
    expect(r.status).toBe(202);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(590);
    expect(r.body).toMatchObject({ wait_expired: true, worker_type: 'node' });
    expect(['queued', 'running']).toContain(r.body.status);
    await sys.waitFor('the job to succeed', async () => (await sys.job(r.body.job_id)).status === 'succeeded', 20_000);
  });

  it('past KILN_MAX_WAITS a submit with wait is 429 TOO_MANY_WAITS with Retry-After, and queues nothing; a freed slot serves again', async () => {
    const held = [1, 2].map(() => sys.request('POST', '/jobs?wait=3', { function: 'sleep', input: { ms: 6000 } }));
    // the two waits hold both slots once their jobs are queued
    await sys.waitFor('two queued or running sleeps', async () => {
      const list = (await sys.request('GET', '/jobs?limit=500')).body.jobs as { payload?: unknown; status: string }[];
      return list.filter((j) => j.status === 'queued' || j.status === 'running').length >= 2;
    });
    const before = (await sys.request('GET', '/jobs?limit=500')).body.jobs.length;
    const refused = await sys.request('POST', '/jobs?wait=1', { function: 'echo', input: 1 });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.body.error).toMatchObject({ code: 'TOO_MANY_WAITS', field: 'wait' });
    expect(refused.body.error.message).toContain('KILN_MAX_WAITS');
    expect((await sys.request('GET', '/jobs?limit=500')).body.jobs.length).toBe(before);
    // without wait a submit is not held back
    expect((await sys.request('POST', '/jobs', { function: 'echo', input: 1 })).status).toBe(202);
    for (const r of await Promise.all(held)) expect(r.status).toBe(202);
    expect((await sys.request('POST', '/jobs?wait=10', { function: 'echo', input: 3 })).status).toBe(200);
  });
});
