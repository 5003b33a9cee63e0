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

  it('writes the settings of each call, kept or not, and only the job\'s own options', () => {
    const call = createEnqueueCall(keys, 100);
    const settings = (over: Partial<NewJob>) => JSON.parse(String(call(job(over))[1].settings)) as unknown;
    expect(settings({})).toEqual({ maxlen: 100, default_max_attempts: 3, default_ttl_ms: 0 });
    const quotas = { defaultQueuedTtlMs: 5000, defaultMaxQueued: 7, defaultMaxAttempts: 4 };
    expect(settings(quotas)).toEqual({ maxlen: 100, default_max_attempts: 4, default_ttl_ms: 5000, default_max_queued: 7 });
    expect(settings(quotas)).toEqual({ maxlen: 100, default_max_attempts: 4, default_ttl_ms: 5000, default_max_queued: 7 });
    expect(settings({ defaultQueuedTtlMs: 5000 })).toEqual({ maxlen: 100, default_max_attempts: 3, default_ttl_ms: 5000 });
    expect(call(job())[1]).toEqual({ job_id: 'j1', worker_type: 'node', kind: 'function', payload: '{"function":"echo"}', now: 1000, settings: expect.any(String), options: [] });
    const own = job({ priority: -2, maxAttempts: 5, timeoutMs: 1500, typeCheck: 'custom', idempotency: { key: 'k', fingerprint: 'f', ttlMs: 9 }, backoff: '{"delay_ms":1}', queuedTtlMs: 0 });
    expect(call(own)[1].options).toEqual([
      'priority', '-2', 'max_attempts', '5', 'timeout_ms', '1500', 'type_check', 'custom', 'idempotency_ttl_ms', '9', 'fingerprint', 'f', 'backoff', '{"delay_ms":1}', 'ttl_ms', '0',
    ]);
  });
});
