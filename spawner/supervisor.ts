/**
 * The table of this host's workers: starts them, stops them, hears their IPC
 * messages, and on every exit gives their jobs back and records why they ended.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Redis } from 'ioredis';
import { KilnError } from '../core/errors';
import type { JobStore } from '../core/job-store';
import type { LogFn } from '../core/logger';
import { withTimeout } from '../core/redis-gate';
import { ownValue } from '../core/own-keys';
import { hostScrubber, hostSecrets } from '../core/redact';
import { workerToSpawnerSchema } from '../core/schemas/ipc';
import type { WorkerTypeConfig } from '../core/schemas/worker-type';
import type { Breaker } from './breaker';
import { type GpuAllocator, gpuEnv } from './gpus';
import type { SpawnerConfig } from './config';
import { PROJECT_ROOT } from './project-root';
import { exitJobError, recordExit } from './exit-record';
import { describeExit, type ExitInfo, type ExitReason } from './exit-reason';
import { allowedEnv, launchWorker, type WorkerProcess } from './launcher';
import type { WorkerMetricsSink } from './metrics';
import { workerBoot, workerProcessEnv } from './worker-boot';
import { logJobFailed, logWorkerExit, logWorkerReady } from './worker-console';
import type { WorkerLogs } from './worker-logs';

export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopping';

export interface ManagedWorker {
  id: string;
  type: string;
  config: WorkerTypeConfig;
  proc: WorkerProcess;
  state: WorkerState;
  createdAt: number;
  readyAt: number | undefined;
  /** From the worker's Redis record, refreshed every reconcile tick. */
  lastActivity: number;
  running: number;
  jobCount: number;
  /** Set when the spawner decided how this worker ends (stop, timeout kill, memory kill). */
  endReason: ExitReason | undefined;
  startError: { code: string; message: string } | undefined;
  workdir: string;
  /** CUDA_VISIBLE_DEVICES of a GPU worker. */
  gpu: string | undefined;
  /** Settles once the process exited and its exit was fully handled (jobs requeued, record updated). */
  done: Promise<void>;
}

export interface SupervisorDeps {
  config: SpawnerConfig;
  redis: Redis;
  store: JobStore;
  breaker: Breaker;
  now(): number;
  log: LogFn;
  gpus: GpuAllocator;
  /** Each worker's stdout/stderr go to a file here; without it stdout is discarded. */
  workerLogs?: WorkerLogs;
  onExit?(w: ManagedWorker, info: ExitInfo): void;
  onReady?(w: ManagedWorker): void;
  /** Where worker starts, stats reports, lost jobs and spawn failures are counted (GET /metrics). */
  metrics?: WorkerMetricsSink;
}

export type EnsureResult = { action: 'existing' | 'started' | 'at_capacity' | 'backing_off' | 'waiting_for_gpu'; worker_id: string | null; reason?: string };

