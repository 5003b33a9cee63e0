import { describe, expect, it } from 'vitest';
import { claimJob, type ClaimJobArgs, type ClaimJobKeys } from '../../core/lua/contracts';
import { jsonToRecord } from '../../core/redis-port';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: ClaimJobKeys = {
  queue: keys.queue('node'), active: keys.active('w1'), worker: keys.worker('w1'), queued: keys.byStatus('queued'),
  running: keys.byStatus('running'), events: keys.events(), notify: keys.notify('node'), models: keys.workerModels('w1'),
};
const a = (over: Partial<ClaimJobArgs> = {}): ClaimJobArgs => ({
  worker_id: 'w1', now: 2000, job_prefix: keys.jobPrefix, maxlen: 100, count: 1, spawned_at: '', cold_start: '',
  affinity_wait_ms: '', holders_prefix: keys.modelHolders, worker_prefix: keys.workerPrefix, wnotify_prefix: keys.workerNotify(''), only_model: '', ...over,
});

describe('claim-job.lua', () => {
  it('moves the highest-priority job to the worker, marks the worker busy', async () => {
    await r.store.enqueue(newJob('low'));
    await r.store.enqueue(newJob('high', { priority: 5 }));
    await r.io.hset(keys.worker('w1'), 'status', 'idle');
    const rows = (await claimJob(r.port, k, a())) as unknown[];
    expect(rows.map((row) => jsonToRecord(row).id)).toEqual(['high']);
    expect(await r.io.hgetall(keys.job('high'))).toMatchObject({ status: 'running', worker_id: 'w1', attempts: '1', started_at: '2000' });
    expect(await r.io.zrange(keys.active('w1'), '0', '-1')).toEqual(['high']);
    expect(await r.io.zrange(keys.byStatus('running'), '0', '-1')).toEqual(['high']);
    expect(await r.io.hget(keys.worker('w1'), 'status')).toBe('busy');
  });

  it('records cold-start timings on a new worker first claims, and drops the wake-ups of an empty queue', async () => {
    await r.store.enqueue(newJob('j1', { now: 1000 }));
    await claimJob(r.port, k, a({ spawned_at: 1500, cold_start: '{"spawn_ms":5}', count: 5 }));
    expect(await r.io.hmget(keys.job('j1'), 'cold_start', 'cold_start_attempt')).toEqual(['{"spawn_ms":5}', '1']);
    expect(await r.io.exists(keys.notify('node'))).toBe(0);
    expect(await claimJob(r.port, k, a())).toEqual([]);
  });

  it("claims on Redis's clock when now is '' (a claim pipelined behind a blocking wait)", async () => {
    await r.store.enqueue(newJob('j1'));
    const [sec, usec] = (await r.io.time()).map(Number) as [number, number];
    await claimJob(r.port, k, a({ now: '' }));
    const startedAt = await r.io.hget(keys.job('j1'), 'started_at');
    expect(startedAt).toMatch(/^\d+$/);
    expect(Number(startedAt)).toBeGreaterThanOrEqual(sec * 1000 + Math.floor(usec / 1000));
    expect(Number(startedAt)).toBeLessThan(sec * 1000 + 60_000);
    expect(await r.io.zscore(keys.active('w1'), 'j1')).toBe(startedAt);
  });

  it('claims several in priority order, skipping a job cancelled while queued, in one call', async () => {
    for (const [id, priority] of [['a', 0], ['b', 3], ['c', 0], ['d', 0]] as const) await r.store.enqueue(newJob(id, { priority }));
    await r.store.cancel({ id: 'a', type: 'node' }, 'test', 1500);
    await r.io.zadd(keys.queue('node'), 0, 'a'); // a stale queue entry of the cancelled job
    const rows = (await claimJob(r.port, k, a({ count: 3 }))) as unknown[];
    expect(rows.map((row) => jsonToRecord(row).id)).toEqual(['b', 'c', 'd']);
    expect(rows.map((row) => jsonToRecord(row).attempts)).toEqual(['1', '1', '1']);
    expect(await r.io.hget(keys.job('a'), 'status')).toBe('cancelled');
    expect(await r.io.zcard(keys.queue('node'))).toBe(0);
  });

  it('claims only the queued jobs of one model, in queue order, when only_model is set (dynamic batching)', async () => {
    const infer = (id: string, model: string, priority = 0) =>
      r.store.enqueue(newJob(id, { kind: 'inference', payload: { model_path: model, inputs: [[1]] }, priority }));
    await infer('m1a', 'm1');
    await infer('m2a', 'm2', 5);
    await infer('m1b', 'm1');
    await r.store.enqueue(newJob('plain'));
    await infer('m1c', 'm1');
    await infer('m1d', 'm1');
    const rows = (await claimJob(r.port, k, a({ only_model: 'm1', count: 3 }))) as unknown[];
    expect(rows.map((row) => jsonToRecord(row).id)).toEqual(['m1a', 'm1b', 'm1c']);
    expect(rows.map((row) => jsonToRecord(row).attempts)).toEqual(['1', '1', '1']);
    expect(await r.io.zrange(keys.queue('node'), '0', '-1')).toEqual(['m2a', 'plain', 'm1d']);
    expect(await claimJob(r.port, k, a({ only_model: 'none', count: 3 }))).toEqual([]);
    expect(await r.io.zcard(keys.queue('node'))).toBe(3);
  });
});
