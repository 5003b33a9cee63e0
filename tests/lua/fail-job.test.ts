import { describe, expect, it } from 'vitest';
import { failJob, type FailJobArgs, type FailJobKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = (id: string): FailJobKeys => ({
  job: keys.job(id), active: keys.active('w1'), worker: keys.worker('w1'), running: keys.byStatus('running'), failed: keys.byStatus('failed'),
  queued: keys.byStatus('queued'), queue: keys.queue('node'), notify: keys.notify('node'), delayed: keys.delayed(),
  delayed_idx: keys.byStatus('delayed'), events: keys.events(), cancelled: keys.byStatus('cancelled'), logs: keys.logs(id),
  progress: keys.progressHistory(id),
});
const a = (id: string, over: Partial<FailJobArgs> = {}): FailJobArgs => ({
  job_id: id, worker_id: 'w1', now: 3000, error: '{"type":"error","message":"boom"}', retryable: '1', backoff_ms: 0,
  retention_ms: 60_000, maxlen: 100, ...over,
});
const running = async (id: string, maxAttempts = 3) => {
  await r.store.enqueue(newJob(id, { maxAttempts }));
  await r.store.claim('node', 'w1', 2000);
};

describe('fail-job.lua', () => {
  it('requeues a retryable attempt, or delays it by its backoff', async () => {
    await running('j1');
    expect(await failJob(r.port, k('j1'), a('j1'))).toBe('queued');
    expect(await r.io.zrange(keys.queue('node'), '0', '-1')).toEqual(['j1']);
    await r.store.claim('node', 'w1', 4000);
    expect(await failJob(r.port, k('j1'), a('j1', { backoff_ms: 500 }))).toBe('delayed');
    expect(await r.io.zscore(keys.delayed(), 'j1')).toBe('3500');
    expect(JSON.parse((await r.io.hget(keys.job('j1'), 'errors'))!)).toHaveLength(2);
  });

  it('fails for good past max_attempts and expires the job, its logs and its progress', async () => {
    await running('j1', 1);
    await r.io.xadd(keys.logs('j1'), '*', 's', 'stderr', 't', 'x');
    await r.io.xadd(keys.progressHistory('j1'), '*', 'n', '0');
    expect(await failJob(r.port, k('j1'), a('j1'))).toBe('failed');
    expect(await r.io.zrange(keys.byStatus('failed'), '0', '-1')).toEqual(['j1']);
    for (const key of [keys.job('j1'), keys.logs('j1'), keys.progressHistory('j1')]) expect(await r.io.pttl(key)).toBeGreaterThan(0);
  });

  it("answers '' (not held) without touching the job", async () => {
    await r.store.enqueue(newJob('j1'));
    expect(await failJob(r.port, k('j1'), a('j1'))).toBe('');
    expect(await r.io.hget(keys.job('j1'), 'errors')).toBeNull();
  });
});