export function createSupervisor(deps: SupervisorDeps) {
  const { config, redis, store } = deps;
  const keys = store.keys;
  const workers = new Map<string, ManagedWorker>();
  /** Workers whose exit is being handled (jobs requeued, record written): still ours, not the lease sweep's. */
  const exiting = new Set<string>();

  /** What a worker's type must not show beyond this host (env values, interpreter, the host's folders), redacted. */
  const folders = [[config.stateDir, '$KILN_STATE_DIR'], [PROJECT_ROOT, '$KILN_ROOT']] as const;
  const scrubFor = (w: ManagedWorker) => hostScrubber(hostSecrets(w.config), folders);
  const ofType = (type: string) => [...workers.values()].filter((w) => w.type === type);
  const serving = (type: string) => ofType(type).filter((w) => w.state === 'starting' || w.state === 'ready');

  function typeConfig(type: string): WorkerTypeConfig {
    const cfg = ownValue(config.types, type);
    if (!cfg) {
      throw new KilnError('UNKNOWN_WORKER_TYPE', `unknown worker type "${type}"; configured types: ${Object.keys(config.types).sort().join(', ')}`, { status: 404 });
    }
    return cfg;
  }

  async function recordWorker(w: ManagedWorker): Promise<void> {
    await redis
      .multi()
      .hset(keys.worker(w.id), {
        worker_id: w.id, worker_type: w.type, process_id: w.proc.pid, status: 'starting', created_at: w.createdAt,
        last_activity: w.createdAt, job_count: 0, max_jobs: w.config.max_jobs, working_directory: relative(config.stateDir, w.workdir), host: config.hostId,
        ...(w.gpu !== undefined && { gpu: w.gpu }),
      })
      .sadd(keys.workers(), w.id)
      .sadd(keys.workersOfType(w.type), w.id)
      // the first lease covers the start-up; the worker renews it from then on
      .set(keys.lease(w.id), String(w.createdAt), 'PX', firstLeaseMs(w.config))
      .exec();
  }

  function emit(w: ManagedWorker, status: string, extra: Record<string, string | number> = {}): void {
    const fields = Object.entries({ worker: w.id, status, type: w.type, ts: deps.now(), ...extra }).flat().map(String);
    // an event feeds SSE and the dashboard; a lost one is logged, never fatal to the worker
    void redis.xadd(keys.events(), 'MAXLEN', '~', '10000', '*', ...fields)
      .catch((err: unknown) => deps.log('warn', `could not append the ${status} event of ${w.id}: ${String(err)}`));
  }

  function onMessage(w: ManagedWorker, raw: unknown): void {
    const parsed = workerToSpawnerSchema.safeParse(raw);
    if (!parsed.success) return deps.log('warn', `worker ${w.id} sent a malformed message: ${parsed.error.message}`);
    const msg = parsed.data;
    const now = deps.now();
    switch (msg.type) {
      case 'ready': {
        if (w.state === 'starting') w.state = 'ready';
        w.readyAt = now;
        w.lastActivity = now;
        // a version warning names the interpreter: stored for views without it
        const warning = msg.warning && scrubFor(w)(msg.warning);
        void redis.hset(keys.worker(w.id), {
          ready_at: now, ...(msg.runner_pid && { runner_pid: msg.runner_pid }), ...(msg.timings && { boot_timings: JSON.stringify(msg.timings) }),
          ...(warning && { warning }),
        }).catch((err: unknown) => deps.log('warn', `could not record that ${w.id} is ready: ${String(err)}`));
        emit(w, 'ready', { ready_ms: now - w.createdAt, framework: msg.framework, version: msg.version, ...(warning && { warning }) });
        logWorkerReady(deps.log, w, msg, now - w.createdAt);
        deps.metrics?.workerReady(w.type, (msg.timings?.ready_ms ?? now - w.createdAt) / 1000);
        deps.onReady?.(w);
        break;
      }
      case 'failed-to-start':
        w.startError = { code: msg.code, message: msg.message };
        break;
      case 'replace-me':
        w.endReason ??= { kind: 'killed-timeout', detail: `worker replaced: ${msg.reason}` };
        break;
      case 'recycling':
        w.state = 'draining';
        w.endReason ??= { kind: 'stopped', by: `recycle: ${msg.reason}` };
        void redis.hset(keys.worker(w.id), 'status', 'draining')
          .catch((err: unknown) => deps.log('warn', `could not mark ${w.id} draining in Redis: ${String(err)}; its exit record will say how it ended`));
        emit(w, 'draining', { reason: msg.reason });
        break;
      case 'stats':
        deps.metrics?.workerStats(w.type, msg);
        break;
      case 'draining':
        break;
      case 'job-failed':
        logJobFailed(deps.log, w, msg);
        break;
    }
  }

  async function onExit(w: ManagedWorker, code: number | null, signal: string | null): Promise<void> {
    exiting.add(w.id);
    workers.delete(w.id);
    deps.gpus.release(w.id);
    const now = deps.now();
    const reason: ExitReason = w.startError
      ? { kind: 'failed-to-start', ...w.startError }
      : w.endReason ?? (w.state === 'draining' && code === 0 ? { kind: 'drained' } : { kind: 'crashed', code, signal });
    // what is stored for views carries no env value or interpreter path of the type, nor the state folder's path
    // (the host's own console keeps them: rawTail, rawMessage)
    const scrub = scrubFor(w);
    const rawTail = w.proc.stderrTail();
    const info: ExitInfo = {
      reason, code, signal, stderrTail: rawTail.map(scrub), uptimeMs: now - w.createdAt,
      peakRssMb: w.proc.peakRssBytes() > 0 ? Math.round(w.proc.peakRssBytes() / 1048576) : undefined,
    };
    const rawMessage = describeExit(info);
    const message = scrub(rawMessage);
    emit(w, 'exited', { reason: reason.kind, message, ...(code !== null && { code }), ...(signal && { signal }) });
    try {
      // Bounded, so that a stop never waits on a Redis that does not answer: what is
      // left undone here, the lease sweep (of this run or the next) does.
      await withTimeout((async () => {
        const r = await store.requeueWorker(w.id, w.type, exitJobError(info, message, w.id, now), { now, forget: false });
        if (r.requeued + r.failed > 0) deps.log('warn', `${message}: ${w.id} held ${r.requeued + r.failed} job(s); requeued ${r.requeued}, failed ${r.failed}`);
        deps.metrics?.jobsLost(w.type, r.requeued + r.failed);
        await recordExit(redis, keys, w, info, message, now);
      })(), 2 * config.redisTimeoutMs, 'exit record');
    } catch (err) {
      deps.log('error', `could not requeue the jobs of ${w.id}: ${err instanceof Error ? err.message : String(err)}; the lease sweep will`);
    } finally {
      exiting.delete(w.id);
    }
    rmSync(w.workdir, { recursive: true, force: true });
    const unexpected = reason.kind === 'crashed' || reason.kind === 'failed-to-start';
    logWorkerExit(deps.log, w, { ...info, stderrTail: rawTail }, rawMessage);
    if (reason.kind === 'failed-to-start') deps.metrics?.spawnFailure(w.type, reason.code.toLowerCase());
    else if (reason.kind === 'crashed' && w.readyAt === undefined) deps.metrics?.spawnFailure(w.type, 'crashed_before_ready');
    if (unexpected) {
      deps.breaker.recordExit(w.type, info.uptimeMs, reason.kind === 'failed-to-start', message, now);
    } else if (info.uptimeMs >= deps.breaker.opts.youngMs) {
      deps.breaker.recordStable(w.type);
    }
    logTypeState(w.type);
    deps.onExit?.(w, info);
  }

  /** Types last logged as errored: the console gets one line per change, not per exit. */
  const erroredTypes = new Set<string>();

  /** One console line when a type turns errored or recovers (the reconciler publishes the reason). */
  function logTypeState(type: string): void {
    const s = deps.breaker.state(type);
    const errored = Boolean(s.errored && s.reason);
    if (errored === erroredTypes.has(type)) return;
    if (errored) erroredTypes.add(type);
    else erroredTypes.delete(type);
    if (errored) deps.log('error', `worker type ${type} errored: ${s.reason}`, { worker_type: type, state: 'errored' });
    else deps.log('info', `worker type ${type} recovered: a worker ran stably`, { worker_type: type, state: 'ok' });
  }

  const firstLeaseMs = (cfg: WorkerTypeConfig) => config.leaseMs + Math.max(10_000, cfg.startup_time * 3000);
  const newId = (type: string) => `${type}-${randomUUID().slice(0, 8)}`;

  function checkCapacity(type: string, cfg: WorkerTypeConfig): void {
    const live = ofType(type).length;
    if (live >= cfg.max_workers) {
      throw new KilnError('AT_CAPACITY', `worker type "${type}" already has ${live} of max_workers=${cfg.max_workers} workers; stop one or raise max_workers`, { status: 409 });
    }
  }

  /** Set by stopAll: the spawner is shutting down and starts nothing more. */
  let closing = false;

  function start(type: string, id = newId(type)): ManagedWorker {
    if (closing) throw new KilnError('SPAWNER_STOPPING', 'the spawner is shutting down and starts no worker; start it again, or use another spawner', { status: 503 });
    const cfg = typeConfig(type);
    checkCapacity(type, cfg);
    const gpu = gpuEnv(deps.gpus, id, type, cfg);
    const workdir = join(config.stateDir, 'workers', id);
    mkdirSync(workdir, { recursive: true, mode: 0o700 });
    const spawnedAt = performance.timeOrigin + performance.now();
    const env = workerProcessEnv(allowedEnv(process.env), config, type, cfg, { ...gpu.env, LOG_LEVEL: config.logLevel, LOG_FORMAT: config.logFormat, KILN_WORKER: JSON.stringify(workerBoot(config, id, type, cfg, spawnedAt)) });
    let proc: WorkerProcess;
    const output = deps.workerLogs?.open(id);
    try {
      proc = launchWorker({ script: config.workerScript, args: [`--kiln-worker=${id}`], cwd: workdir, env, nodeFlags: config.workerNodeFlags, output });
    } catch (err) {
      void output?.close();
      deps.gpus.release(id);
      deps.metrics?.spawnFailure(type, 'launch_error');
      throw err;
    }
    const now = deps.now();
    const w: ManagedWorker = {
      id, type, config: cfg, proc, state: 'starting', createdAt: now, readyAt: undefined, lastActivity: now,
      running: 0, jobCount: 0, endReason: undefined, startError: undefined, workdir, gpu: gpu.gpu,
      done: Promise.resolve(),
    };
    // The exit is recorded only after the start record landed: a start record written after
    // the exit record would put the worker back in the live set for the lease sweep to find.
    const recorded = recordWorker(w).catch((err: unknown) => deps.log('error', `could not record worker ${id} in Redis: ${String(err)}`));
    w.done = proc.exited.then(async ({ code, signal }) => {
      await withTimeout(recorded, 2 * config.redisTimeoutMs, 'start record').catch(() => undefined); // bounded; logged above when it failed
      await onExit(w, code, signal);
    });
    workers.set(id, w);
    proc.child.on('message', (m) => onMessage(w, m));
    emit(w, 'starting', { pid: proc.pid });
    deps.log('info', `started ${id}`, { worker_id: id, worker_type: type, pid: proc.pid });
    return w;
  }

  /** Ask to drain, then SIGTERM the group, then SIGKILL it. Never throws. */
  async function stop(w: ManagedWorker, opts: { graceMs: number; reason?: ExitReason }): Promise<void> {
    if (opts.reason) w.endReason ??= opts.reason;
    if (w.state !== 'stopping') {
      w.state = 'draining';
      w.proc.send({ v: 1, type: 'drain' });
      void redis.hset(keys.worker(w.id), 'status', 'draining')
          .catch((err: unknown) => deps.log('warn', `could not mark ${w.id} draining in Redis: ${String(err)}; its exit record will say how it ended`));
      emit(w, 'draining');
    }
    const exited = w.done.then(() => true);
    const waited = (ms: number) => Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await waited(opts.graceMs)) return;
    w.state = 'stopping';
    w.proc.signalGroup('SIGTERM');
    if (await waited(config.killGraceMs)) return;
    w.proc.signalGroup('SIGKILL');
    await exited;
  }

  /** Running jobs, last activity and job count of every worker, from Redis (one round trip). */
  async function refresh(): Promise<void> {
    const list = [...workers.values()];
    if (list.length === 0) return;
    const pipe = redis.pipeline();
    for (const w of list) pipe.zcard(keys.active(w.id)).hmget(keys.worker(w.id), 'last_activity', 'job_count');
    const rows = (await pipe.exec()) ?? [];
    list.forEach((w, i) => {
      const running = rows[2 * i]?.[1];
      const [last, count] = (rows[2 * i + 1]?.[1] ?? []) as (string | null)[];
      if (typeof running === 'number') w.running = running;
      if (last) w.lastActivity = Math.max(w.lastActivity, Number(last));
      if (count) w.jobCount = Number(count);
    });
  }

  /**
   * Starts a worker for queued work only if, counting every host's serving workers,
   * the queue needs one more (a spawner sharing Redis may have started it already).
   */
  async function startForDemand(type: string): Promise<ManagedWorker | null> {
    const cfg = typeConfig(type);
    checkCapacity(type, cfg);
    const id = newId(type);
    const now = deps.now();
    const reserved = await store.reserveWorker({ id, type, maxJobs: cfg.max_jobs, host: config.hostId, now, leaseMs: firstLeaseMs(cfg) });
    if (!reserved) return null;
    try {
      return start(type, id);
    } catch (err) {
      await redis.multi().del(keys.worker(id), keys.lease(id)).srem(keys.workers(), id).srem(keys.workersOfType(type), id).exec();
      throw err;
    }
  }

  return {
    workers,
    /** Whether this spawner runs the worker, or is still handling its exit. */
    owns: (id: string) => workers.has(id) || exiting.has(id),
    refresh,
    startForDemand,
    ofType,
    serving,
    typeConfig,
    start,
    stop,
    ensure(type: string): EnsureResult {
      const cfg = typeConfig(type);
      const existing = serving(type)[0];
      if (existing) return { action: 'existing', worker_id: existing.id };
      if (ofType(type).length >= cfg.max_workers) return { action: 'at_capacity', worker_id: null };
      const noGpu = cfg.gpu ? deps.gpus.blockedReason(Math.max(1, cfg.gpus_per_worker)) : undefined;
      if (noGpu) return { action: 'waiting_for_gpu', worker_id: null, reason: noGpu };
      if (!deps.breaker.canStart(type, deps.now())) {
        return { action: 'backing_off', worker_id: null, reason: deps.breaker.state(type).reason ?? 'restarts are backing off' };
      }
      return { action: 'started', worker_id: start(type).id };
    },
    find(id: string): ManagedWorker {
      const w = workers.get(id);
      if (!w) throw new KilnError('WORKER_NOT_FOUND', `no worker ${id} on this spawner; GET /workers/status lists them`, { status: 404 });
      return w;
    },
    /** Stop every worker: drain within graceMs, then signals. Starts nothing from then on. */
    async stopAll(graceMs: number, by: string): Promise<void> {
      closing = true;
      await Promise.all([...workers.values()].map((w) => stop(w, { graceMs, reason: { kind: 'stopped', by } })));
    },
    /** Kill every worker's process group now (a forced stop); their exits are handled as usual. */
    killAll(by: string): void {
      closing = true;
      for (const w of workers.values()) {
        w.endReason ??= { kind: 'stopped', by };
        w.state = 'stopping';
        w.proc.signalGroup('SIGKILL');
      }
    },
  };
}

export type Supervisor = ReturnType<typeof createSupervisor>;
