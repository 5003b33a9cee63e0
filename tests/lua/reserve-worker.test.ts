import { describe, expect, it } from 'vitest';
import { reserveWorker, type ReserveWorkerKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = (id: string): ReserveWorkerKeys => ({
  queue: keys.queue('node'), workers_of_type: keys.workersOfType('node'), workers: keys.workers(), worker: keys.worker(id), lease: keys.lease(id),
});
const a = (id: string, minServing = 0) => ({ min_serving: minServing, worker_id: id, worker_type: 'node', max_jobs: 2, host: 'h1', now: 1000, lease_ms: 30_000, worker_prefix: keys.worker(''), active_prefix: keys.active('') });

describe('reserve-worker.lua', () => {
  it('registers a worker only while the queue needs one more (max_jobs per worker)', async () => {
    for (const id of ['j1', 'j2', 'j3']) await r.store.enqueue(newJob(id));
    expect(await reserveWorker(r.port, k('w1'), a('w1'))).toBe(1);
    expect(await r.io.hgetall(keys.worker('w1'))).toMatchObject({ status: 'starting', worker_type: 'node', host: 'h1' });
    expect(await r.io.pttl(keys.lease('w1'))).toBeGreaterThan(0);
    expect(await reserveWorker(r.port, k('w2'), a('w2'))).toBe(1);
    expect(await reserveWorker(r.port, k('w3'), a('w3'))).toBe(0);
    expect(await r.io.exists(keys.worker('w3'))).toBe(0);
    expect((await r.io.smembers(keys.workers())).sort()).toEqual(['w1', 'w2']);
  });

  it('min_serving (ensure) registers one with nothing queued, but not a second', async () => {
    expect(await reserveWorker(r.port, k('w1'), a('w1'))).toBe(0);
    expect(await reserveWorker(r.port, k('w1'), a('w1', 1))).toBe(1);
    expect(await reserveWorker(r.port, k('w2'), a('w2', 1))).toBe(0);
  });
});
