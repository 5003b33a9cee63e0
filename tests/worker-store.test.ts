/**
 * The WorkerStore against a real Redis: every legal status transition applies, the
 * illegal ones are refused and reported, the exit record expires, the sets follow
 * the record, and a failed write surfaces (thrown, naming the worker), never swallowed.
 */
import { jobRecordSettings } from '../core/config';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys, type Keys } from '../core/keys';
import type { LogFields, LogLevel } from '../core/logger';
import { allowedFrom, canTransition, NO_RECORD, SERVING_STATUSES, WORKER_STATUSES, WORKER_TRANSITIONS, type WorkerStatus } from '../core/worker-states';
import { createWorkerStore, type WorkerStore } from '../core/worker-store';
import { startRedis, type RedisServer } from './helpers/redis-server';

let server: RedisServer;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => server.stop());

function setup(opts: { attempts?: number } = {}) {
  const keys: Keys = createKeys(`ws${++n}`);
  const lines: { level: LogLevel; message: string; fields?: LogFields }[] = [];
  const store = createWorkerStore(createIoredisPort(redis), { keys, log: (level, message, fields) => lines.push({ level, message, fields }), retryDelayMs: 1, ...opts });
  return { keys, store, lines };
}

const W = { id: 'w1', type: 'node' };
const register = (store: WorkerStore, now = 1000) =>
  store.register({ ...W, pid: 42, maxJobs: 2, host: 'h1', workingDirectory: 'workers/w1', now, leaseMs: 60_000 });

/** Brings a fresh record to `status` along legal edges (starting is where every record begins). */
async function reach(store: WorkerStore, status: WorkerStatus): Promise<void> {
  await register(store);
  const path: Partial<Record<WorkerStatus, WorkerStatus[]>> = {
    starting: [], idle: ['idle'], draining: ['draining'], stopping: ['stopping'], errored: ['errored'], exited: ['exited'],
  };
  for (const step of path[status] ?? []) {
    const r = step === 'idle' ? await store.markReady(W, {}) : step === 'exited' ? await store.exited(W, {}) : await store[step as 'draining' | 'stopping' | 'errored'](W, {});
    expect(r.applied).toBe(true);
  }
}

const setStatus = (keys: Keys, s: WorkerStatus) => redis.hset(keys.worker(W.id), 'status', s);

