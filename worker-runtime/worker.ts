/**
 * The claim loop of one worker process: waits on its type's queue with a blocking
 * command (no polling), runs up to max_jobs jobs at once, records results, keeps
 * its lease and heartbeat current, and drains when asked.
 */
import type { Redis } from 'ioredis';
import { backoffMs } from '../core/backoff';
import type { ClaimedJobs, JobStore } from '../core/job-store';
import type { WorkerStore } from '../core/worker-store';
import { createJobStats, type JobOutcome, type JobStatsDelta, type ModelCacheCounts } from '../core/job-stats';
import { hostSecrets, redactError } from '../core/redact';
import { jsonValueDepth, MAX_JSON_DEPTH, tooDeepMessage } from '../core/json-depth';
import type { ColdStart, JobError, JobRecord } from '../core/schemas/job';
import type { WorkerBoot } from '../core/schemas/ipc';
import { type ExecContext, type Executor, JobFailure } from './executor';
import type { JobLogSink } from './job-log-writer';
import { toFailure } from './job-failure';
import { createJobContext } from './job-context';
import { batchable, createBatchGate, fillBatch } from './batcher';
import { createWakeClaim } from './wake-claim';
import { createCompletions } from './completions';

export interface WorkerDeps {
  boot: WorkerBoot;
  redis: Redis;
  blocking: Redis;
  store: JobStore;
  /** Where the heartbeat renews this worker's lease (only while its record is live). */
  workerStore: Pick<WorkerStore, 'heartbeat'>;
  executor: Executor;
  /** Where a job's own output goes (ctx.log, console.*, Python print): the job's log. */
  logs: JobLogSink;
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Called when an execution would not stop: the process must be replaced. */
  abandon(reason: string): void;
  /**
   * How long an aborted execution may take to stop before the worker gives up on it.
   * A Python executor kills and replaces its runner itself after the cancel grace, so
   * it gets longer here than an in-process Node function.
   */
  abandonAfterMs: number;
  /** Told when a job did not succeed (rare; success is never reported this way). Must not throw. */
  onJobFailed?(failure: { job: JobRecord; error: JobError; outcome: 'retrying' | 'failed' | 'cancelled' | 'timeout' }): void;
  /**
   * This worker's own start, for the jobs that waited for it: their first claims record
   * `cold_start` (the claim adds total_ms). Absent: no cold-start timings are recorded.
   */
  coldStart?(): { spawnedAt: number; timings: Omit<ColdStart, 'total_ms'> } | undefined;
  /** Job counts since the last report, every heartbeat with news and once at drain (to the spawner). */
  reportStats?(delta: JobStatsDelta): void | Promise<void>;
  /** Log lines dropped so far (cumulative); each stats report carries the increase. */
  droppedLogLines?(): number;
  /** The runner's model cache counts since the last call (Python workers). */
  modelCacheStats?(): ModelCacheCounts | undefined;
}

interface Running {
  job: JobRecord;
  controller: AbortController;
}

