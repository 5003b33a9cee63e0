/**
 * The table of this host's workers: keeps their process handles, starts them,
 * stops and kills them (the only module that does), hears their IPC messages, and
 * on every exit gives their jobs back and records why they ended. Their Redis
 * records are written through the WorkerStore (core/worker-store.ts) only.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
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
import { canTransition, type WorkerStatus } from '../core/worker-states';
import type { WorkerStore } from '../core/worker-store';
import type { Breaker } from './breaker';
import { type GpuAllocator, gpuEnv } from './gpus';
import type { SpawnerConfig } from './config';
import { PROJECT_ROOT } from './project-root';
import type { ExitInfo, ExitReason } from './exit-reason';
import { createExitHandler } from './worker-exit';
import { allowedEnv, launchWorker, signalGroup, type WorkerProcess } from './launcher';
import type { WorkerMetricsSink } from './metrics';
import type { Templates } from './templates';
import { workerBoot, workerProcessEnv } from './worker-boot';
import { logJobFailed, logWorkerReady } from './worker-console';
import type { WorkerLogs } from './worker-logs';

/** What this host knows of a worker's status; busy/idle is `running`, from Redis (the job scripts write it). */
export type WorkerState = Exclude<WorkerStatus, 'busy' | 'exited'>;

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

/** What other modules see of a worker: a snapshot they read; only the supervisor's commands change it. */
export type WorkerSnapshot = Readonly<ManagedWorker>;

export interface SupervisorDeps {
  config: SpawnerConfig;
  redis: Redis;
  store: JobStore;
  workerStore: WorkerStore;
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
  /** Python templates: a worker's runner is forked from its type's template (spawner/templates.ts). */
  templates?: Templates;
}

