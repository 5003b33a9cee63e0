/**
 * Typed functions over the job Lua scripts. Every state change of a job is one
 * script run, so it is atomic on any Redis, local or managed.
 */
import { DEFAULTS, type JobRecordSettings } from './config';
import { KilnError } from './errors';
import type { JobStatus, Keys } from './keys';
import * as lua from './lua/scripts';
import { flatToRecord, type RedisPort } from './redis-port';
import { type ColdStart, type JobError, type JobKind, type JobRecord, jobRecordSchema } from './schemas/job';
import { type JobSummaryRecord, jobSummaryRecordSchema } from './schemas/job-summary';
import { type HistoryEntry, historyEntrySchema, PROGRESS_HISTORY_CAP, type ProgressPoint } from './schemas/progress';

/** Retentions and the events cap come from the config (core/config.ts jobRecordSettings): no defaults here. */
export interface JobStoreOptions extends JobRecordSettings {
  keys: Keys;
  /** Points a job's progress history keeps before it is thinned (default PROGRESS_HISTORY_CAP). */
  progressHistoryCap?: number;
}

export interface NewJob {
  id: string;
  type: string;
  kind: JobKind;
  payload: unknown;
  priority: number;
  /** undefined: the type's max_attempts (from the registry), else defaultMaxAttempts. */
  maxAttempts: number | undefined;
  defaultMaxAttempts?: number;
  timeoutMs: number;
  now: number;
  /** 'default': a built-in type name, accepted unless the spawners' registry lacks it; 'custom': must be registered. */
  typeCheck: 'default' | 'custom';
  idempotency?: { key: string; fingerprint: string; ttlMs: number };
  backoff?: string;
  /** The job's own queued TTL (ms); undefined: its type's queued_ttl_s, else defaultQueuedTtlMs. */
  queuedTtlMs?: number;
  /** Queued TTL when neither the job nor its type sets one (0 or undefined: none). */
  defaultQueuedTtlMs?: number;
  /** Queue cap when the type's registry entry sets no max_queued (0 or undefined: none). */
  defaultMaxQueued?: number;
}

/** Seconds a client is told to wait (Retry-After) when a queue is full. */
export const QUEUE_FULL_RETRY_AFTER_S = 5;

/** `workers`: how many live workers of the type are registered (0: ask a spawner for one). */
export type EnqueueResult = { created: true; id: string; seq: number; workers: number } | { created: false; id: string };

export interface JobPage {
  /** Summaries: the fields a listing shows (core/schemas/job-summary.ts), never a payload or result. */
  jobs: JobSummaryRecord[];
  nextCursor: string | null;
}

export function parseJob(hash: Record<string, string>): JobRecord | null {
  if (!hash.id) return null;
  const parsed = jobRecordSchema.safeParse(hash);
  if (!parsed.success) {
    throw new KilnError('CORRUPT_JOB', `job ${hash.id} in the job store does not match the schema; the server log has the details`, { cause: parsed.error });
  }
  return parsed.data;
}

function parseSummary(hash: Record<string, string>): JobSummaryRecord | null {
  if (!hash.id) return null;
  const parsed = jobSummaryRecordSchema.safeParse(hash);
  if (!parsed.success) {
    throw new KilnError('CORRUPT_JOB', `job ${hash.id} in Redis does not match the schema: ${parsed.error.message}`);
  }
  return parsed.data;
}

function parseJobs(rows: unknown[]): JobRecord[] {
  return rows.map((r) => parseJob(flatToRecord(r))).filter((j): j is JobRecord => j !== null);
}

export type JobStore = ReturnType<typeof createJobStore>;

