import { describe, expect, it } from 'vitest';
import { requeueWorkerJobs, type RequeueWorkerJobsArgs, type RequeueWorkerJobsKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: RequeueWorkerJobsKeys = {
  active: keys.active('w1'),
  running: keys.byStatus('running'), failed: keys.byStatus('failed'), queued: keys.byStatus('queued'), queue: keys.queue('node'),
  notify: keys.notify('node'), delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'), events: keys.events(),
  cancelled: keys.byStatus('cancelled'), models: keys.workerModels('w1'), wnotify: keys.workerNotify('w1'),
};
const a = (over: Partial<RequeueWorkerJobsArgs> = {}): RequeueWorkerJobsArgs => ({
  worker_id: 'w1', now: 5000, error: '{"type":"worker_lost","message":"gone"}', retention_ms: 60_000, maxlen: 100,
  job_prefix: keys.jobPrefix, log_prefix: keys.logPrefix, holders_prefix: keys.modelHolders, ...over,
});

describe('requeue-worker-jobs.lua', () => {
  it("gives a gone worker's jobs back (or fails the last attempt) and leaves its record to the WorkerStore", async () => {
    await r.store.enqueue(newJob('again'));
    await r.store.enqueue(newJob('last', { maxAttempts: 1 }));
    await r.store.claim('node', 'w1', 2000, 2);
    await r.io.hset(keys.worker('w1'), 'status', 'busy');
    await r.io.sadd(keys.workers(), 'w1');
    await r.io.sadd(keys.workersOfType('node'), 'w1');
    await r.io.xadd(keys.logs('last'), '*', 's', 'stdout', 't', 'x');
    expect(await requeueWorkerJobs(r.port, k, a())).toEqual([1, 1]);
    expect(await r.io.hget(keys.job('again'), 'status')).toBe('queued');
    expect(await r.io.hget(keys.job('last'), 'status')).toBe('failed');
    expect(await r.io.pttl(keys.logs('last'))).toBeGreaterThan(0);
    expect(await r.io.exists(keys.active('w1'))).toBe(0);
    expect(await r.io.hget(keys.worker('w1'), 'status')).toBe('busy');
    expect(await r.io.sismember(keys.workers(), 'w1')).toBe(1);
  });
});
