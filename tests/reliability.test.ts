/**
 * Nothing lost, nothing left behind: crash, timeout, cancel, idempotency,
 * priorities, backoff and the crash-loop breaker, against real processes.
 */
import { jobRecordSettings } from '../core/config';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { pidAlive } from '../spawner/launcher';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const FIXTURES = join(import.meta.dirname, 'fixtures');

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 2 },
      // one slot only: jobs queue up behind whatever runs
      single: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 1, max_workers: 1 },
      broken: { framework: 'sklearn', version: '1.2', python: '/nonexistent/python3', max_jobs: 1, max_workers: 1 },
    },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'functions.mjs'), KILN_RETENTION_SUCCEEDED_S: '600' },
    spawner: { cancelGraceMs: 500 },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const submit = async (body: Record<string, unknown>, headers?: Record<string, string>) => {
  const r = await sys.request('POST', '/jobs', body, headers);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  return r.body.job_id as string;
};
const until = (id: string, statuses: string[], ms = 20_000) =>
  sys.waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
    const j = await sys.job(id);
    return statuses.includes(j.status) && j;
  }, ms);

describe('crashes', () => {
  it('SIGKILL of a worker mid-job: the job completes on a new worker with attempts = 2', async () => {
    const id = await submit({ function: 'whoami', input: { ms: 1500 } });
    const running = await until(id, ['running']);
    const victim = (await sys.request('GET', '/workers/status')).body.worker_details[running.worker_id];
    process.kill(victim.process_id, 'SIGKILL');
    const done = await until(id, ['succeeded']);
    expect(done.attempts).toBe(2);
    expect(done.worker_id).not.toBe(running.worker_id);
    expect(done.result.pid).not.toBe(victim.process_id);
    expect(done.errors).toHaveLength(1);
    expect(done.errors[0]).toMatchObject({ type: 'worker_exit', signal: 'SIGKILL', worker_id: running.worker_id });
    expect(done.errors[0].message).toContain('SIGKILL');
    // the dead worker's record keeps its exit diagnostics
    const rec = (await sys.request('GET', `/workers/${running.worker_id}`)).body;
    expect(rec.status).toBe('exited');
    expect(rec.exit).toMatchObject({ reason: 'crashed', signal: 'SIGKILL' });
    expect(Array.isArray(rec.exit.stderr_tail)).toBe(true);
  });

  it('a job that keeps killing its worker fails after max_attempts, keeping every error', async () => {
    const id = await submit({ function: 'crash', max_attempts: 2 });
    const failed = await until(id, ['failed']);
    expect(failed.attempts).toBe(2);
    expect(failed.errors).toHaveLength(2);
    expect(failed.errors.map((e: { exit_code: number }) => e.exit_code)).toEqual([13, 13]);
  });
});

describe('timeouts', () => {
  it('a job past timeout_s is stopped through its AbortSignal and fails with a timeout error', async () => {
    const id = await submit({ function: 'sleep', input: { ms: 10_000 }, timeout_s: 0.3, max_attempts: 1 });
    const failed = await until(id, ['failed']);
    expect(failed.error.type).toBe('timeout');
    expect(failed.error.message).toContain('0.3 s');
  });

  it('a job that ignores the abort gets its worker killed and replaced', async () => {
    const id = await submit({ function: 'hang', timeout_s: 0.3, max_attempts: 1 });
    const failed = await until(id, ['failed']);
    expect(failed.error.type).toBe('timeout');
    await sys.waitFor('the stuck worker to be gone', async () => (await sys.request('GET', `/workers/${failed.worker_id}`)).body.status === 'exited');
    const after = await submit({ function: 'echo', input: 1 });
    expect((await until(after, ['succeeded'])).result).toBe(1);
  });
});