describe('the transition table', () => {
  it('names every status once, and nothing leaves exited', () => {
    expect(Object.keys(WORKER_TRANSITIONS).sort()).toEqual([...WORKER_STATUSES, NO_RECORD].sort());
    expect(WORKER_TRANSITIONS.exited).toEqual([]);
    expect(allowedFrom('starting')).toContain(NO_RECORD);
    expect(allowedFrom('idle')).not.toContain('exited');
  });

  it('agrees with the fixed status sets of the job scripts that write busy/idle and of reserve-worker', () => {
    const lua = (f: string) => readFileSync(new URL(`../core/lua/${f}.lua`, import.meta.url), 'utf8');
    const sets = (src: string, re: RegExp) => [...src.matchAll(re)].map((m) => [...m[1]!.matchAll(/st == '(\w+)'/g)].map((x) => x[1]).sort());
    // _claim: a claim makes these busy
    const [claim] = sets(lua('_claim'), /if (st == .*?) then redis.call\('HSET', workerKey, 'status', 'busy'\)/g);
    for (const from of claim!) expect(canTransition(from as WorkerStatus, 'busy')).toBe(true);
    // _helpers worker_settle: back to idle from these
    const [settle] = sets(lua('_helpers'), /\((st == .*?)\) then\s+redis.call\('HSET', workerKey, 'status', 'idle'/g);
    for (const from of settle!) expect(canTransition(from as WorkerStatus, 'idle')).toBe(true);
    const [serving] = sets(lua('reserve-worker'), /if (st == .*?) then serving/g);
    expect(serving).toEqual([...SERVING_STATUSES].sort());
  });
});

describe('WorkerStore transitions', () => {
  const targets = ['starting', 'idle', 'draining', 'stopping', 'errored', 'exited'] as const;
  for (const from of WORKER_STATUSES) {
    for (const to of targets) {
      const legal = canTransition(from, to);
      it(`${from} → ${to} is ${legal ? 'applied' : 'refused and reported'}`, async () => {
        const { keys, store, lines } = setup();
        await register(store);
        if (from !== 'starting') await setStatus(keys, from);
        const call = () => {
          switch (to) {
            case 'starting': return register(store, 2000);
            case 'idle': return store.markReady(W, {});
            case 'exited': return store.exited(W, { exit_reason: 'crashed' });
            default: return store[to](W, {});
          }
        };
        const r = await call();
        // markReady moves only a starting worker to idle (busy/idle stay, quietly)
        const expectApplied = to === 'idle' ? from === 'starting' : legal;
        expect(r).toEqual({ applied: expectApplied, from });
        expect(await redis.hget(keys.worker(W.id), 'status')).toBe(expectApplied ? to : from);
        if (!expectApplied && to !== 'idle') {
          expect(lines.some((l) => l.level === 'warn' && l.fields?.worker_id === W.id && l.fields?.from === from && l.fields?.to === to)).toBe(true);
        }
      });
    }
  }

  it('registers with its sets and first lease, and completes a reservation', async () => {
    const { keys, store } = setup();
    const jobs = createJobStore(createIoredisPort(redis), { keys, ...jobRecordSettings({}) });
    await jobs.enqueue({ id: 'j1', type: 'node', kind: 'function', payload: {}, priority: 0, maxAttempts: 1, timeoutMs: 1000, now: 1, typeCheck: 'default' });
    expect(await store.reserve({ ...W, maxJobs: 1, host: 'h1', now: 1000, leaseMs: 60_000 })).toBe(true);
    expect(await store.reserve({ id: 'w2', type: 'node', maxJobs: 1, host: 'h1', now: 1000, leaseMs: 60_000 })).toBe(false); // one serves the one job
    expect(await register(store)).toEqual({ applied: true, from: 'starting' });
    const rec = await store.get(W.id);
    expect(rec).toMatchObject({ worker_id: 'w1', worker_type: 'node', status: 'starting', process_id: 42, max_jobs: 2, host: 'h1' });
    expect(await redis.smembers(keys.workers())).toEqual(['w1']);
    expect(await redis.smembers(keys.workersOfType('node'))).toEqual(['w1']);
    expect(Number(await redis.pttl(keys.lease(W.id)))).toBeGreaterThan(50_000);
  });

  it('busy and idle follow claims and completions (the job scripts of the store)', async () => {
    const { keys, store } = setup();
    const jobs = createJobStore(createIoredisPort(redis), { keys, ...jobRecordSettings({}) });
    await reach(store, 'idle');
    await jobs.enqueue({ id: 'j1', type: 'node', kind: 'function', payload: {}, priority: 0, maxAttempts: 1, timeoutMs: 1000, now: 1, typeCheck: 'default' });
    expect(await jobs.claim('node', W.id, 2000)).toHaveLength(1);
    expect((await store.get(W.id))?.status).toBe('busy');
    expect(await jobs.complete('j1', W.id, null, 3000)).toBe(true);
    expect((await store.get(W.id))?.status).toBe('idle');
  });

  it('the exit record expires, leaves the sets, and drops the lease', async () => {
    const { keys, store } = setup();
    await reach(store, 'draining');
    expect(await store.exited(W, { exit_reason: 'drained', exited_at: 5000 }, 60_000)).toEqual({ applied: true, from: 'draining' });
    const ttl = await redis.pttl(keys.worker(W.id));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.exists(keys.lease(W.id))).toBe(0);
    expect(await redis.smembers(keys.workers())).toEqual([]);
    expect(await redis.smembers(keys.workersOfType('node'))).toEqual([]);
    expect(await store.get(W.id)).toMatchObject({ status: 'exited', exit_reason: 'drained' });
  });

  it('a late heartbeat neither revives an exited worker nor recreates a forgotten one', async () => {
    const { keys, store, lines } = setup();
    await reach(store, 'idle');
    expect((await store.heartbeat(W, 7000, 10_000)).applied).toBe(true);
    expect(await redis.hget(keys.worker(W.id), 'last_heartbeat')).toBe('7000');
    await store.exited(W, {});
    expect(await store.heartbeat(W, 8000, 10_000)).toEqual({ applied: false, from: 'exited' });
    expect(await redis.hget(keys.worker(W.id), 'last_heartbeat')).toBe('7000');
    expect(await redis.exists(keys.lease(W.id))).toBe(0);
    expect(await redis.smembers(keys.workers())).toEqual([]);
    expect(lines.some((l) => l.fields?.worker_id === W.id && l.fields?.from === 'exited')).toBe(true);
    expect(await store.forget(W)).toBe(true);
    expect(await store.heartbeat(W, 9000, 10_000)).toEqual({ applied: false, from: 'none' });
    expect(await redis.exists(keys.worker(W.id), keys.lease(W.id))).toBe(0);
  });

  it('forget drops record, lease and set entries; a sample of a forgotten worker writes nothing', async () => {
    const { keys, store } = setup();
    await reach(store, 'idle');
    expect((await store.sample(W, { rss_bytes: 1234 })).applied).toBe(true);
    expect((await store.get(W.id))?.rss_bytes).toBe(1234);
    expect(await store.forget(W)).toBe(true);
    expect(await redis.exists(keys.worker(W.id), keys.lease(W.id))).toBe(0);
    expect(await redis.smembers(keys.workers())).toEqual([]);
    expect(await redis.smembers(keys.workersOfType('node'))).toEqual([]);
    expect((await store.sample(W, { rss_bytes: 99 })).applied).toBe(false);
    expect(await redis.exists(keys.worker(W.id))).toBe(0);
  });
});

describe('a failed state write surfaces', () => {
  it('is retried, then thrown naming the worker (Redis refuses writes)', async () => {
    const { keys, store } = setup({ attempts: 3 });
    await reach(store, 'idle');
    await server.outOfMemory(true);
    try {
      const err = await store.draining(W, {}).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'WORKER_WRITE_FAILED' });
      expect(String((err as Error).message)).toMatch(/mark draining of worker w1 .* after 3 tries: OOM/);
    } finally {
      await server.outOfMemory(false);
    }
    expect(await redis.hget(keys.worker(W.id), 'status')).toBe('idle');
    // and once Redis takes writes again, the same call applies
    expect((await store.draining(W, {})).applied).toBe(true);
  });

  it('a write that fails once is retried and lands', async () => {
    const { keys, store } = setup({ attempts: 3 });
    await reach(store, 'idle');
    const port = createIoredisPort(redis);
    let calls = 0;
    const flaky = { ...port, runScript: (...a: Parameters<typeof port.runScript>) => (++calls === 1 ? Promise.reject(new Error('ECONNRESET')) : port.runScript(...a)) };
    const once = createWorkerStore(flaky, { keys, retryDelayMs: 1 });
    expect((await once.stopping(W, {})).applied).toBe(true);
    expect(calls).toBe(2);
    expect(await redis.hget(keys.worker(W.id), 'status')).toBe('stopping');
  });
});
