/**
 * Typed functions over the job Lua scripts. Every state change of a job is one
 * script run, so it is atomic on any Redis, local or managed.
 */
import type { JobRecordSettings } from './config';
import { createEnqueueCall } from './enqueue-call';
import { KilnError } from './errors';
import type { JobStatus, Keys } from './keys';
import * as scripts from './lua/contracts';
import { flatToRecord, jsonToRecord, type RedisPort } from './redis-port';
import { runKilnScript, type ScriptCall } from './script-errors';
import { type ColdStart, type JobError, type JobKind, type JobRecord, jobRecordSchema } from './schemas/job';
import { type JobSummaryRecord, jobSummaryRecordSchema } from './schemas/job-summary';
import { type HistoryEntry, historyEntrySchema, PROGRESS_HISTORY_CAP, type ProgressPoint } from './schemas/progress';

/** Retentions and the events cap come from the config (core/config.ts jobRecordSettings): no defaults here. */
export interface JobStoreOptions extends JobRecordSettings {
  keys: Keys;
  /** Points a job's progress history keeps before it is thinned (default PROGRESS_HISTORY_CAP). */
  progressHistoryCap?: number;
  /**
   * A worker's claims (its own store): prefer jobs whose model it holds, and leave a job whose
   * model another live worker of the type holds to that worker for this many ms after it was
   * queued (core/lua/_claim.lua). undefined: plain priority order.
   */
  affinityWaitMs?: number;
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

export { QUEUE_FULL_RETRY_AFTER_S } from './script-errors';

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

/**
 * Claimed jobs; `retryMs` (affinity): a job was left to another worker holding its model, and
 * this worker may take it after that many ms (its wait for work should end by then).
 */
export type ClaimedJobs = JobRecord[] & { retryMs?: number };

export { jobModel } from './enqueue-call';

/** Jobs as the claim scripts return them (each a JSON object of the hash's fields; a last number: the retry hint). */
function parseJobs(rows: unknown[]): ClaimedJobs {
  const last = rows[rows.length - 1];
  const retry = typeof last === 'number' ? last : undefined;
  const jobs: ClaimedJobs = (retry === undefined ? rows : rows.slice(0, -1))
    .map((r) => parseJob(jsonToRecord(r))).filter((j): j is JobRecord => j !== null);
  if (retry !== undefined) jobs.retryMs = retry;
  return jobs;
}

export type JobStore = ReturnType<typeof createJobStore>;

export function createJobStore(redis: RedisPort, opts: JobStoreOptions) {
  const { keys } = opts;
  const maxLen = opts.eventsMaxLen;
  const okRetention = opts.succeededRetentionMs;
  const failRetention = opts.failedRetentionMs;
  const historyCap = Math.max(2, opts.progressHistoryCap ?? PROGRESS_HISTORY_CAP);
  const affinityArgs = {
    affinity_wait_ms: opts.affinityWaitMs ?? '', holders_prefix: keys.modelHolders, worker_prefix: keys.workerPrefix,
    wnotify_prefix: keys.workerNotify(''),
  };

  /**
   * Records a result and, in the same call, claims up to `next` jobs of `type` for
   * the freed slot(s): one round trip per job on a busy queue, as BullMQ does.
   */
  async function completeAndClaim(jobId: string, type: string, workerId: string, result: unknown, now: number, next: number): Promise<{ recorded: boolean; next: JobRecord[] }> {
    const [ok, ...rows] = (await scripts.completeJob(
      redis,
      {
        job: keys.job(jobId), active: keys.active(workerId), worker: keys.worker(workerId), running: keys.byStatus('running'),
        succeeded: keys.byStatus('succeeded'), events: keys.events(), queue: keys.queue(type), queued: keys.byStatus('queued'),
        notify: keys.notify(type), logs: keys.logs(jobId), progress: keys.progressHistory(jobId),
      },
      { job_id: jobId, worker_id: workerId, now, result: JSON.stringify(result ?? null), retention_ms: okRetention, maxlen: maxLen, count: next, job_prefix: keys.jobPrefix },
    )) as unknown[];
    return { recorded: Number(ok) === 1, next: parseJobs(rows) };
  }

  /**
   * Records the results of jobs that finished together (each only while the worker still
   * holds it) and claims up to `next` jobs of `type` for the freed slots: one call for all.
   */
  async function completeManyAndClaim(type: string, workerId: string, results: readonly { id: string; result: unknown }[], now: number, next: number): Promise<{ recorded: boolean[]; next: ClaimedJobs }> {
    const [flags, ...rows] = (await scripts.completeJobs(
      redis,
      {
        active: keys.active(workerId), worker: keys.worker(workerId), running: keys.byStatus('running'), succeeded: keys.byStatus('succeeded'),
        events: keys.events(), queue: keys.queue(type), queued: keys.byStatus('queued'), notify: keys.notify(type), models: keys.workerModels(workerId),
      },
      {
        worker_id: workerId, now, retention_ms: okRetention, maxlen: maxLen, count: next, job_prefix: keys.jobPrefix, log_prefix: keys.logPrefix,
        ...affinityArgs,
        results: results.flatMap((r) => [r.id, JSON.stringify(r.result ?? null)]),
      },
    )) as unknown[];
    return { recorded: results.map((_, i) => Number((flags as unknown[])[i]) === 1), next: parseJobs(rows) };
  }

  const claimKeys = (type: string, workerId: string): scripts.ClaimJobKeys => ({
    queue: keys.queue(type), active: keys.active(workerId), worker: keys.worker(workerId), queued: keys.byStatus('queued'),
    running: keys.byStatus('running'), events: keys.events(), notify: keys.notify(type), models: keys.workerModels(workerId),
  });
  const claimArgs = (workerId: string, now: number | '', count: number, coldStart?: { spawnedAt: number; timings: ColdStart }): scripts.ClaimJobArgs => ({
    worker_id: workerId, now, job_prefix: keys.jobPrefix, maxlen: maxLen, count,
    spawned_at: coldStart ? coldStart.spawnedAt : '', cold_start: coldStart ? JSON.stringify(coldStart.timings) : '',
    ...affinityArgs, only_model: '',
  });

  const enqueueCall = createEnqueueCall(keys, maxLen);

  return {
    keys,

    async enqueue(job: NewJob): Promise<EnqueueResult> {
      // refusals (full queue, ceilings, unknown type, …) come back as KilnErrors (core/script-errors.ts)
      const [enqueueKeys, enqueueArgs] = enqueueCall(job);
      // what an error reply's message quotes (core/script-errors.ts)
      const named = { job_id: job.id, worker_type: job.type, timeout_ms: job.timeoutMs, max_attempts: job.maxAttempts ?? '' };
      const reply = (await runKilnScript(redis, scripts.enqueueJobCall(enqueueKeys, enqueueArgs), named)) as [number, number | string, (string | number)?, number?];
      const [code, value, id, workers] = reply;
      if (Number(code) === 1) return { created: true, id: String(id), seq: Number(value), workers: Number(workers ?? 0) };
      return { created: false, id: String(id) };
    },

    async get(id: string): Promise<JobRecord | null> {
      return parseJob(await redis.hgetall(keys.job(id)));
    },

    async list(q: { status?: JobStatus; type?: string; limit: number; cursor?: string }): Promise<JobPage> {
      const index = q.status ? keys.byStatus(q.status) : keys.all();
      const reply = (await scripts.listJobs(redis, { index }, {
        cursor: q.cursor ?? '+inf', limit: q.limit, type: q.type ?? '', job_prefix: keys.jobPrefix,
      })) as unknown[];
      const [cursor, ...rows] = reply;
      const jobs = rows.map((r) => parseSummary(flatToRecord(r))).filter((j): j is JobSummaryRecord => j !== null);
      return { jobs, nextCursor: cursor ? String(cursor) : null };
    },

    /**
     * Claims up to `count` queued jobs of a type for a worker, in priority order. `coldStart`
     * (a new worker's first claims): the claimed jobs queued before `spawnedAt` get `timings`.
     */
    async claim(type: string, workerId: string, now: number, count = 1, coldStart?: { spawnedAt: number; timings: ColdStart }): Promise<ClaimedJobs> {
      const args = claimArgs(workerId, now, count, coldStart);
      return parseJobs((await scripts.claimJob(redis, claimKeys(type, workerId), args)) as unknown[]);
    },

    /** Dynamic batching: claims up to `count` queued jobs of `type` whose model is `model` (from the first 256 queued). */
    async claimModel(type: string, workerId: string, model: string, now: number, count: number): Promise<ClaimedJobs> {
      const args = { ...claimArgs(workerId, now, count), only_model: model };
      return parseJobs((await scripts.claimJob(redis, claimKeys(type, workerId), args)) as unknown[]);
    },

    /**
     * The claim as a script call, for a worker that pipelines it behind its blocking wait
     * on the type's notify list (worker-runtime/worker.ts): `now` is then '' (Redis's clock,
     * as the call runs only once the wait ends). `parseClaimed` reads its reply.
     */
    claimCall(type: string, workerId: string, now: number | '', count: number): ScriptCall {
      return scripts.claimJobCall(claimKeys(type, workerId), claimArgs(workerId, now, count));
    },

    parseClaimed: (reply: unknown): ClaimedJobs => parseJobs(Array.isArray(reply) ? reply : []),

    /** Advertises the models a worker's runner holds (training job ids), replacing what it advertised before. */
    async setWorkerModels(workerId: string, models: readonly string[]): Promise<number> {
      return Number(await scripts.setWorkerModels(redis, { models: keys.workerModels(workerId), worker: keys.worker(workerId) },
        { worker_id: workerId, holders_prefix: keys.modelHolders, model_ids: [...models] }));
    },

    /** Queued, running and delayed jobs of every registered type (one read-only script call). */
    async typeCounts(delayedScanLimit = 10_000): Promise<Record<string, { queued: number; running: number; delayed: number }>> {
      const flat = (await scripts.typeCounts(redis, { types: keys.types(), delayed: keys.delayed() }, {
        queue_prefix: keys.queue(''), workers_of_type_prefix: keys.workersOfType(''), active_prefix: keys.active(''),
        job_prefix: keys.jobPrefix, delayed_limit: delayedScanLimit,
      })) as unknown[];
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
    completeManyAndClaim,

    async fail(
      jobId: string,
      type: string,
      workerId: string,
      error: JobError,
      opts: { retryable: boolean; backoffMs: number; now: number },
    ): Promise<'failed' | 'queued' | 'delayed' | 'cancelled' | ''> {
      const r = await scripts.failJob(
        redis,
        {
          job: keys.job(jobId), active: keys.active(workerId), worker: keys.worker(workerId), running: keys.byStatus('running'),
          failed: keys.byStatus('failed'), queued: keys.byStatus('queued'), queue: keys.queue(type), notify: keys.notify(type),
          delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'), events: keys.events(), cancelled: keys.byStatus('cancelled'),
          logs: keys.logs(jobId), progress: keys.progressHistory(jobId),
        },
        {
          job_id: jobId, worker_id: workerId, now: opts.now, error: JSON.stringify(error), retryable: opts.retryable ? '1' : '0',
          backoff_ms: opts.backoffMs, retention_ms: failRetention, maxlen: maxLen,
        },
      );
      return (r ?? '') as 'failed' | 'queued' | 'delayed' | 'cancelled' | '';
    },

    /** Appends an attempt's partial outputs (JSON texts, oldest first; `firstSeq` numbers the first) to the events stream while the worker holds the job. */
    async outputs(jobId: string, workerId: string, attempt: number, outputs: readonly string[], firstSeq: number, now: number): Promise<boolean> {
      const r = await scripts.reportOutputs(
        redis,
        { active: keys.active(workerId), events: keys.events() },
        { job_id: jobId, now, maxlen: maxLen, attempt, first_seq: firstSeq, outputs: [...outputs] },
      );
      return Number(r) === 1;
    },

    /** Records progress points (oldest first; the last is the job's current progress) while the worker holds the job. */
    async progress(jobId: string, workerId: string, points: readonly ProgressPoint[], now: number): Promise<boolean> {
      const flat = points.flatMap((p) => [p.ts, p.progress, p.message, p.metrics ? JSON.stringify(p.metrics) : '']);
      const r = await scripts.reportProgress(
        redis,
        { job: keys.job(jobId), active: keys.active(workerId), events: keys.events(), progress: keys.progressHistory(jobId) },
        { job_id: jobId, now, maxlen: maxLen, cap: historyCap, points: flat },
      );
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
      const r = (await scripts.cancelJob(
        redis,
        {
          job: keys.job(job.id), queue: keys.queue(job.type), queued: keys.byStatus('queued'), delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'),
          cancelled: keys.byStatus('cancelled'), events: keys.events(), logs: keys.logs(job.id), progress: keys.progressHistory(job.id),
        },
        { job_id: job.id, now, retention_ms: failRetention, maxlen: maxLen, cancel_channel: keys.cancelChannel(), reason },
      )) as string[];
      return { outcome: r[0] as 'cancelled', ...(r[1] !== undefined && { detail: String(r[1]) }) };
    },

    /**
     * Ends the queued jobs whose queued TTL passed before they ever started (`expired`);
     * reads only due entries of the expiry index, at most `limit` per call.
     */
    async expireQueued(now: number, limit = 500): Promise<{ id: string; type: string }[]> {
      const flat = (await scripts.expireQueuedJobs(
        redis,
        { expiring: keys.expiring(), queued: keys.byStatus('queued'), expired: keys.byStatus('expired'), events: keys.events() },
        { now, job_prefix: keys.jobPrefix, queue_prefix: keys.queue(''), limit, maxlen: maxLen, retention_ms: failRetention },
      )) as unknown[];
      const out: { id: string; type: string }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), type: String(flat[i + 1]) });
      return out;
    },

