/**
 * The worker's round trips, on a real redis-server: the idle worker's BLPOP with the
 * claim pipelined behind it (worker-runtime/wake-claim.ts), and jobs that finish
 * together recorded in one complete-jobs call (worker-runtime/completions.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { jobRecordSettings } from '../core/config';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore, type JobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { createWakeClaim } from '../worker-runtime/wake-claim';
import { type RedisServer, startRedis } from './helpers/redis-server';
import { newJob } from './helpers/lua-redis';
import { startSystem } from './helpers/system';
import * as lua from '../core/lua/scripts';

const keys = createKeys('wk');
let server: RedisServer;
let io: Redis;
let blocking: Redis;
let store: JobStore;

beforeAll(async () => {
  server = await startRedis();
  io = server.client();
  blocking = server.client();
  store = createJobStore(createIoredisPort(io), { keys, ...jobRecordSettings({}) });
});
afterAll(async () => server?.stop());
beforeEach(async () => {
  await io.flushall();
  await store.claim('node', 'w0', 1000); // loads claim-job.lua (a worker's first claim does)
});

const wakeClaim = (timeoutS = 5) =>
  createWakeClaim({ blocking, redis: io, store, type: 'node', workerId: 'w1', notifyKeys: [keys.notify('node')], timeoutS });

/** The commands the server ran, by name (INFO commandstats). */
async function calls(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await io.info('commandstats')).matchAll(/cmdstat_(\S+?):calls=(\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('wake-claim', () => {
  it('claims a job submitted while it waits, in the round trip that wakes it (no claim of its own after)', async () => {
    const wake = wakeClaim();
    const waiting = wake.wait(4);
    await expect.poll(async () => String(await io.client('LIST')).includes('cmd=blpop')).toBe(true);
    const before = await calls();
    const t0 = Date.now();
    await store.enqueue(newJob('j1', { now: t0 }));
    const jobs = await waiting;
    expect(jobs.map((j) => j.id)).toEqual(['j1']);
    expect(await io.hgetall(keys.job('j1'))).toMatchObject({ status: 'running', worker_id: 'w1', attempts: '1' });
    // started_at is Redis's clock at the claim (this host's clock too)
    const startedAt = Number(await io.hget(keys.job('j1'), 'started_at'));
    expect(startedAt).toBeGreaterThanOrEqual(t0 - 5);
    expect(startedAt).toBeLessThanOrEqual(Date.now() + 5);
    const after = await calls();
    // the enqueue and the one pipelined claim; nothing else was asked of Redis in between
    expect((after.evalsha ?? 0) - (before.evalsha ?? 0)).toBe(2);
  });

  it('interrupt() ends the wait at once, and its claim still runs and comes back', async () => {
    // a job already queued (its wake-up token taken by another worker) is claimed on the interrupt
    await store.enqueue(newJob('j2'));
    await io.del(keys.notify('node'));
    const wake = wakeClaim(30);
    const waiting = wake.wait(2);
    await expect.poll(async () => String(await io.client('LIST')).includes('cmd=blpop')).toBe(true);
    const t0 = Date.now();
    expect(await wake.interrupt()).toBe(true);
    expect((await waiting).map((j) => j.id)).toEqual(['j2']);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await io.hget(keys.job('j2'), 'status')).toBe('running');
  });

  it('returns nothing on a timeout with an empty queue, and nothing (no error) when Redis lost the script', async () => {
    expect(await wakeClaim(1).wait(1)).toEqual([]);
    await io.script('FLUSH');
    expect(await wakeClaim(1).wait(1)).toEqual([]);
  });
});

describe('an idle worker', () => {
  it('claims a submitted job on its blocking connection, behind the BLPOP that wakes it', async () => {
    const sys = await startSystem(server, { types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 2, max_workers: 1 } } });
    const monitor = await server.client().monitor();
    try {
      const first = (await sys.request('POST', '/jobs', { function: 'echo', input: 1 })).body.job_id as string;
      await sys.waitFor('the first job', async () => (await sys.job(first)).status === 'succeeded', 15_000);
      // the worker's blocking connection, waiting again
      const blockingAddr = await sys.waitFor('the worker to wait', async () => {
        const line = String(await io.client('LIST')).split('\n').find((l) => / name=kiln-worker-\S+ /.test(l) && / cmd=blpop /.test(l));
        return line ? / addr=(\S+) /.exec(line)![1] : undefined;
      });
      const claims: string[] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (args[0]?.toLowerCase() === 'evalsha' && args[1] === lua.claimJob.sha) claims.push(source);
      });
      const id = (await sys.request('POST', '/jobs', { function: 'echo', input: 2 })).body.job_id as string;
      await sys.waitFor('the job', async () => (await sys.job(id)).status === 'succeeded', 15_000);
      expect(claims[0]).toBe(blockingAddr);
    } finally {
      monitor.disconnect();
      await sys.stop();
    }
  });
});

describe('a busy worker', () => {
  it('records jobs that finish together in one complete-jobs call', async () => {
    const sys = await startSystem(server, { types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 8, max_workers: 1 } } });
    const monitor = await server.client().monitor();
    const batches: number[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'evalsha' && args[1] === lua.completeJobs.sha) batches.push((args.length - 3 - 9 - 11) / 2);
    });
    try {
      const store = createJobStore(createIoredisPort(io), { keys: createKeys(sys.prefix), ...jobRecordSettings({}) });
      // queued before any worker exists: its first claim takes all eight, and they finish in one turn
      await Promise.all(Array.from({ length: 8 }, (_, i) => store.enqueue(newJob(`b${i}`, { payload: { function: 'echo', input: i }, now: Date.now() }))));
      await sys.spawner.ensure('node');
      await sys.waitFor('the eight jobs', async () => (await io.zcard(createKeys(sys.prefix).byStatus('succeeded'))) === 8, 15_000);
      for (let i = 0; i < 8; i++) expect(await sys.job(`b${i}`)).toMatchObject({ status: 'succeeded', result: i });
      expect(batches.reduce((a, b) => a + b, 0)).toBe(8);
      expect(Math.max(...batches)).toBeGreaterThan(1);
    } finally {
      monitor.disconnect();
      await sys.stop();
    }
  });
});