export function createSupervisor(deps: SupervisorDeps) {
  const { config, redis, store, workerStore } = deps;
  const keys = store.keys;
  const workers = new Map<string, ManagedWorker>();
  /** Workers whose exit is being handled (jobs requeued, record written): still ours, not the lease sweep's. */
  const exiting = new Set<string>();

  /** What a worker's type must not show beyond this host (env values, interpreter, the host's folders), redacted. */
  const folders = [[config.stateDir, '$KILN_STATE_DIR'], [PROJECT_ROOT, '$KILN_ROOT']] as const;
  const scrubFor = (w: ManagedWorker) => hostScrubber(hostSecrets(w.config), folders);
  const ofType = (type: string) => [...workers.values()].filter((w) => w.type === type);
  const serving = (type: string) => ofType(type).filter((w) => w.state === 'starting' || w.state === 'idle');

  function typeConfig(type: string): WorkerTypeConfig {
    const cfg = ownValue(config.types, type);
    if (!cfg) {
      throw new KilnError('UNKNOWN_WORKER_TYPE', `unknown worker type "${type}"; configured types: ${Object.keys(config.types).sort().join(', ')}`, { status: 404 });
    }
    return cfg;
  }

  /** A record write nobody can wait for (an IPC message): the store retried it; say which worker it left stale. */
  const report = (w: ManagedWorker, what: string) => (err: unknown) =>
    deps.log('error', `${w.id}: could not ${what} in Redis: ${err instanceof Error ? err.message : String(err)}; its exit record will say how it ended`, { worker_id: w.id });

  /** Changes this host's state of a worker and writes its record (draining, stopping, errored). */
  function setState(w: ManagedWorker, state: 'draining' | 'stopping' | 'errored', fields: Record<string, string> = {}): void {
    if (!canTransition(w.state, state)) return; // the table (core/worker-states.ts): e.g. a stopping worker is not drained again
    w.state = state;
    void workerStore[state](w, fields).catch(report(w, `mark it ${state}`));
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
        if (w.state === 'starting') w.state = 'idle';
        w.readyAt = now;
        w.lastActivity = now;
        // a version warning names the interpreter: stored for views without it
        const warning = msg.warning && scrubFor(w)(msg.warning);
        void workerStore.markReady(w, {
          ready_at: now, runner_pid: msg.runner_pid || undefined, boot_timings: msg.timings && JSON.stringify(msg.timings), warning: warning || undefined,
        }).catch(report(w, 'record that it is ready'));
        emit(w, 'ready', { ready_ms: now - w.createdAt, framework: msg.framework, version: msg.version, ...(warning && { warning }) });
        logWorkerReady(deps.log, w, msg, now - w.createdAt);
        deps.metrics?.workerReady(w.type, (msg.timings?.ready_ms ?? now - w.createdAt) / 1000);
        deps.onReady?.(w);
        break;
      }
      case 'failed-to-start':
        w.startError = { code: msg.code, message: msg.message };
        setState(w, 'errored', { status_reason: scrubFor(w)(`${msg.code}: ${msg.message}`) });
        break;
      case 'replace-me':
        w.endReason ??= { kind: 'killed-timeout', detail: `worker replaced: ${msg.reason}` };
        break;
      case 'recycling':
        w.endReason ??= { kind: 'stopped', by: `recycle: ${msg.reason}` };
        setState(w, 'draining');
        emit(w, 'draining', { reason: msg.reason });
        break;
      case 'stats':
        deps.metrics?.workerStats(w.type, msg);
        break;
      case 'template-fallback':
        deps.log('warn', `${w.id}: its runner was spawned, not forked from the template: ${scrubFor(w)(msg.reason)}`, { worker_id: w.id });
        deps.templates?.fallback(w.type, msg.reason, msg.unsafe);
        break;
      case 'draining':
        break;
      case 'job-failed':
        logJobFailed(deps.log, w, msg);
        break;
    }
  }

  const handleExit = createExitHandler({ deps, scrubFor, emit });

  /** Runners forked from a template for this worker: outside its process group, killed by pid. */
  const runnerPids = (w: ManagedWorker) => (w.proc.pid > 0 ? deps.templates?.runnerPids(w.proc.pid) ?? [] : []);
  function killRunners(w: ManagedWorker): void {
    for (const pid of runnerPids(w)) signalGroup(pid, 'SIGKILL'); // each runner leads its own group
  }

  async function onExit(w: ManagedWorker, code: number | null, signal: string | null): Promise<void> {
    killRunners(w); // a runner never outlives its worker (it also watches the worker itself)
    exiting.add(w.id);
    workers.delete(w.id);
    deps.gpus.release(w.id);
    await handleExit(w, code, signal, () => exiting.delete(w.id));
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
    const templateSocket = deps.templates?.socketFor(type, cfg);
    const env = workerProcessEnv(allowedEnv(process.env), config, type, cfg, {
      ...gpu.env, LOG_LEVEL: config.logLevel, LOG_FORMAT: config.logFormat, KILN_WORKER: JSON.stringify(workerBoot(config, id, type, cfg, spawnedAt)),
      ...(templateSocket && { KILN_TEMPLATE_SOCKET: templateSocket }),
    });
    let proc: WorkerProcess;
    const output = deps.workerLogs?.open(id);
    try {
      const extraPids = () => (deps.templates && proc ? deps.templates.runnerPids(proc.pid) : []);
      proc = launchWorker({ script: config.workerScript, args: [`--kiln-worker=${id}`], cwd: workdir, env, nodeFlags: config.workerNodeFlags, output, extraPids });
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
    const recorded = workerStore.register({
      id, type, pid: proc.pid, maxJobs: cfg.max_jobs, host: config.hostId, workingDirectory: relative(config.stateDir, workdir), gpu: gpu.gpu, now,
      leaseMs: firstLeaseMs(cfg),
    });
    w.done = proc.exited.then(async ({ code, signal }) => {
      // bounded: an exit is handled even when the start record never landed (the lease sweep cleans up after it)
      await withTimeout(recorded, 2 * config.redisTimeoutMs, 'start record').catch(report(w, 'record its start'));
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
    if (canTransition(w.state, 'draining')) {
      setState(w, 'draining');
      w.proc.send({ v: 1, type: 'drain' });
      emit(w, 'draining');
    }
    const exited = w.done.then(() => true);
    const waited = (ms: number) => Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await waited(opts.graceMs)) return;
    setState(w, 'stopping');
    w.proc.signalGroup('SIGTERM');
    if (await waited(config.killGraceMs)) return;
    w.proc.signalGroup('SIGKILL');
    killRunners(w);
    await exited;
  }

  /** SIGKILL the worker's process group now (memory limit, forced stop); its exit is handled as usual. */
  function kill(w: ManagedWorker, reason: ExitReason): void {
    w.endReason ??= reason;
    setState(w, 'stopping');
    w.proc.signalGroup('SIGKILL');
    killRunners(w);
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
   * the queue needs one more (a spawner sharing Redis may have started it already);
   * `atLeastOne` (ensure): also when no worker serves the type anywhere.
   */
  async function startForDemand(type: string, opts: { atLeastOne?: boolean } = {}): Promise<ManagedWorker | null> {
    const cfg = typeConfig(type);
    checkCapacity(type, cfg);
    const id = newId(type);
    const now = deps.now();
    const reserved = await workerStore.reserve({ id, type, maxJobs: cfg.max_jobs, host: config.hostId, now, leaseMs: firstLeaseMs(cfg), minServing: opts.atLeastOne ? 1 : 0 });
    if (!reserved) return null;
    try {
      return start(type, id);
    } catch (err) {
      await workerStore.forget({ id, type });
      throw err;
    }
  }

  return {
    /** This host's workers, read-only: change them through start/stop/kill. */
    workers: workers as ReadonlyMap<string, WorkerSnapshot>,
    /** Whether this spawner runs the worker, or is still handling its exit. */
    owns: (id: string) => workers.has(id) || exiting.has(id),
    refresh,
    startForDemand: startForDemand as (type: string, opts?: { atLeastOne?: boolean }) => Promise<WorkerSnapshot | null>,
    ofType: ofType as (type: string) => WorkerSnapshot[],
    serving: serving as (type: string) => WorkerSnapshot[],
    typeConfig,
    start: (type: string): WorkerSnapshot => start(type),
    /** Ask to drain, then SIGTERM, then SIGKILL. */
    stop: (w: WorkerSnapshot, opts: { graceMs: number; reason?: ExitReason }) => stop(w as ManagedWorker, opts),
    find(id: string): WorkerSnapshot {
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
      for (const w of workers.values()) kill(w, { kind: 'stopped', by });
    },
    kill: (w: WorkerSnapshot, reason: ExitReason) => kill(w as ManagedWorker, reason),
  };
}

export type Supervisor = ReturnType<typeof createSupervisor>;
