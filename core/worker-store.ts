/**
 * The WorkerStore: the only code that writes a worker record (`keys.worker(id)`),
 * its lease (`keys.lease(id)`) and the worker sets (`keys.workers()`,
 * `keys.workersOfType(type)`). Every status change is one run of
 * core/lua/worker-transition.lua, given the statuses it may come from by
 * core/worker-states.ts, so an illegal one (exited → idle, a heartbeat after the
 * exit) is refused and reported, never applied. busy/idle as jobs are claimed and
 * finished are written by the job scripts' shared fragments (_claim, _helpers),
 * and a reservation by reserve-worker.lua: they are this store's scripts too. One
 * counter is written elsewhere: log_lines_dropped, by count-log-drops.lua, which
 * worker-runtime/job-log-writer.ts pipelines with the job log appends (it writes
 * only to an existing record and never touches status, lease or sets).
 *
 * A failed write is retried a few times, then thrown as WORKER_WRITE_FAILED
 * (naming the worker) for the caller to log or act on; never swallowed here.
 */
import { KilnError } from './errors';
import type { Keys } from './keys';
import type { LogFn } from './logger';
import * as scripts from './lua/contracts';
import type { RedisArg, RedisPort } from './redis-port';
import { type WorkerRecord, workerRecordSchema } from './schemas/worker';
import { allowedFrom, LIVE_STATUSES, NO_RECORD, WORKER_STATUSES, type WorkerStatus } from './worker-states';

/** How long an exited worker's record stays readable (GET /workers/:id) with its exit diagnostics. */
export const EXITED_RECORD_TTL_MS = 3600_000;

/** Worker hashes read back from Redis; half-written or vanished ones are skipped. */
export function parseWorkers(hashes: Record<string, string>[]): WorkerRecord[] {
  const out: WorkerRecord[] = [];
  for (const h of hashes) {
    const r = workerRecordSchema.safeParse(h);
    if (r.success) out.push(r.data);
  }
  return out.sort((a, b) => a.created_at - b.created_at);
}

export interface WorkerStoreOptions {
  keys: Keys;
  /** Where refused transitions are reported (warn, with the worker id). */
  log?: LogFn;
  /** Tries per write before it is thrown (default 3). */
  attempts?: number;
  /** Wait before the first retry, doubled each time (default 50 ms). */
  retryDelayMs?: number;
}

/** Fields written with a status change; undefined values are left out. */
export type WorkerFields = Record<string, string | number | undefined>;

export interface Transition {
  applied: boolean;
  /** The record's status before the call ('none': no record). */
  from: WorkerStatus | 'none';
}

export interface NewWorker {
  id: string;
  type: string;
  pid: number;
  maxJobs: number;
  host: string;
  workingDirectory: string;
  gpu?: string;
  now: number;
  /** The first lease, covering the start-up; the worker renews it from then on. */
  leaseMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type WorkerStore = ReturnType<typeof createWorkerStore>;

export function createWorkerStore(redis: RedisPort, opts: WorkerStoreOptions) {
  const { keys } = opts;
  const attempts = Math.max(1, opts.attempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? 50;

  /** Runs one write, retried a few times; the last failure is thrown naming the worker. */
  async function write<T>(what: string, id: string, run: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await run();
      } catch (err) {
        if (n >= attempts) {
          const why = err instanceof Error ? err.message : String(err);
          throw new KilnError('WORKER_WRITE_FAILED', `could not ${what} of worker ${id} in Redis after ${n} tries: ${why}`, { cause: err });
        }
        await sleep(retryDelayMs * 2 ** (n - 1));
      }
    }
  }

  async function transition(
    what: string,
    w: { id: string; type: string },
    to: WorkerStatus | '' | typeof NO_RECORD,
    allowed: readonly string[],
    extra: { fields?: WorkerFields; lease?: { ms: number; value: number }; ttlMs?: number; quiet?: boolean } = {},
  ): Promise<Transition> {
    const fields: RedisArg[] = [];
    for (const [k, v] of Object.entries(extra.fields ?? {})) if (v !== undefined) fields.push(k, v);
    const r = (await write(what, w.id, () =>
      scripts.workerTransition(
        redis,
        { worker: keys.worker(w.id), lease: keys.lease(w.id), workers: keys.workers(), of_type: keys.workersOfType(w.type) },
        {
          id: w.id, to, allowed: allowed.join(','), lease_ms: extra.lease?.ms ?? '', lease_value: extra.lease?.value ?? '',
          ttl_ms: extra.ttlMs ?? '', fields,
        },
      ),
    )) as [number, string];
    const out: Transition = { applied: Number(r[0]) === 1, from: r[1] as Transition['from'] };
    if (!out.applied && !extra.quiet) {
      opts.log?.('warn', `refused to ${what} of worker ${w.id}: its record is ${out.from}, and ${to || 'an update'} is not allowed from there`, {
        worker_id: w.id, from: out.from, to: to || 'update',
      });
    }
    return out;
  }