/** A job's own backoff ({"delay_ms", "max_ms"}), when its submit set one. */
function jobBackoff(raw: string | undefined): { base_ms: number; max_ms: number } | undefined {
  if (!raw) return undefined;
  try {
    const b = JSON.parse(raw) as { delay_ms?: number; max_ms?: number };
    if (typeof b.delay_ms !== 'number') return undefined;
    return { base_ms: b.delay_ms, max_ms: typeof b.max_ms === 'number' ? b.max_ms : Math.max(b.delay_ms, 3_600_000) };
  } catch {
    return undefined;
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createWorker(deps: WorkerDeps) {
  const { boot, store } = deps;
  // the type's env values and interpreter path stay out of job logs and job errors
  const secrets = hostSecrets({ env: boot.env, python: boot.python });
  const keys = store.keys;
  const running = new Map<string, Running>();
  // never more jobs than the executor runs at once: a job waiting inside it would time out unstarted
  const capacity = Math.min(boot.max_jobs, deps.executor.capacity);
  let draining = false;
  let wakeSlot: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const stats = createJobStats(deps.droppedLogLines, deps.modelCacheStats);

  async function reportStats(): Promise<void> {
    const delta = stats.take();
    if (delta && deps.reportStats) await deps.reportStats(delta);
  }

  const slotFreed = () => {
    const w = wakeSlot;
    wakeSlot = undefined;
    w?.();
  };

  async function beat(): Promise<void> {
    const now = deps.now();
    const ids = [...running.keys()];
    // refused (and reported by the store) once the record is exited or gone: a late beat never revives it
    await deps.workerStore.heartbeat({ id: boot.worker_id, type: boot.worker_type }, now, boot.lease_ms);
    const tx = deps.redis.multi().zrange(keys.active(boot.worker_id), '0', '-1', 'WITHSCORES');
    // a cancel whose pub/sub message was missed (reconnect) is still seen here
    for (const id of ids) tx.hget(keys.job(id), 'cancel_requested');
    const replies = (await tx.exec()) ?? [];
    ids.forEach((id, i) => {
      if (replies[i + 1]?.[1]) running.get(id)?.controller.abort({ type: 'cancelled', message: 'cancelled by request' });
    });
    await releaseOrphans((replies[0]?.[1] ?? []) as string[], now);
  }

  /**
   * A job in this worker's active set that it is not running: a claim whose reply
   * was lost (Redis restarted mid-call). Give it back so it is not stuck.
   */
  async function releaseOrphans(flat: string[], now: number): Promise<void> {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const id = flat[i]!;
      if (running.has(id) || now - Number(flat[i + 1]) < 5000) continue;
      deps.log('warn', `job ${id} was claimed for this worker but never started (lost reply); releasing it`);
      const job = await store.get(id);
      await store.fail(id, job?.type ?? boot.worker_type, boot.worker_id, { type: 'lost_claim', message: 'the claim of this job was interrupted (Redis connection lost); retried', worker_id: boot.worker_id, at: now }, { retryable: true, backoffMs: 0, now });
    }
  }

  function scheduleBeat(): void {
    heartbeat = setTimeout(() => {
      reportStats().catch((err: unknown) => deps.log('warn', `stats report failed: ${String(err)}`));
      beat()
        .catch((err: unknown) => deps.log('warn', `heartbeat failed: ${String(err)}`))
        .finally(() => {
          if (heartbeat !== undefined) scheduleBeat();
        });
    }, boot.heartbeat_ms);
    heartbeat.unref();
  }

  /** What the job's failure became ('' when it was no longer this worker's to record). */
  function reportFailure(job: JobRecord, error: JobError, status: 'failed' | 'queued' | 'delayed' | 'cancelled' | ''): void {
    if (!status || !deps.onJobFailed) return;
    const outcome = status === 'queued' || status === 'delayed' ? 'retrying' : status === 'cancelled' ? 'cancelled' : error.type === 'timeout' ? 'timeout' : 'failed';
    try {
      deps.onJobFailed({ job, error, outcome });
    } catch (err) {
      deps.log('warn', `reporting the failure of ${job.id}: ${String(err)}`);
    }
  }

  /** Runs one job; `gate`: the batch it belongs to (batcher.ts), else the executor runs it alone. */
  async function runJob(job: JobRecord, gate?: ReturnType<typeof createBatchGate>): Promise<void> {
    const controller = new AbortController();
    running.set(job.id, { job, controller });
    const timeoutMs = job.timeout_ms > 0 ? job.timeout_ms : boot.default_timeout_ms;
    // the time limit counts from when the executor starts the job (it has a free slot: see `capacity`)
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const { ctx, settle } = createJobContext(job, controller, { workerId: boot.worker_id, store, logs: deps.logs, secrets, now: deps.now, log: deps.log });
    const execution = Promise.resolve()
      .then(() => {
        // A payload no API would accept (written to Redis some other way) fails once: no runner or function sees it.
        if (jsonValueDepth(job.payload) > MAX_JSON_DEPTH) {
          gate?.withdraw();
          throw new JobFailure({ type: 'payload_too_deep', message: tooDeepMessage("the job's payload") }, { retryable: false });
        }
        if (timeoutMs > 0) timer = setTimeout(() => controller.abort({ type: 'timeout', message: `job exceeded its time limit of ${timeoutMs / 1000} s (timeout_s)` }), timeoutMs);
        return gate ? gate.run(job, ctx) : deps.executor.run(job, ctx);
      })
      .finally(() => {
        settled = true;
      });
    // Once aborted, the execution gets abandonAfterMs to stop before the worker gives up on it.
    const abandoned = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => {
        setTimeout(() => reject(controller.signal.reason), deps.abandonAfterMs).unref();
      }, { once: true });
    });
    let next: JobRecord[] = [];
    const claimedAt = job.started_at ?? deps.now();
    try {
      const result = await Promise.race([execution, abandoned]);
      if (controller.signal.aborted) throw controller.signal.reason;
      await settle();
      await deps.logs.flush(job.id); // bounded: logs are complete when the job is seen finished
      // The freed slot (and any other free one) is refilled by the same script call.
      const r = await completions.add({ id: job.id, result });
      if (r.recorded) stats.finished('succeeded', deps.now() - claimedAt);
      next = r.next;
    } catch (err) {
      const failure = toFailure(err, controller.signal);
      const { retryable } = failure;
      const error = redactError(failure.error, secrets);
      const policy = jobBackoff(job.backoff) ?? boot.backoff;
      const wait = retryable ? backoffMs(job.attempts, policy.base_ms, policy.max_ms) : 0;
      await Promise.all([settle(), deps.logs.flush(job.id)]); // a failed run keeps its progress (and metrics) and its log up to the failure
      const now = deps.now();
      const status = await store
        .fail(job.id, job.type, boot.worker_id, { ...error, attempt: job.attempts, worker_id: boot.worker_id, at: now }, { retryable, backoffMs: wait, now })
        .then((r) => {
          const outcome: JobOutcome | undefined = r === 'failed' || r === 'cancelled' ? r : r === 'queued' || r === 'delayed' ? 'retried' : undefined;
          if (outcome) stats.finished(outcome, now - claimedAt);
          return r;
        })
        .catch((e: unknown) => {
          deps.log('error', `could not record the failure of ${job.id}: ${String(e)}`);
          return undefined;
        });
      if (status) reportFailure(job, error, status);
    } finally {
      if (timer) clearTimeout(timer);
      running.delete(job.id);
      if (!settled) deps.abandon(`job ${job.id} did not stop within ${deps.abandonAfterMs} ms of being aborted`);
      startAll(next);
      slotFreed();
    }
  }

  /** Jobs claimed so far (recycle_after_jobs), and slots promised to claims still in flight. */
  let claimed = 0;
  let reserved = 0;

  /** How many jobs a claim may take now: free slots (plus `freeing` about to be), within the recycle budget. */
  function slotsToClaim(freeing = 0): number {
    if (draining) return 0;
    const free = capacity - running.size - reserved + freeing;
    const budget = boot.max_total_jobs === undefined ? free : Math.min(free, boot.max_total_jobs - claimed - reserved);
    return Math.max(0, budget);
  }

  async function reserve<T>(n: number, claim: (n: number) => Promise<T>): Promise<T> {
    reserved += n;
    try {
      return await claim(n);
    } finally {
      reserved -= n;
    }
  }

  // Jobs that finish together are recorded together; the batch's freed slots are refilled by the same call.
  const completions = createCompletions((batch) =>
    reserve(slotsToClaim(batch.length), (n) => store.completeManyAndClaim(boot.worker_type, boot.worker_id, batch, deps.now(), n)));

  function startAll(jobs: JobRecord[]): void {
    claimed += jobs.length;
    for (const job of jobs) {
      if (job.started_at !== undefined) stats.claimed(job.started_at - (job.queued_at ?? job.created_at));
      if (running.size === 0 && batchable(job, boot.batch, deps.executor)) void startBatch(job);
      else void runJob(job);
    }
  }

  /** Dynamic batching: `first` holds the slot while more jobs of its model are claimed, then all run as one batch. */
  async function startBatch(first: JobRecord): Promise<void> {
    const settings = boot.batch as NonNullable<typeof boot.batch>;
    const hold = new AbortController();
    running.set(first.id, { job: first, controller: hold }); // the slot is taken while the batch fills
    let more: JobRecord[] = [];
    try {
      const budget = boot.max_total_jobs === undefined ? settings.max_size : Math.min(settings.max_size, boot.max_total_jobs - claimed + 1);
      more = await fillBatch({ store, type: boot.worker_type, workerId: boot.worker_id, first, settings: { ...settings, max_size: budget },
        now: deps.now, stop: () => draining || hold.signal.aborted });
    } catch (err) {
      deps.log('warn', `filling the batch of ${first.id}: ${String(err)}; running what was claimed`);
    }
    running.delete(first.id);
    claimed += more.length;
    const batch = [first, ...more];
    const gate = createBatchGate(deps.executor, batch.length);
    for (const job of more) if (job.started_at !== undefined) stats.claimed(job.started_at - (job.queued_at ?? job.created_at));
    for (const job of batch) void runJob(job, gate);
  }

  /** A new worker's claims, until it got its first jobs, record where its start went on them. */
  function coldStartOf(now: number): { spawnedAt: number; timings: ColdStart } | undefined {
    const c = claimed === 0 ? deps.coldStart?.() : undefined;
    if (!c) return undefined;
    return { spawnedAt: c.spawnedAt, timings: { ...c.timings, total_ms: Math.round(now - c.spawnedAt) } };
  }

  const notifyKey = keys.notify(boot.worker_type);
  // with affinity, a claim of another worker that leaves this one a job (it holds the model) wakes it on its own list
  const notifyKeys = boot.affinity_wait_ms === undefined ? [notifyKey] : [notifyKey, keys.workerNotify(boot.worker_id)];
  const wake = createWakeClaim({ blocking: deps.blocking, redis: deps.redis, store, type: boot.worker_type, workerId: boot.worker_id, notifyKeys, timeoutS: 5 });
  /** The wait in progress: a plain BLPOP, or one with the claim behind it (wake-claim.ts). */
  let waitKind: 'plain' | 'claim' | undefined;
  let waiting: Promise<void> | undefined;

  /**
   * Blocks on the type's notify list (at most 5 s, or `retryMs`: the last claim left a job to
   * another worker holding its model, which this one may take after that). An established
   * worker's claim rides behind the wait, and what it claims starts at once; a new worker that
   * has claimed nothing yet waits plainly (its first claim records cold-start timings, taken then).
   */
  async function waitForWork(retryMs?: number): Promise<void> {
    const plain = coldStartOf(deps.now()) !== undefined;
    const n = slotsToClaim();
    if (n <= 0) return;
    const timeoutS = retryMs === undefined ? 5 : Math.min(5, Math.max(0.01, retryMs / 1000));
    waitKind = plain ? 'plain' : 'claim';
    try {
      if (plain) await deps.blocking.blpop(...notifyKeys, timeoutS);
      else startAll(await reserve(n, (k) => wake.wait(k, timeoutS)));
    } catch (err) {
      if (!draining) {
        deps.log('warn', `waiting on ${notifyKey} failed: ${String(err)}`);
        await delay(250);
      }
    } finally {
      waitKind = undefined;
    }
  }

  /** Resolves 'recycle' once the worker took its last job (max_total_jobs), else 'drained'. */
  async function loop(): Promise<'recycle' | 'drained'> {
    while (!draining) {
      if (boot.max_total_jobs !== undefined && claimed >= boot.max_total_jobs) return 'recycle';
      const n = slotsToClaim();
      if (n <= 0) {
        await new Promise<void>((r) => (wakeSlot = r));
        continue;
      }
      let jobs: ClaimedJobs;
      try {
        jobs = await reserve(n, (k) => {
          const now = deps.now();
          return store.claim(boot.worker_type, boot.worker_id, now, k, coldStartOf(now));
        });
      } catch (err) {
        deps.log('warn', `claim failed: ${String(err)}; retrying`);
        await delay(250);
        continue;
      }
      if (jobs.length > 0) {
        startAll(jobs);
        continue;
      }
      waiting = waitForWork(jobs.retryMs);
      await waiting;
      waiting = undefined;
    }
    return 'drained';
  }

  /** Ends a wait in progress; a wait with a claim behind it is let finish, so its jobs start (and are waited for). */
  async function endWait(): Promise<void> {
    if (waitKind === 'plain') deps.blocking.disconnect();
    else if (waitKind === 'claim' && !(await wake.interrupt())) deps.log('info', 'draining: waiting for the pending wait on the queue to time out (CLIENT UNBLOCK refused)');
    await waiting;
  }

  return {
    running,
    async start(): Promise<Promise<'recycle' | 'drained'>> {
      await beat();
      scheduleBeat();
      return loop();
    },
    /** Stop claiming; resolves once every running job has finished. */
    async drain(): Promise<void> {
      draining = true;
      slotFreed();
      await endWait();
      while (running.size > 0) await new Promise<void>((r) => (wakeSlot = r));
      if (heartbeat) clearTimeout(heartbeat);
      heartbeat = undefined;
      await reportStats().catch((err: unknown) => deps.log('warn', `the last stats report failed: ${String(err)}`));
    },
    cancel(jobId: string, reason: string): boolean {
      const r = running.get(jobId);
      if (!r) return false;
      r.controller.abort({ type: 'cancelled', message: reason });
      return true;
    },
  };
}
