import { describe, expect, it } from 'vitest';
import { completeJob, type CompleteJobArgs, type CompleteJobKeys } from '../../core/lua/contracts';
import { jsonToRecord } from '../../core/redis-port';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = (id: string): CompleteJobKeys => ({
  job: keys.job(id), active: keys.active('w1'), worker: keys.worker('w1'), running: keys.byStatus('running'), succeeded: keys.byStatus('succeeded'),
  events: keys.events(), queue: keys.queue('node'), queued: keys.byStatus('queued'), notify: keys.notify('node'), logs: keys.logs(id),
  progress: keys.progressHistory(id),
});
const a = (id: string, over: Partial<CompleteJobArgs> = {}): CompleteJobArgs => ({
  job_id: id, worker_id: 'w1', now: 3000, result: '{"ok":true}', retention_ms: 60_000, maxlen: 100, count: 0, job_prefix: keys.jobPrefix, ...over,
});

describe('complete-job.lua', () => {
  it('records the result, expires the job with its logs and progress, and claims the next job', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.store.enqueue(newJob('j2'));
    await r.store.claim('node', 'w1', 2000);
    await r.io.xadd(keys.logs('j1'), '*', 's', 'stdout', 't', 'hi');
    await r.io.xadd(keys.progressHistory('j1'), '*', 'n', '0');
    const [ok, next] = (await completeJob(r.port, k('j1'), a('j1', { count: 1 }))) as unknown[];
    expect(ok).toBe(1);
    expect(jsonToRecord(next).id).toBe('j2');
    expect(await r.io.hgetall(keys.job('j1'))).toMatchObject({ status: 'succeeded', result: '{"ok":true}', finished_at: '3000' });
    expect(await r.io.zrange(keys.byStatus('succeeded'), '0', '-1')).toEqual(['j1']);
    expect(await r.io.zrange(keys.active('w1'), '0', '-1')).toEqual(['j2']);
    for (const key of [keys.job('j1'), keys.logs('j1'), keys.progressHistory('j1')]) expect(await r.io.pttl(key)).toBeGreaterThan(0);
  });

  it('answers {0} and writes nothing when the worker no longer holds the job', async () => {
    await r.store.enqueue(newJob('j1'));
    expect(await completeJob(r.port, k('j1'), a('j1'))).toEqual([0]);
    expect(await r.io.hget(keys.job('j1'), 'status')).toBe('queued');
  });
});
