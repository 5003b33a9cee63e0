import { describe, expect, it } from 'vitest';
import { completeJobs, type CompleteJobsArgs, type CompleteJobsKeys } from '../../core/lua/contracts';
import { jsonToRecord } from '../../core/redis-port';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: CompleteJobsKeys = {
  active: keys.active('w1'), worker: keys.worker('w1'), running: keys.byStatus('running'), succeeded: keys.byStatus('succeeded'),
  events: keys.events(), queue: keys.queue('node'), queued: keys.byStatus('queued'), notify: keys.notify('node'), models: keys.workerModels('w1'),
};
const a = (results: string[], over: Partial<CompleteJobsArgs> = {}): CompleteJobsArgs => ({
  worker_id: 'w1', now: 3000, retention_ms: 60_000, maxlen: 100, count: 0, job_prefix: keys.jobPrefix, log_prefix: keys.logPrefix,
  affinity_wait_ms: '', holders_prefix: keys.modelHolders, worker_prefix: keys.workerPrefix, wnotify_prefix: keys.workerNotify(''), results, ...over,
});

describe('complete-jobs.lua', () => {
  it('records each held job (expiring it with its logs and progress), skips one no longer held, and claims the next jobs', async () => {
    for (const id of ['j1', 'j2', 'j3', 'j4']) await r.store.enqueue(newJob(id));
    await r.store.claim('node', 'w1', 2000, 2); // j1, j2
    await r.io.hset(keys.worker('w1'), 'status', 'busy', 'job_count', 0);
    await r.io.xadd(keys.logs('j1'), '*', 's', 'stdout', 't', 'hi');
    await r.io.xadd(keys.progressHistory('j2'), '*', 'n', '0');
    const [flags, ...next] = (await completeJobs(r.port, k, a(['j1', '{"a":1}', 'j3', '{"a":3}', 'j2', '{"a":2}'], { count: 2 }))) as unknown[];
    expect(flags).toEqual([1, 0, 1]);
    expect(next.map((row) => jsonToRecord(row).id)).toEqual(['j3', 'j4']);
    expect(await r.io.hgetall(keys.job('j1'))).toMatchObject({ status: 'succeeded', result: '{"a":1}', finished_at: '3000', progress: '1' });
    expect(await r.io.hget(keys.job('j2'), 'result')).toBe('{"a":2}');
    expect(await r.io.zrange(keys.byStatus('succeeded'), '0', '-1')).toEqual(['j1', 'j2']);
    expect(await r.io.zrange(keys.byStatus('running'), '0', '-1')).toEqual(['j3', 'j4']);
    expect(await r.io.zrange(keys.active('w1'), '0', '-1')).toEqual(['j3', 'j4']);
    expect(await r.io.hget(keys.worker('w1'), 'job_count')).toBe('2');
    for (const key of [keys.job('j1'), keys.logs('j1'), keys.job('j2'), keys.progressHistory('j2')]) expect(await r.io.pttl(key)).toBeGreaterThan(0);
    // j3 was not held when its result came: it was claimed after, as a next job, and is untouched
    expect(await r.io.hget(keys.job('j3'), 'result')).toBeNull();
  });

  it('settles the worker idle when nothing is left and no next job is asked for', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.store.claim('node', 'w1', 2000);
    await r.io.hset(keys.worker('w1'), 'status', 'busy');
    expect(await completeJobs(r.port, k, a(['j1', 'null']))).toEqual([[1]]);
    expect(await r.io.hgetall(keys.worker('w1'))).toMatchObject({ status: 'idle', last_activity: '3000' });
  });
});
