/**
 * spare_workers (Modal's buffer_containers): while a type has work, the spawner keeps
 * that many idle ready workers beyond demand, so a burst is claimed without a cold
 * start; spares count toward max_workers and are reaped with the rest once the type
 * is idle past idle_timeout. Real Redis, the real spawner, real Node workers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerTypes } from '../spawner/config';
import { startSpawner } from '../spawner/daemon';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const MAX_WORKERS = 4;
let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      // one always-on worker, two spares while active, reaped 2 s after the last job
      fast: { framework: 'node', version: '20', idle_timeout: 2, max_jobs: 1, min_workers: 1, spare_workers: 2, max_workers: MAX_WORKERS },
    },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

interface FastStatus { workers: Record<string, number>; spare_workers: number | null; spare_ready: number }
/** The most workers of the type seen starting or serving at once, over every status read. */
let mostServing = 0;
const fast = async (): Promise<FastStatus> => {
  const t = (await sys.request('GET', '/workers/status')).body.types.fast as FastStatus;
  const w = t.workers;
  mostServing = Math.max(mostServing, (w.starting ?? 0) + (w.idle ?? 0) + (w.busy ?? 0));
  return t;
};
const ready = (t: FastStatus) => (t.workers.idle ?? 0) + (t.workers.busy ?? 0);
const serving = (t: FastStatus) => ready(t) + (t.workers.starting ?? 0);

const submit = async (ms: number) => {
  const r = await sys.request('POST', '/jobs', { worker_type: 'fast', function: 'sleep', input: { ms } });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const finished = (id: string) => sys.waitFor(`job ${id} to succeed`, async () => {
  const j = await sys.job(id);
  return j.status === 'succeeded' && j;
}, 30_000);

describe('spare_workers', () => {
  it('starts no spares before any job: min_workers alone is always on', async () => {
    const idle = await sys.waitFor('the min_workers worker to be ready', async () => {
      const t = await fast();
      return (t.workers.idle ?? 0) === 1 && t;
    });
    expect(idle).toMatchObject({ spare_workers: 2, spare_ready: 1 });
    // a few reconcile ticks (100 ms each) later, still one worker: spares follow activity
    await new Promise((r) => setTimeout(r, 600));
    expect(serving(await fast())).toBe(1);
  });

  it('one job brings demand + 2 ready workers; a burst right after is claimed without a cold start', async () => {
    const first = await submit(1500);
    // the job runs on the ready min_workers worker, and two spares start beside it
    const during = await sys.waitFor('demand (1) + 2 spares ready', async () => {
      const t = await fast();
      return ready(t) === 3 && (t.workers.busy ?? 0) === 1 && t;
    });
    expect(during).toMatchObject({ spare_workers: 2, spare_ready: 2 });
    const done = await finished(first);
    expect(done.timings.cold_start).toBeNull();

    // the burst: three jobs at once, as many as the idle workers waiting for them
    const burst = await Promise.all([submit(300), submit(300), submit(300)]);
    const jobs = await Promise.all(burst.map(finished));
    for (const j of jobs) {
      expect(j.timings.cold_start, `job ${j.job_id} waited for a worker to start`).toBeNull();
      expect(j.timings.queue_wait_ms).toBeLessThan(1000);
    }
    // the burst's demand (3) + 2 spares is above max_workers: the type stops at 4
    await sys.waitFor('the type to fill up to max_workers', async () => serving(await fast()) === MAX_WORKERS);
    expect(mostServing).toBeLessThanOrEqual(MAX_WORKERS);
  });

  it('reaps the spares down to min_workers once the type is idle past idle_timeout, and a new job brings them back', async () => {
    const reaped = await sys.waitFor('spares to be reaped down to min_workers', async () => {
      const t = await fast();
      return serving(t) === 1 && (t.workers.draining ?? 0) === 0 && t;
    }, 20_000);
    expect(reaped.spare_ready).toBeLessThanOrEqual(1);
    expect(sys.logs.some((l) => /draining fast-.*idle_timeout 2 s/.test(l))).toBe(true);

    const again = await submit(1000);
    await sys.waitFor('demand + 2 spares again', async () => ready(await fast()) === 3);
    await finished(again);
    expect(mostServing).toBeLessThanOrEqual(MAX_WORKERS);
  });
});

describe('spare_workers with two hosts on one Redis', () => {
  it('each spawner keeps its own spares; the job\'s worker is started once', async () => {
    const stateB = mkdtempSync(join(tmpdir(), 'kiln-spare-b-'));
    // no spawner URL: workers come only from the two reconcile loops
    const a = await startSystem(redis, {
      types: { pool: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 1, spare_workers: 1, max_workers: 4 } },
      spawnerUrl: null,
    });
    const b = await startSpawner({ ...a.config, hostId: 'host-b', stateDir: stateB, port: 0 }, () => {});
    try {
      const id = (await a.request('POST', '/jobs', { worker_type: 'pool', function: 'sleep', input: { ms: 2000 } })).body.job_id as string;
      const idleOn = (h: typeof b) => [...h.supervisor.workers.values()].filter((w) => w.state === 'idle' && w.running === 0).length;
      await a.waitFor('the job running and one idle spare on each host', async () =>
        (await a.job(id)).status === 'running' && idleOn(a.spawner) >= 1 && idleOn(b) >= 1);
      // one worker for the job (its host's spare may have taken it, and a new spare started there), one spare per host
      const total = a.spawner.supervisor.workers.size + b.supervisor.workers.size;
      expect(total).toBeGreaterThanOrEqual(3);
      expect(total).toBeLessThanOrEqual(4);
    } finally {
      await b.stop(1000);
      await a.stop();
      rmSync(stateB, { recursive: true, force: true });
    }
  });
});

describe('spare_workers validation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-spare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (cfg: Record<string, unknown>) => {
    const file = join(dir, 'types.json');
    writeFileSync(file, JSON.stringify({ t: { framework: 'node', version: '20', max_workers: 2, ...cfg } }));
    return () => loadWorkerTypes({ WORKER_TYPES_FILE: file });
  };

  it('defaults to 0, and refuses a value that is not an integer from 0 to max_workers, naming the field', () => {
    expect(load({})().t?.spare_workers).toBe(0);
    expect(load({ spare_workers: 2 })().t?.spare_workers).toBe(2);
    expect(load({ spare_workers: 3 })).toThrow(/t\.spare_workers \(3\) is above max_workers \(2\)/);
    expect(load({ spare_workers: -1 })).toThrow(/t\.spare_workers/);
    expect(load({ spare_workers: 1.5 })).toThrow(/t\.spare_workers/);
    expect(load({ spare_workers: '1' })).toThrow(/t\.spare_workers/);
  });
});
