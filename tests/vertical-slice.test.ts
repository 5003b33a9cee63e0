import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      node: { framework: 'node', version: '20', idle_timeout: 1, max_jobs: 4, max_workers: 2, min_workers: 0 },
    },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'functions.mjs') },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const status = async () => (await sys.request('GET', '/workers/status')).body;

describe('the seed flow', () => {
  it('submit → a worker is spawned → the job succeeds → the idle worker is reaped', async () => {
    const submit = await sys.request('POST', '/jobs', { function: 'echo', input: { hello: 'kiln' } });
    expect(submit.status).toBe(202);
    expect(submit.body).toMatchObject({ status: 'queued', worker_type: 'node', worker_ensured: true });
    const id = submit.body.job_id as string;

    const done = await sys.waitFor('job to succeed', async () => {
      const j = await sys.job(id);
      return j.status === 'succeeded' && j;
    });
    expect(done.result).toEqual({ hello: 'kiln' });
    expect(done.attempts).toBe(1);
    expect(done.worker_id).toMatch(/^node-/);
    expect(done.started_at).not.toBeNull();
    expect(done.finished_at).not.toBeNull();

    const s = await status();
    expect(s.total_workers).toBe(1);
    const w = s.worker_details[done.worker_id];
    expect(w.job_count).toBe(1);
    expect(pidAlive(w.process_id)).toBe(true);

    // idle_timeout is 1 s here: the worker is drained and its record removed
    await sys.waitFor('the idle worker to be reaped', async () => (await status()).total_workers === 0, 10_000);
    await sys.waitFor('the worker process to exit', async () => !pidAlive(w.process_id), 5000);
  });

  it('GET /workers/status has the seed shape', async () => {
    await sys.request('POST', '/jobs', { function: 'sleep', input: { ms: 300 } });
    const s = await sys.waitFor('a worker', async () => {
      const b = await status();
      return b.total_workers > 0 && b;
    });
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['total_workers', 'active_workers', 'workers_by_type', 'worker_details']));
    expect(s.workers_by_type.node).toBe(1);
    const detail = Object.values(s.worker_details)[0] as Record<string, unknown>;
    expect(Object.keys(detail)).toEqual(expect.arrayContaining([
      'worker_id', 'worker_type', 'process_id', 'status', 'created_at', 'last_activity', 'job_count', 'max_jobs', 'working_directory',
    ]));
    expect(detail.max_jobs).toBe(4);
    // the spawner's own endpoint answers the same shape
    const fromSpawner = (await (await fetch(`${sys.spawner.url}/workers/status`, { headers: { authorization: `Bearer ${sys.spawner.token}` } })).json()) as any;
    expect(Object.keys(fromSpawner.worker_details)).toEqual(Object.keys(s.worker_details));
  });
});

describe('spawner control', () => {
  const post = (path: string, token: string | null = sys.spawner.token) =>
    fetch(`${sys.spawner.url}${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('ensure is idempotent', async () => {
    const a = (await (await post("/workers/ensure/node")).json()) as any;
    const b = (await (await post("/workers/ensure/node")).json()) as any;
    expect(['started', 'existing']).toContain(a.action);
    expect(b.action).toBe('existing');
    expect(b.worker_id).toBe(a.worker_id);
    expect(sys.spawner.supervisor.ofType('node').length).toBe(1);
  });

  it('refuses mutating calls without the token and unknown types', async () => {
    expect((await post('/workers/ensure/node', null)).status).toBe(401);
    expect((await post('/workers/ensure/node', 'wrong')).status).toBe(401);
    const res = await post('/workers/start/no-such-type');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.message).toContain('configured types: node');
  });

  it('stop kills the worker and the processes it started (its process group)', async () => {
    const submit = await sys.request('POST', '/jobs', { function: 'spawnGrandchild' });
    const job = await sys.waitFor('the job', async () => {
      const j = await sys.job(submit.body.job_id);
      return j.status === 'succeeded' && j;
    });
    const { worker_pid, grandchild_pid } = job.result as { worker_pid: number; grandchild_pid: number };
    expect(pidAlive(grandchild_pid)).toBe(true);
    const res = await post(`/workers/stop/${job.worker_id}`);
    expect(res.status).toBe(200);
    await sys.waitFor('worker and grandchild gone', async () => !pidAlive(worker_pid) && !pidAlive(grandchild_pid), 5000);
    expect((await status()).worker_details[job.worker_id]).toBeUndefined();
    expect((await post(`/workers/stop/${job.worker_id}`)).status).toBe(404);
  });
});

describe('burst', () => {
  it('200 jobs never run on more than max_workers workers, and all succeed', async () => {
    const ids: string[] = [];
    let maxSeen = 0;
    const sampler = setInterval(() => {
      maxSeen = Math.max(maxSeen, sys.spawner.supervisor.ofType('node').length);
    }, 5);
    const submits = await Promise.all(
      Array.from({ length: 200 }, () => sys.request('POST', '/jobs', { function: 'sleep', input: { ms: 20 } })),
    );
    for (const s of submits) {
      expect(s.status).toBe(202);
      ids.push(s.body.job_id);
    }
    await sys.waitFor('all 200 jobs to succeed', async () => {
      const page = await sys.request('GET', '/jobs?status=succeeded&limit=500');
      return ids.every((id) => page.body.jobs.some((j: { job_id: string }) => j.job_id === id));
    }, 30_000);
    clearInterval(sampler);
    expect(maxSeen).toBeGreaterThan(0);
    expect(maxSeen).toBeLessThanOrEqual(2);
    const s = await status();
    expect(s.total_workers).toBeLessThanOrEqual(2);
  });
});