export function createJobStore(redis: RedisPort, opts: JobStoreOptions) {
  const { keys } = opts;
  const maxLen = opts.eventsMaxLen;
  const okRetention = opts.succeededRetentionMs;
  const failRetention = opts.failedRetentionMs;
  const historyCap = Math.max(2, opts.progressHistoryCap ?? PROGRESS_HISTORY_CAP);

  /**
   * Records a result and, in the same call, claims up to `next` jobs of `type` for
   * the freed slot(s): one round trip per job on a busy queue, as BullMQ does.
   */
  async function completeAndClaim(jobId: string, type: string, workerId: string, result: unknown, now: number, next: number): Promise<{ recorded: boolean; next: JobRecord[] }> {
    const [ok, ...rows] = (await redis.runScript(
      lua.completeJob,
      [
        keys.job(jobId), keys.active(workerId), keys.worker(workerId), keys.byStatus('running'), keys.byStatus('succeeded'), keys.events(),
        keys.queue(type), keys.byStatus('queued'), keys.notify(type), keys.logs(jobId),
      ],
      [jobId, workerId, now, JSON.stringify(result ?? null), okRetention, maxLen, next, keys.jobPrefix],
    )) as unknown[];
    return { recorded: Number(ok) === 1, next: parseJobs(rows) };
  }

  return {
    keys,

    async enqueue(job: NewJob): Promise<EnqueueResult> {
      const idem = job.idempotency;
      const reply = (await redis.runScript(
        lua.enqueueJob,
        [
          keys.job(job.id), keys.queue(job.type), keys.notify(job.type), keys.all(), keys.byStatus('queued'),
          keys.seq(), keys.types(), keys.events(), idem ? keys.idempotency(idem.key) : keys.idempotency('-'),
          keys.workersOfType(job.type), keys.expiring(),
        ],
        [
          job.id, job.type, job.kind, JSON.stringify(job.payload ?? null), job.priority, job.maxAttempts ?? '',
          job.timeoutMs, job.now, maxLen, job.typeCheck, idem ? idem.ttlMs : '',
          idem ? idem.fingerprint : '', job.backoff ?? '', job.defaultMaxAttempts ?? DEFAULTS.KILN_MAX_ATTEMPTS,
          JSON.stringify({
            ...(job.queuedTtlMs !== undefined && { ttl_ms: job.queuedTtlMs }),
            default_ttl_ms: job.defaultQueuedTtlMs ?? 0,
            ...(job.defaultMaxQueued && { default_max_queued: job.defaultMaxQueued }),
          }),
        ],
      )) as [number, number | string, (string | number)?, number?];
      const [code, value, id, workers] = reply;
      if (Number(code) === 1) return { created: true, id: String(id), seq: Number(value), workers: Number(workers ?? 0) };
      if (Number(code) === 2) return { created: false, id: String(id) };
      throw scriptError(String(value), job, id);
    },

    async get(id: string): Promise<JobRecord | null> {
      return parseJob(await redis.hgetall(keys.job(id)));
    },

    async list(q: { status?: JobStatus; type?: string; limit: number; cursor?: string }): Promise<JobPage> {
      const index = q.status ? keys.byStatus(q.status) : keys.all();
      const reply = (await redis.runScript(lua.listJobs, [index], [
        q.cursor ?? '+inf', q.limit, q.type ?? '', keys.jobPrefix,
      ])) as unknown[];
      const [cursor, ...rows] = reply;
      const jobs = rows.map((r) => parseSummary(flatToRecord(r))).filter((j): j is JobSummaryRecord => j !== null);
      return { jobs, nextCursor: cursor ? String(cursor) : null };
    },

    /**
     * Claims up to `count` queued jobs of a type for a worker, in priority order. `coldStart`
     * (a new worker's first claims): the claimed jobs queued before `spawnedAt` get `timings`.
     */
    async claim(type: string, workerId: string, now: number, count = 1, coldStart?: { spawnedAt: number; timings: ColdStart }): Promise<JobRecord[]> {
      const rows = (await redis.runScript(
        lua.claimJob,
        [keys.queue(type), keys.active(workerId), keys.worker(workerId), keys.byStatus('queued'), keys.byStatus('running'), keys.events(), keys.notify(type)],
        [workerId, now, keys.jobPrefix, maxLen, count, coldStart ? coldStart.spawnedAt : '', coldStart ? JSON.stringify(coldStart.timings) : ''],
      )) as unknown[];
      return parseJobs(rows);
    },

    /** Queued, running and delayed jobs of every registered type (one read-only script call). */
    async typeCounts(delayedScanLimit = 10_000): Promise<Record<string, { queued: number; running: number; delayed: number }>> {
      const flat = (await redis.runScript(lua.typeCounts, [keys.types(), keys.delayed()], [
        keys.queue(''), keys.workersOfType(''), keys.active(''), keys.jobPrefix, delayedScanLimit,
      ])) as unknown[];
      const out: Record<string, { queued: number; running: number; delayed: number }> = {};
      for (let i = 0; i + 3 < flat.length; i += 4) {
        out[String(flat[i])] = { queued: Number(flat[i + 1]), running: Number(flat[i + 2]), delayed: Number(flat[i + 3]) };
      }
      return out;
    },

    async complete(jobId: string, workerId: string, result: unknown, now: number): Promise<boolean> {
      return (await completeAndClaim(jobId, '', workerId, result, now, 0)).recorded;
    },

    completeAndClaim,

    async fail(
      jobId: string,
      type: string,
      workerId: string,
      error: JobError,
      opts: { retryable: boolean; backoffMs: number; now: number },
    ): Promise<'failed' | 'queued' | 'delayed' | 'cancelled' | ''> {
      const r = await redis.runScript(
        lua.failJob,
        [
          keys.job(jobId), keys.active(workerId), keys.worker(workerId), keys.byStatus('running'), keys.byStatus('failed'),
          keys.byStatus('queued'), keys.queue(type), keys.notify(type), keys.delayed(), keys.byStatus('delayed'), keys.events(),
          keys.byStatus('cancelled'), keys.logs(jobId),
        ],
        [jobId, workerId, opts.now, JSON.stringify(error), opts.retryable ? '1' : '0', opts.backoffMs, failRetention, maxLen],
      );
      return (r ?? '') as 'failed' | 'queued' | 'delayed' | 'cancelled' | '';
    },

    /** Records progress points (oldest first; the last is the job's current progress) while the worker holds the job. */
    async progress(jobId: string, workerId: string, points: readonly ProgressPoint[], now: number): Promise<boolean> {
      const args: (string | number)[] = [jobId, now, maxLen, historyCap];
      for (const p of points) args.push(p.ts, p.progress, p.message, p.metrics ? JSON.stringify(p.metrics) : '');
      const r = await redis.runScript(lua.reportProgress, [keys.job(jobId), keys.active(workerId), keys.events(), keys.progressHistory(jobId)], args);
      return Number(r) === 1;
    },

    /** A job's progress history, oldest first ([] when it has none or it expired). */
    async progressHistory(jobId: string): Promise<HistoryEntry[]> {
      const entries = await redis.xrangeAfter(keys.progressHistory(jobId), '0-0', 2 * historyCap + 1); // room for a writer with a larger cap
      return entries.map((e) => {
        const parsed = historyEntrySchema.safeParse(e.fields);
        if (!parsed.success) throw new KilnError('CORRUPT_JOB', `progress history of job ${jobId} does not match the schema; the server log has the details`, { cause: parsed.error });
        return parsed.data;
      });
    },

    /** Cancel: at once when waiting; a running job's worker is told over pub/sub. */
    async cancel(job: { id: string; type: string }, reason: string, now: number): Promise<{ outcome: 'cancelled' | 'cancelling' | 'finished' | 'missing'; detail?: string }> {
      const r = (await redis.runScript(
        lua.cancelJob,
        [keys.job(job.id), keys.queue(job.type), keys.byStatus('queued'), keys.delayed(), keys.byStatus('delayed'), keys.byStatus('cancelled'), keys.events(), keys.logs(job.id)],
        [job.id, now, failRetention, maxLen, keys.cancelChannel(), reason],
      )) as string[];
      return { outcome: r[0] as 'cancelled', ...(r[1] !== undefined && { detail: String(r[1]) }) };
    },

    /**
     * Ends the queued jobs whose queued TTL passed before they ever started (`expired`);
     * reads only due entries of the expiry index, at most `limit` per call.
     */
    async expireQueued(now: number, limit = 500): Promise<{ id: string; type: string }[]> {
      const flat = (await redis.runScript(
        lua.expireQueuedJobs,
        [keys.expiring(), keys.byStatus('queued'), keys.byStatus('expired'), keys.events()],
        [now, keys.jobPrefix, keys.queue(''), limit, maxLen, failRetention],
      )) as unknown[];
      const out: { id: string; type: string }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), type: String(flat[i + 1]) });
      return out;
    },

    /** Moves jobs whose retry backoff is over back to their queues. */
    async promoteDelayed(now: number, limit = 500): Promise<number> {
      const r = await redis.runScript(
        lua.promoteDelayed,
        [keys.delayed(), keys.byStatus('delayed'), keys.byStatus('queued'), keys.events()],
        [now, keys.jobPrefix, keys.queue(''), keys.notify(''), limit, maxLen],
      );
      return Number(r);
    },

    /** Registers a new worker of a type if the queue needs one more, counting every host's workers. */
    async reserveWorker(w: { id: string; type: string; maxJobs: number; host: string; now: number; leaseMs: number }): Promise<boolean> {
      const r = await redis.runScript(
        lua.reserveWorker,
        [keys.queue(w.type), keys.workersOfType(w.type), keys.workers(), keys.worker(w.id), keys.lease(w.id)],
        [w.id, w.type, w.maxJobs, w.host, w.now, w.leaseMs, keys.worker(''), keys.active('')],
      );
      return Number(r) === 1;
    },

    /** A worker is gone: its jobs go back to the queue (or fail past max_attempts). */
    async requeueWorker(
      workerId: string,
      type: string,
      error: JobError,
      opts: { now: number; forget: boolean },
    ): Promise<{ requeued: number; failed: number }> {
      const r = (await redis.runScript(
        lua.requeueWorkerJobs,
        [
          keys.active(workerId), keys.worker(workerId), keys.workers(), keys.workersOfType(type), keys.byStatus('running'),
          keys.byStatus('failed'), keys.byStatus('queued'), keys.queue(type), keys.notify(type), keys.delayed(),
          keys.byStatus('delayed'), keys.events(), keys.byStatus('cancelled'),
        ],
        [workerId, opts.now, JSON.stringify(error), failRetention, maxLen, keys.jobPrefix, opts.forget ? '1' : '0', keys.logPrefix],
      )) as [number, number];
      return { requeued: Number(r[0]), failed: Number(r[1]) };
    },
  };
}

