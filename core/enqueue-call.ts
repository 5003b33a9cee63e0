/**
 * The KEYS and ARGV of enqueue-job.lua for a new job (core/job-store.ts enqueue). What is
 * the same for every job is built once: the store's keys, each type's keys (for the
 * first 256 types seen; any other type's are built per call), and the settings JSON (for
 * the last defaults seen). A job's own settings go only where they differ from the
 * script's defaults: a plain submit sends 19 arguments, not 28, and builds only its
 * job's own strings (each argument costs ioredis ~0.2 µs and ~150 bytes to encode).
 */
import { DEFAULTS } from './config';
import type { NewJob } from './job-store';
import type { Keys } from './keys';
import type { EnqueueJobArgs, EnqueueJobKeys } from './lua/contracts';
import type { JobKind } from './schemas/job';

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

  // the settings JSON for the last defaults seen (the API passes the same ones every time)
  let kept = { maxAttempts: Number.NaN, ttlMs: Number.NaN, maxQueued: Number.NaN, json: '' };
  const settings = (job: NewJob): string => {
    const maxAttempts = job.defaultMaxAttempts ?? DEFAULTS.KILN_MAX_ATTEMPTS;
    const ttlMs = job.defaultQueuedTtlMs ?? 0;
    const maxQueued = job.defaultMaxQueued ?? 0;
    if (kept.maxAttempts !== maxAttempts || kept.ttlMs !== ttlMs || kept.maxQueued !== maxQueued) {
      const json = JSON.stringify({ maxlen: maxLen, default_max_attempts: maxAttempts, default_ttl_ms: ttlMs, ...(maxQueued && { default_max_queued: maxQueued }) });
      kept = { maxAttempts, ttlMs, maxQueued, json };
    }
    return kept.json;
  };

  /** The job's own settings that are not the script's defaults, as name/value pairs (most submits: none). */
  const options = (job: NewJob): string[] => {
    const out: string[] = [];
    if (job.priority !== 0) out.push('priority', String(job.priority));
    if (job.maxAttempts !== undefined) out.push('max_attempts', String(job.maxAttempts));
    if (job.timeoutMs !== 0) out.push('timeout_ms', String(job.timeoutMs));
    if (job.typeCheck !== 'default') out.push('type_check', job.typeCheck);
    if (job.idempotency) out.push('idempotency_ttl_ms', String(job.idempotency.ttlMs), 'fingerprint', job.idempotency.fingerprint);
    if (job.backoff) out.push('backoff', job.backoff);
    if (job.queuedTtlMs !== undefined) out.push('ttl_ms', String(job.queuedTtlMs));
    const model = jobModel(job.kind, job.payload);
    if (model) out.push('model', model);
    return out;
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
      { job_id: job.id, worker_type: job.type, kind: job.kind, payload: JSON.stringify(job.payload ?? null), now: job.now, settings: settings(job), options: options(job) },
    ];
  };
}

/** The inference job's model (the training job id in its payload's model_path): '' for other jobs. */
export function jobModel(kind: JobKind, payload: unknown): string {
  const ref = kind === 'inference' && payload !== null && typeof payload === 'object' ? (payload as { model_path?: unknown }).model_path : undefined;
  return typeof ref === 'string' ? ref : '';
}
