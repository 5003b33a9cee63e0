import { describe, expect, it } from 'vitest';
import { promoteDelayed, type PromoteDelayedKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: PromoteDelayedKeys = { delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'), queued: keys.byStatus('queued'), events: keys.events() };
const a = (now: number) => ({ now, job_prefix: keys.jobPrefix, queue_prefix: keys.queue(''), notify_prefix: keys.notify(''), limit: 10, maxlen: 100 });

describe('promote-delayed.lua', () => {
  it('moves only the due jobs back to their queues, queued from their run_at', async () => {
    for (const [id, backoff] of [['soon', 100], ['later', 10_000]] as const) {
      await r.store.enqueue(newJob(id));
      await r.store.claim('node', 'w1', 2000);
      await r.store.fail(id, 'node', 'w1', { type: 'handler_error', message: 'x' }, { retryable: true, backoffMs: backoff, now: 2000 });
    }
    await r.io.del(keys.notify('node'));
    expect(await promoteDelayed(r.port, k, a(2500))).toBe(1);
    expect(await r.io.hgetall(keys.job('soon'))).toMatchObject({ status: 'queued', queued_at: '2100' });
    expect(await r.io.zrange(keys.queue('node'), '0', '-1')).toEqual(['soon']);
    expect(await r.io.llen(keys.notify('node'))).toBe(1);
    expect(await r.io.zrange(keys.delayed(), '0', '-1')).toEqual(['later']);
    expect(await promoteDelayed(r.port, k, a(2500))).toBe(0);
  });
});