    /** Moves jobs whose retry backoff is over back to their queues. */
    async promoteDelayed(now: number, limit = 500): Promise<number> {
      const r = await scripts.promoteDelayed(
        redis,
        { delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'), queued: keys.byStatus('queued'), events: keys.events() },
        { now, job_prefix: keys.jobPrefix, queue_prefix: keys.queue(''), notify_prefix: keys.notify(''), limit, maxlen: maxLen },
      );
      return Number(r);
    },

    /**
     * A worker is gone: its jobs go back to the queue (or fail past max_attempts). Its
     * record is left to the WorkerStore (exited, or forget), the only writer of it.
     */
    async requeueWorker(
      workerId: string,
      type: string,
      error: JobError,
      opts: { now: number },
    ): Promise<{ requeued: number; failed: number }> {
      const r = (await scripts.requeueWorkerJobs(
        redis,
        {
          active: keys.active(workerId),
          running: keys.byStatus('running'), failed: keys.byStatus('failed'), queued: keys.byStatus('queued'), queue: keys.queue(type),
          notify: keys.notify(type), delayed: keys.delayed(), delayed_idx: keys.byStatus('delayed'), events: keys.events(),
          cancelled: keys.byStatus('cancelled'), models: keys.workerModels(workerId), wnotify: keys.workerNotify(workerId),
        },
        {
          worker_id: workerId, now: opts.now, error: JSON.stringify(error), retention_ms: failRetention, maxlen: maxLen,
          job_prefix: keys.jobPrefix, log_prefix: keys.logPrefix, holders_prefix: keys.modelHolders,
        },
      )) as [number, number];
      return { requeued: Number(r[0]), failed: Number(r[1]) };
    },
  };
}
