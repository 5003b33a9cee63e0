/**
 * The KEYS and ARGV of enqueue-job.lua for a new job (core/job-store.ts enqueue). What is
 * the same for every job is built once: the store's keys, each type's keys (for the
 * first 256 types seen; any other type's are built per call), and the quotas JSON of a
 * job without its own queued TTL (for the last defaults seen). A submit thus builds only
 * its job's own strings.
 */
import { DEFAULTS } from './config';
import type { NewJob } from './job-store';
import type { Keys } from './keys';
import type { EnqueueJobArgs, EnqueueJobKeys } from './lua/contracts';

const KEPT_TYPES = 256;

export function createEnqueueCall(keys: Keys, maxLen: number): (job: NewJob) => [EnqueueJobKeys, EnqueueJobArgs] {
  const fixed = {
    all: keys.all(), queued: keys.byStatus('queued'), seq: keys.seq(), types: keys.types(), events: keys.events(),
    expiring: keys.expiring(), noIdempotency: keys.idempotency('-'),
  };
  const typeKeys = (type: string) => ({ queue: keys.queue(type), notify: keys.notify(type), workersOfType: keys.workersOfType(type) });
  const keptTypes = new Map<string, ReturnType<typeof typeKeys>>();
  const keysOfType = (type: string) => {
    let kept = keptTypes.get(type);
    if (kept === undefined) {
      kept = typeKeys(type);
      if (keptTypes.size < KEPT_TYPES) keptTypes.set(type, kept);
    }
    return kept;
  };

  const quotasJson = (job: NewJob, defaultTtlMs: number, defaultMaxQueued: number): string => JSON.stringify({
    ...(job.queuedTtlMs !== undefined && { ttl_ms: job.queuedTtlMs }),
    default_ttl_ms: defaultTtlMs,
    ...(defaultMaxQueued && { default_max_queued: defaultMaxQueued }),
  });
  let keptQuotas = { ttlMs: Number.NaN, maxQueued: Number.NaN, json: '' };
  const quotas = (job: NewJob): string => {
    const ttlMs = job.defaultQueuedTtlMs ?? 0;
    const maxQueued = job.defaultMaxQueued ?? 0;
    if (job.queuedTtlMs !== undefined) return quotasJson(job, ttlMs, maxQueued);
    if (keptQuotas.ttlMs !== ttlMs || keptQuotas.maxQueued !== maxQueued) keptQuotas = { ttlMs, maxQueued, json: quotasJson(job, ttlMs, maxQueued) };
    return keptQuotas.json;
  };

  return (job) => {
    const idem = job.idempotency;
    const ofType = keysOfType(job.type);
    return [
      {
        job: keys.job(job.id), queue: ofType.queue, notify: ofType.notify, all: fixed.all, queued: fixed.queued, seq: fixed.seq, types: fixed.types,
        events: fixed.events, idempotency: idem ? keys.idempotency(idem.key) : fixed.noIdempotency, workers_of_type: ofType.workersOfType,
        expiring: fixed.expiring,
      },
      {
        job_id: job.id, worker_type: job.type, kind: job.kind, payload: JSON.stringify(job.payload ?? null), priority: job.priority,
        max_attempts: job.maxAttempts ?? '', timeout_ms: job.timeoutMs, now: job.now, maxlen: maxLen, type_check: job.typeCheck,
        idempotency_ttl_ms: idem ? idem.ttlMs : '', fingerprint: idem ? idem.fingerprint : '', backoff: job.backoff ?? '',
        default_max_attempts: job.defaultMaxAttempts ?? DEFAULTS.KILN_MAX_ATTEMPTS,
        quotas: quotas(job),
      },
    ];
  };
}
