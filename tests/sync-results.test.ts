/**
 * Synchronous results (POST /jobs*?wait=) with real workers: a job that ends within
 * the wait is answered 200 with the job, succeeded or failed; a slow one is 202 when
 * the wait runs out; waits past KILN_MAX_WAITS are 429 before anything is queued.
 * (tests/contract/suite.ts covers the same answers without workers, in both runtimes.)
 * The JobEndWatch (one blocking read of the events stream) wakes the waits here.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioredisJobEndWatch, startApiServer } from '../api/node';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys } from '../core/keys';
import { createLogger } from '../core/logger';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1, min_workers: 0 } },
    api: { maxWaits: 2 },
    watchJobEnds: true, // as the Node API runs (the contract suite covers the polls alone)
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
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const warm = await sys.request('POST', '/jobs?wait=5', { function: 'echo', input: i });
      times.push(performance.now() - t0);
      expect(warm.status).toBe(200);
      expect(warm.body.result).toBe(i);
    }
    times.sort((x, y) => x - y);
    console.log(`warm echo through ?wait= (20 in a row): median ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms`);
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

describe('the job end watch (Node: one blocking read of the events stream for all waits)', () => {
  it('wakes the waiters of a job when its end is appended, not on its other events nor on other jobs', async () => {
    const blocking = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const lines: string[] = [];
    const keys = createKeys(`${sys.prefix}-watch`);
    const watch = ioredisJobEndWatch({
      blocking, port: createIoredisPort(sys.redis), keys, blockMs: 100,
      logger: createLogger({ component: 'api', now: Date.now, write: (line) => lines.push(line) }),
    });
    try {
      const settled = (p: Promise<void>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 400))]);
      const a = watch.watch('job-a');
      const a2 = watch.watch('job-a');
      const b = watch.watch('job-b');
      await Promise.all([a.ready, b.ready]);
      await sys.redis.xadd(keys.events(), '*', 'job', 'job-a', 'status', 'running', 'ts', '1');
      await sys.redis.xadd(keys.events(), '*', 'job', 'job-a', 'output', '"x"', 'seq', '0', 'ts', '1');
      expect(await settled(a.ended), 'running and output events do not wake').toBe(false);
      await sys.redis.xadd(keys.events(), '*', 'job', 'job-a', 'status', 'failed', 'ts', '2');
      expect(await settled(a.ended)).toBe(true);
      expect(await settled(a2.ended)).toBe(true);
      expect(await settled(b.ended), 'another job is not woken').toBe(false);
      a.close();
      a2.close();
      await sys.redis.xadd(keys.events(), '*', 'job', 'job-b', 'status', 'cancelled', 'ts', '3');
      expect(await settled(b.ended)).toBe(true);
      b.close();
      // with no waiter left the loop ends; a later watch starts it again from the stream's tail
      const c = watch.watch('job-c');
      await c.ready;
      await sys.redis.xadd(keys.events(), '*', 'job', 'job-c', 'status', 'succeeded', 'ts', '4');
      expect(await settled(c.ended)).toBe(true);
      c.close();
      expect(lines).toEqual([]);
    } finally {
      watch.stop();
      blocking.disconnect();
    }
  });
});

describe('the Node API server (api/node.ts) with ?wait=', () => {
  it('answers a job its workers run with 200 as it ends, woken by its watch', async () => {
    const lines: string[] = [];
    const port = await freePort();
    const api = startApiServer(
      { REDIS_URL: redis.url, API_PORT: String(port), KILN_PREFIX: sys.prefix, WORKER_MANAGER_URL: '' },
      createLogger({ component: 'api', now: Date.now, write: (line) => lines.push(line) }),
    );
    await api.listening;
    try {
      const submit = (input: unknown) => fetch(`${api.url}/jobs?wait=20`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ function: 'sleep', input }),
      });
      const res = await submit({ ms: 400 });
      const answeredAt = Date.now();
      expect(res.status).toBe(200);
      const job = (await res.json()) as { status: string; result: unknown; finished_at: string };
      expect(job).toMatchObject({ status: 'succeeded', result: { slept_ms: 400 } });
      console.log(`a 400 ms job through the Node API's ?wait=: answered ${answeredAt - Date.parse(job.finished_at)} ms after it finished`);
      expect(lines.filter((l) => l.includes('watch'))).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
