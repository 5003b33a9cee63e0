/** The enqueue's KEYS and ARGV (core/enqueue-call.ts): what is built once is what a call would build. */
import { describe, expect, it } from 'vitest';
import { createEnqueueCall } from '../core/enqueue-call';
import type { NewJob } from '../core/job-store';
import { createKeys } from '../core/keys';

const keys = createKeys('enqueue-call');
const job = (over: Partial<NewJob> = {}): NewJob => ({
  id: 'j1', type: 'node', kind: 'function', payload: { function: 'echo' }, priority: 0, maxAttempts: undefined, timeoutMs: 0, now: 1000, typeCheck: 'default', ...over,
});

describe('createEnqueueCall', () => {
  it('names the keys of keys.ts for every type, the first 256 kept and any beyond', () => {
    const call = createEnqueueCall(keys, 100);
    for (let i = 0; i < 300; i++) {
      for (let round = 0; round < 2; round++) {
        const [k] = call(job({ id: `j${i}`, type: `t${i}` }));
        expect(k).toEqual({
          job: keys.job(`j${i}`), queue: keys.queue(`t${i}`), notify: keys.notify(`t${i}`), all: keys.all(), queued: keys.byStatus('queued'), seq: keys.seq(),
          types: keys.types(), events: keys.events(), idempotency: keys.idempotency('-'), workers_of_type: keys.workersOfType(`t${i}`), expiring: keys.expiring(),
        });
      }
    }
    const [k] = call(job({ idempotency: { key: 'k1', fingerprint: 'f', ttlMs: 5 } }));
    expect(k.idempotency).toBe(keys.idempotency('k1'));
  });

  it('writes the quotas of each call, kept or not', () => {
    const call = createEnqueueCall(keys, 100);
    const quotas = (over: Partial<NewJob>) => JSON.parse(String(call(job(over))[1].quotas)) as unknown;
    expect(quotas({})).toEqual({ default_ttl_ms: 0 });
    expect(quotas({ defaultQueuedTtlMs: 5000, defaultMaxQueued: 7 })).toEqual({ default_ttl_ms: 5000, default_max_queued: 7 });
    expect(quotas({ defaultQueuedTtlMs: 5000, defaultMaxQueued: 7 })).toEqual({ default_ttl_ms: 5000, default_max_queued: 7 });
    expect(quotas({ defaultQueuedTtlMs: 5000, defaultMaxQueued: 7, queuedTtlMs: 10 })).toEqual({ ttl_ms: 10, default_ttl_ms: 5000, default_max_queued: 7 });
    expect(quotas({ defaultQueuedTtlMs: 5000 })).toEqual({ default_ttl_ms: 5000 });
    expect(quotas({ queuedTtlMs: 0 })).toEqual({ ttl_ms: 0, default_ttl_ms: 0 });
    expect(call(job())[1]).toMatchObject({ job_id: 'j1', payload: '{"function":"echo"}', maxlen: 100, max_attempts: '', default_max_attempts: 3, backoff: '' });
  });
});