function scriptError(code: string, job: NewJob, limit: unknown): KilnError {
  switch (code) {
    case 'QUEUE_FULL':
      return new KilnError(
        'QUEUE_FULL',
        `the queue of worker type "${job.type}" is full: it holds its max_queued of ${String(limit)} waiting jobs; nothing was queued — retry after ${QUEUE_FULL_RETRY_AFTER_S} s (Retry-After), once workers have taken some`,
        { status: 429, headers: { 'retry-after': String(QUEUE_FULL_RETRY_AFTER_S) } },
      );
    case 'TIMEOUT_ABOVE_CEILING':
      return new KilnError('TIMEOUT_ABOVE_CEILING', `timeout_s ${job.timeoutMs / 1000} is above the ceiling of worker type "${job.type}" (max_timeout_s ${String(limit)}); ask for at most ${String(limit)} s`, { status: 400, field: 'timeout_s' });
    case 'ATTEMPTS_ABOVE_CEILING':
      return new KilnError('ATTEMPTS_ABOVE_CEILING', `max_attempts ${String(job.maxAttempts)} is above the ceiling of worker type "${job.type}" (max_attempts_limit ${String(limit)}); ask for at most ${String(limit)}`, { status: 400, field: 'max_attempts' });
    case 'UNKNOWN_WORKER_TYPE':
      return new KilnError('UNKNOWN_WORKER_TYPE', `worker type "${job.type}" is not configured on any spawner; GET /workers/types lists the known ones`, { status: 400, field: 'worker_type' });
    case 'IDEMPOTENCY_MISMATCH':
      return new KilnError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used with a different request body; use a new key for a new job', { status: 422 });
    case 'JOB_EXISTS':
      return new KilnError('JOB_EXISTS', `a job with id ${job.id} already exists`, { status: 409 });
    default:
      return new KilnError('SCRIPT_ERROR', `enqueue failed with ${code}`);
  }
}
