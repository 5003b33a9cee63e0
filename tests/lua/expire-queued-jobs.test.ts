import { describe, expect, it } from 'vitest';
import { expireQueuedJobs, type ExpireQueuedJobsKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: ExpireQueuedJobsKeys = { expiring: keys.expiring(), queued: keys.byStatus('queued'), expired: keys.byStatus('expired'), events: keys.events() };
const a = (now: number) => ({ now, job_prefix: keys.jobPrefix, queue_prefix: keys.queue(''), limit: 10, maxlen: 100, retention_ms: 60_000 });

describe('expire-queued-jobs.lua', () => {
  it('expires the queued jobs past their TTL, and lets a started one leave the index', async () => {
    await r.store.enqueue(newJob('old', { queuedTtlMs: 1000 }));
    await r.store.enqueue(newJob('started', { queuedTtlMs: 1000 }));
    await r.store.enqueue(newJob('young', { queuedTtlMs: 60_000 }));
    await r.store.claim('node', 'w1', 1500); // takes 'old' (FIFO)
    expect(await expireQueuedJobs(r.port, k, a(2500))).toEqual(['started', 'node']);
    expect(await r.io.hget(keys.job('started'), 'status')).toBe('expired');
    expect(JSON.parse((await r.io.hget(keys.job('started'), 'error'))!)).toMatchObject({ type: 'expired', retryable: false });
    expect(await r.io.zrange(keys.queue('node'), '0', '-1')).toEqual(['young']);
    expect(await r.io.hget(keys.job('old'), 'status')).toBe('running');
    expect(await r.io.zrange(keys.expiring(), '0', '-1')).toEqual(['young']);
    expect(await r.io.pttl(keys.job('started'))).toBeGreaterThan(0);
  });
});