describe('cancel', () => {
  it('cancels a queued job at once and a running one within 2 s; the worker goes on', async () => {
    const running = await submit({ function: 'sleep', input: { ms: 20_000 }, worker_type: 'single' });
    const queued = await submit({ function: 'echo', input: 'never', worker_type: 'single' });
    const r1 = await until(running, ['running']);

    const c1 = await sys.request('POST', `/jobs/${queued}/cancel`);
    expect(c1.status).toBe(200);
    expect(c1.body.status).toBe('cancelled');
    expect((await sys.job(queued)).status).toBe('cancelled');

    const t0 = Date.now();
    const c2 = await sys.request('DELETE', `/jobs/${running}`);
    expect(c2.status).toBe(202);
    expect(c2.body.status).toBe('cancelling');
    const cancelled = await until(running, ['cancelled'], 5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(cancelled.error.type).toBe('cancelled');

    // the same worker serves the next job
    const next = await submit({ function: 'whoami', worker_type: 'single' });
    expect((await until(next, ['succeeded'])).worker_id).toBe(r1.worker_id);

    const again = await sys.request('POST', `/jobs/${next}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('JOB_FINISHED');
    expect((await sys.request('POST', '/jobs/nope/cancel')).status).toBe(404);
  });
});

describe('idempotency', () => {
  it('the same Idempotency-Key returns the same job; a different body is 422', async () => {
    const body = { function: 'echo', input: { n: 1 } };
    const a = await sys.request('POST', '/jobs', body, { 'idempotency-key': 'order-42' });
    const b = await sys.request('POST', '/jobs', body, { 'idempotency-key': 'order-42' });
    expect(a.status).toBe(202);
    expect(b.status).toBe(200);
    expect(b.body.job_id).toBe(a.body.job_id);
    expect(b.body.idempotent_replay).toBe(true);
    const c = await sys.request('POST', '/jobs', { ...body, input: { n: 2 } }, { 'idempotency-key': 'order-42' });
    expect(c.status).toBe(422);
    expect(c.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const d = await sys.request('POST', '/jobs', body, { 'idempotency-key': 'order-43' });
    expect(d.body.job_id).not.toBe(a.body.job_id);
  });
});

describe('priorities', () => {
  it('runs higher priority first, FIFO within a priority', async () => {
    const blocker = await submit({ function: 'sleep', input: { ms: 600 }, worker_type: 'single' });
    await until(blocker, ['running']);
    const specs = [['a', 0], ['b', 5], ['c', 1], ['d', 5], ['e', -1], ['f', 1]] as const;
    const ids: Record<string, string> = {};
    for (const [name, priority] of specs) ids[name] = await submit({ function: 'echo', input: name, priority, worker_type: 'single' });
    for (const id of Object.values(ids)) await until(id, ['succeeded']);
    // the order in which the worker claimed them, from the events stream
    const events = await sys.redis.xrange(`{${sys.prefix}}:events`, '-', '+');
    const byId = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
    const order = events
      .map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])))
      .filter((f) => f.status === 'running' && f.job && byId[f.job] && f.progress === undefined)
      .map((f) => byId[f.job!]);
    expect(order).toEqual(['b', 'd', 'c', 'f', 'a', 'e']);
  });
});

describe('retries', () => {
  it('backs off exponentially between attempts, and a non-retryable error fails at once', async () => {
    const id = await submit({ function: 'fail', input: { message: 'flaky' }, max_attempts: 3, backoff: { delay_ms: 400 } });
    const failed = await until(id, ['failed']);
    expect(failed.attempts).toBe(3);
    const at = failed.errors.map((e: { at: string }) => Date.parse(e.at)); // ISO-8601, as every time in a view
    const starts = failed.errors.length;
    expect(starts).toBe(3);
    // delays are in [base/2, base] · 2^(n-1): ≥ 200 ms, then ≥ 400 ms
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(200);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(400);

    const fatal = await submit({ function: 'fail', input: { retryable: false }, max_attempts: 5 });
    const f = await until(fatal, ['failed']);
    expect(f.attempts).toBe(1);
    expect(f.error).toMatchObject({ type: 'handler_error', exception: 'FunctionError' });
  });
});

describe('crash-loop breaker', () => {
  it('marks a type whose workers cannot start errored, shows why, and backs off', async () => {
    const id = await submit({ worker_type: 'broken', payload: {} });
    const state = await sys.waitFor('the type to be errored', async () => {
      const s = (await sys.request('GET', '/workers/status')).body;
      return s.type_state?.broken;
    });
    expect(state).toContain('errored');
    // why, without the interpreter's path (it stays on the host)
    expect(state).toContain('spawn [redacted] ENOENT');
    expect(state).not.toContain('/nonexistent/python3');
    const job = await sys.job(id);
    expect(job.status).toBe('queued');
    expect(job.waiting_reason).toContain('errored');
    // the worker's own record said it errored (why, redacted) before it exited
    const first = /started (broken-\w+)/.exec(sys.logs.find((l) => l.includes('started broken-')) ?? '')?.[1];
    const rec = await sys.waitFor('the exit record', async () => {
      const r = await sys.request('GET', `/workers/${first}`);
      return r.status === 200 && r.body.status === 'exited' ? r.body : undefined;
    });
    expect(rec.status_reason).toContain('ENOENT');
    expect(rec.status_reason).not.toContain('/nonexistent/python3');
    // restarts back off: far fewer starts than reconcile ticks (100 ms) in 2 s
    const before = sys.logs.filter((l) => l.includes('started broken-')).length;
    await new Promise((r) => setTimeout(r, 2000));
    const during = sys.logs.filter((l) => l.includes('started broken-')).length - before;
    expect(during).toBeLessThanOrEqual(2);
    await sys.request('POST', `/jobs/${id}/cancel`);
  });
});

describe('progress', () => {
  it('records the last progress update before the result, however fast they came', async () => {
    const id = await submit({ function: 'progress', input: { steps: 20, ms: 1 } });
    const done = await until(id, ['succeeded']);
    expect(done.progress).toBe(1);
    expect(done.progress_message).toBe('step 20/20');
  });
});

describe('events and retention', () => {
  it('GET /jobs/:id/events streams the transitions as SSE and ends with the job', async () => {
    const id = await submit({ function: 'progress', input: { steps: 3, ms: 150 } });
    const res = await sys.api.request(`/jobs/${id}/events`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('"status":"queued"');
    expect(text).toContain('"status":"running"');
    expect(text).toMatch(/event: progress\n/);
    expect(text).toContain('"status":"succeeded"');
    expect(text).toContain('event: end');
  });
});

describe('leases', () => {
  it("requeues the jobs of another host's worker whose lease lapsed", async () => {
    const store = createJobStore(createIoredisPort(sys.redis), { keys: createKeys(sys.prefix), ...jobRecordSettings({}) });
    const keys = store.keys;
    await sys.redis.hset(keys.types(), 'ghosttype', '{}');
    const { id } = await store.enqueue({ id: 'ghost-job', type: 'ghosttype', kind: 'generic', payload: {}, priority: 0, maxAttempts: 3, timeoutMs: 0, now: Date.now(), typeCheck: 'custom' }) as { id: string };
    // a worker on a host that vanished: it holds the job, and has no lease
    await sys.redis.multi()
      .hset(keys.worker('ghost-1'), { worker_id: 'ghost-1', worker_type: 'ghosttype', process_id: 1, status: 'busy', created_at: 1, last_activity: 1, max_jobs: 1, working_directory: '/', host: 'elsewhere' })
      .sadd(keys.workers(), 'ghost-1')
      .exec();
    expect((await store.claim('ghosttype', 'ghost-1', Date.now()))[0]?.id).toBe(id);
    const requeued = await sys.waitFor('the sweep to requeue the job', async () => {
      const j = await sys.job(id);
      return j.status === 'queued' && j;
    });
    expect(requeued.attempts).toBe(1);
    expect(requeued.errors[0]).toMatchObject({ type: 'worker_lost', worker_id: 'ghost-1' });
    expect(await sys.redis.sismember(keys.workers(), 'ghost-1')).toBe(0);
    await sys.request('POST', `/jobs/${id}/cancel`);
  });
});

describe('retention', () => {
  it('finished jobs expire, and listings never return their ids', async () => {
    const r2 = await startRedis();
    const s2 = await startSystem(r2, { types: { node: { framework: 'node', version: '20' } }, env: { KILN_RETENTION_SUCCEEDED_S: '1' } });
    try {
      const id = (await s2.request('POST', '/jobs', { function: 'echo' })).body.job_id;
      await s2.waitFor('success', async () => (await s2.job(id)).status === 'succeeded');
      expect((await s2.request('GET', '/jobs?status=succeeded')).body.jobs.map((j: { job_id: string }) => j.job_id)).toContain(id);
      await s2.waitFor('expiry', async () => (await s2.request('GET', `/jobs/${id}`)).status === 404, 5000);
      expect((await s2.request('GET', '/jobs?status=succeeded')).body.jobs).toEqual([]);
      expect((await s2.request('GET', '/jobs')).body.jobs).toEqual([]);
    } finally {
      await s2.stop();
      await r2.stop();
    }
  });
});

describe('process lifecycle', () => {
  it('stopping the whole spawner drains its workers and leaves no process', async () => {
    const r2 = await startRedis();
    const s2 = await startSystem(r2, { types: { node: { framework: 'node', version: '20', max_jobs: 2, max_workers: 2 } }, env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'functions.mjs') } });
    try {
      const id = (await s2.request('POST', '/jobs', { function: 'spawnGrandchild' })).body.job_id;
      const j = await s2.waitFor('job', async () => {
        const x = await s2.job(id);
        return x.status === 'succeeded' && x;
      });
      await s2.spawner.stop(1000);
      expect(s2.spawner.supervisor.workers.size).toBe(0);
      await s2.waitFor('worker and grandchild gone', async () => !pidAlive(j.result.worker_pid) && !pidAlive(j.result.grandchild_pid), 5000);
    } finally {
      await s2.stop();
      await r2.stop();
    }
  });
});
