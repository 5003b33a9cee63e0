import { describe, expect, it } from 'vitest';
import { cancelJob, type CancelJobKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = (id: string): CancelJobKeys => ({
  job: keys.job(id), queue: keys.queue('node'), queued: keys.byStatus('queued'), delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'),
  cancelled: keys.byStatus('cancelled'), events: keys.events(), logs: keys.logs(id), progress: keys.progressHistory(id),
});
const a = (id: string) => ({ job_id: id, now: 3000, retention_ms: 60_000, maxlen: 100, cancel_channel: keys.cancelChannel(), reason: 'by test' });

describe('cancel-job.lua', () => {
  it('cancels a queued job at once and expires it with its logs and progress', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.io.xadd(keys.progressHistory('j1'), '*', 'n', '0');
    expect(await cancelJob(r.port, k('j1'), a('j1'))).toEqual(['cancelled']);
    expect(await r.io.hget(keys.job('j1'), 'status')).toBe('cancelled');
    expect(await r.io.zcard(keys.queue('node'))).toBe(0);
    expect(await r.io.zrange(keys.byStatus('cancelled'), '0', '-1')).toEqual(['j1']);
    expect(await r.io.pttl(keys.progressHistory('j1'))).toBeGreaterThan(0);
  });

  it('asks the worker of a running job to stop over pub/sub', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.store.claim('node', 'w1', 2000);
    const sub = r.io.duplicate();
    const got = new Promise<string>((resolve) => sub.on('message', (_ch: string, msg: string) => resolve(msg)));
    await sub.subscribe(keys.cancelChannel('w1'));
    expect(await cancelJob(r.port, k('j1'), a('j1'))).toEqual(['cancelling', 'w1']);
    expect(await got).toBe('j1');
    expect(await r.io.hget(keys.job('j1'), 'cancel_requested')).toBe('3000');
    sub.disconnect();
  });

  it('reports a missing or finished job as an outcome', async () => {
    expect(await cancelJob(r.port, k('nope'), a('nope'))).toEqual(['missing']);
    await r.io.hset(keys.job('done'), 'status', 'succeeded');
    expect(await cancelJob(r.port, k('done'), a('done'))).toEqual(['finished', 'succeeded']);
  });
});