  const move = (what: string, to: WorkerStatus) => (w: { id: string; type: string }, fields: WorkerFields = {}) =>
    transition(what, w, to, allowedFrom(to), { fields });

  return {
    keys,

    /** The start record (status starting), its set entries and its first lease; completes a reservation. */
    register: (w: NewWorker) =>
      transition('register', w, 'starting', allowedFrom('starting'), {
        fields: {
          worker_id: w.id, worker_type: w.type, process_id: w.pid, created_at: w.now, last_activity: w.now, job_count: 0,
          max_jobs: w.maxJobs, working_directory: w.workingDirectory, host: w.host, gpu: w.gpu,
        },
        lease: { ms: w.leaseMs, value: w.now },
      }),

    /** Registers a new worker of a type if the queue needs one more, counting every host's serving workers. */
    async reserve(w: { id: string; type: string; maxJobs: number; host: string; now: number; leaseMs: number; minServing?: number }): Promise<boolean> {
      const r = await write('reserve', w.id, () =>
        scripts.reserveWorker(
          redis,
          { queue: keys.queue(w.type), workers_of_type: keys.workersOfType(w.type), workers: keys.workers(), worker: keys.worker(w.id), lease: keys.lease(w.id) },
          {
            worker_id: w.id, worker_type: w.type, max_jobs: w.maxJobs, host: w.host, now: w.now, lease_ms: w.leaseMs,
            worker_prefix: keys.worker(''), active_prefix: keys.active(''), min_serving: w.minServing ?? 0,
          },
        ));
      return Number(r) === 1;
    },

    /**
     * The worker said it is ready: its ready fields, and starting → idle. A worker that
     * claimed a job first is busy already and stays so (not a refusal worth reporting).
     */
    async markReady(w: { id: string; type: string }, fields: WorkerFields): Promise<Transition> {
      await transition('record the readiness', w, '', LIVE_STATUSES, { fields });
      return transition('mark ready', w, 'idle', ['starting'], { quiet: true });
    },

    /** Asked to finish its jobs and leave (stop, idle timeout, recycle). */
    draining: move('mark draining', 'draining'),
    /** Signalled (SIGTERM/SIGKILL sent). */
    stopping: move('mark stopping', 'stopping'),
    /** Reported that it could not start (status_reason says why). */
    errored: move('mark errored', 'errored'),

    /** The process ended: the record keeps its exit diagnostics for EXITED_RECORD_TTL_MS and leaves the live sets; its lease goes. */
    exited: (w: { id: string; type: string }, fields: WorkerFields, ttlMs = EXITED_RECORD_TTL_MS) =>
      transition('record the exit', w, 'exited', allowedFrom('exited'), { fields, ttlMs }),

    /** The worker's own beat: renews its lease and last_heartbeat, only while its record is live. */
    heartbeat: (w: { id: string; type: string }, now: number, leaseMs: number) =>
      transition('renew the lease', w, '', LIVE_STATUSES, { fields: { last_heartbeat: now }, lease: { ms: leaseMs, value: now } }),

    /** Resource samples (rss_bytes, gpu_memory_mb) of a live worker. */
    sample: (w: { id: string; type: string }, fields: { rss_bytes?: number; gpu_memory_mb?: number }) =>
      transition('record a resource sample', w, '', LIVE_STATUSES, { fields, quiet: true }),

    /** Drops the record, its lease and its set entries (a worker found dead, its jobs given back; a reservation never started). */
    async forget(w: { id: string; type: string }): Promise<boolean> {
      return (await transition('forget', w, NO_RECORD, [...WORKER_STATUSES, NO_RECORD])).from !== NO_RECORD;
    },

    async get(id: string): Promise<WorkerRecord | undefined> {
      return parseWorkers([await redis.hgetall(keys.worker(id))])[0];
    },

    /** Ids in the live set (every host). */
    liveIds: (): Promise<string[]> => redis.smembers(keys.workers()),

    /** Raw hashes of the given workers (one round trip), for callers that need fields a record may lack. */
    hashes: (ids: string[]): Promise<Record<string, string>[]> => redis.hgetallMany(ids.map((id) => keys.worker(id))),

    /** Every live worker's record. */
    async list(): Promise<WorkerRecord[]> {
      return parseWorkers(await redis.hgetallMany((await redis.smembers(keys.workers())).map((id) => keys.worker(id))));
    },
  };
}
