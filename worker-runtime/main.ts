/**
 * Entry of a worker process, forked by the spawner with an IPC channel and its
 * boot description in KILN_WORKER. The composition root of the worker: the only
 * place that builds real Redis clients and the executor.
 */
// first: a Python worker asks its type's template for the runner while the rest loads
import { preforked } from './runner-prefork';
import { Redis } from 'ioredis';
import { DEFAULTS, EVENTS_MAXLEN } from '../core/config';
import { createIoredisPort } from '../core/ioredis-port';
import { createWorkerStore } from '../core/worker-store';
import { createJobStore } from '../core/job-store';
import { createModelCacheCounts, type ModelCacheCounts } from '../core/job-stats';
import { createModelAdvert } from './model-advert';
import { createKeys } from '../core/keys';
import { createLogger, type LogLevel, type LogFn, parseLogFormat, parseLogLevel } from '../core/logger';
import { type BootTimings, spawnerToWorkerSchema, type WorkerBoot, workerBootSchema, type WorkerToSpawner } from '../core/schemas/ipc';
import { type Executor, ExecutorStartError } from './executor';
import { builtinFunctions } from './functions/builtins';
import { installJobConsole } from './job-console';
import { createJobLogWriter, logConnectionOptions } from './job-log-writer';
import { createNodeExecutor, loadFunctions } from './node-executor';
import { createPythonExecutor } from './python-executor';
import { RUNNER_PATH, runnerOptions } from './runner-options';
import { createWorker } from './worker';


/** When this module began to run (ms since the epoch): every import above is loaded by now. */
const codeStartedAt = performance.timeOrigin + performance.now();

const EXIT_FAILED_TO_START = 78;
const EXIT_ABANDONED = 75;

/**
 * LOG_LEVEL and LOG_FORMAT come from the spawner's config (KILN_WORKER_DEBUG=1 is kept
 * as an alias of LOG_LEVEL=debug). Lines go to stderr, which the spawner writes to
 * this worker's log file. A bad value is reported once and the default used: the
 * spawner has validated its own already.
 */
function workerLogger(env: NodeJS.ProcessEnv): LogFn {
  const problems: string[] = [];
  const parse = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      problems.push((err as Error).message);
      return fallback;
    }
  };
  const debug = env.KILN_WORKER_DEBUG && !['0', 'false', 'no', 'off'].includes(env.KILN_WORKER_DEBUG.toLowerCase());
  const level: LogLevel = debug ? 'debug' : parse(() => parseLogLevel(env.LOG_LEVEL), DEFAULTS.LOG_LEVEL);
  const format = parse(() => parseLogFormat(env.LOG_FORMAT), DEFAULTS.LOG_FORMAT);
  const id = /^--kiln-worker=(.+)$/.exec(process.argv[2] ?? '')?.[1];
  const logger = createLogger({
    component: 'worker', level, format, now: Date.now, fields: { ...(id && { worker_id: id }), pid: process.pid },
    write: (line) => process.stderr.write(`${line}\n`),
  });
  for (const p of problems) logger.warn(p);
  return logger.log;
}

const log = workerLogger(process.env);

function send(msg: WorkerToSpawner): void {
  if (process.connected) process.send?.(msg);
}

/** Sends, resolving once the message is written (or could not be): for the last message before an exit. */
function sendNow(msg: WorkerToSpawner): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

/** Where this worker's start went (see BootTimings); `readyAt` is now. */
function bootTimings(boot: WorkerBoot, readyAt: number, importMs: number | undefined): BootTimings | undefined {
  if (boot.spawned_at === undefined) return undefined;
  const frameworkImport = boot.framework === 'node' ? null : importMs ?? null;
  return {
    spawn_ms: Math.round(codeStartedAt - boot.spawned_at),
    process_ms: Math.round(performance.timeOrigin - boot.spawned_at),
    runtime_ready_ms: Math.round(readyAt - codeStartedAt - (frameworkImport ?? 0)),
    framework_import_ms: frameworkImport === null ? null : Math.round(frameworkImport),
    ready_ms: Math.round(readyAt - boot.spawned_at),
  };
}

/** The live Python runner's pid, once the executor exists. */
let executorPid: () => number | undefined = () => undefined;

async function makeExecutor(boot: WorkerBoot, onModelCache: (m: ModelCacheCounts & { models?: string[] }) => void): Promise<Executor> {
  if (boot.framework === 'node') return createNodeExecutor(await loadFunctions(builtinFunctions, boot.functions_module), installJobConsole());
  const executor = createPythonExecutor({
    ...runnerOptions(boot),
    runnerPath: RUNNER_PATH,
    firstRunner: preforked,
    expectedVersion: boot.version,
    versionPolicy: boot.version_policy,
    cancelGraceMs: boot.cancel_grace_ms,
    // set by the spawner when the type's template runs: the runner is forked from it
    templateSocket: process.env.KILN_TEMPLATE_SOCKET || undefined,
    onTemplateFallback: (reason, unsafe) => send({ v: 1, type: 'template-fallback', reason: reason.slice(0, 2000), unsafe }),
    onLog: (level, message) => log(level, `[runner] ${message}`),
    onModelCache,
  });
  executorPid = executor.pid;
  return executor;
}

async function main(): Promise<void> {
  const boot = workerBootSchema.parse(JSON.parse(process.env.KILN_WORKER ?? '{}'));
  // No process outlives its parent. The worker leads its process group: when the
  // spawner's channel closes, take the group (runner, anything a job started) along.
  const leave = () => {
    try {
      // a runner forked from a template leads a group of its own
      const runner = executorPid();
      if (runner) process.kill(-runner, 'SIGKILL');
    } catch {
      // gone already
    }
    try {
      process.kill(-process.pid, 'SIGKILL');
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', leave);
  // The channel may have closed while this module was still loading (before the
  // listener existed); and a check every second costs nothing.
  if (!process.connected) leave();
  setInterval(() => {
    if (!process.connected) leave();
  }, 1000).unref();
  const redisOpts = { maxRetriesPerRequest: null, enableAutoPipelining: true, connectionName: `kiln-worker-${boot.worker_id}` };
  const redis = new Redis(boot.redis_url, redisOpts);
  const blocking = new Redis(boot.redis_url, { ...redisOpts, enableAutoPipelining: false, lazyConnect: false });
  for (const c of [redis, blocking]) c.on('error', (err: Error) => log('warn', `redis: ${err.message}`));
  const keys = createKeys(boot.prefix);
  // Job logs get a connection of their own (see logConnectionOptions).
  const logRedis = new Redis(boot.redis_url, logConnectionOptions(boot.worker_id));
  logRedis.on('error', () => {}); // each failed flush is counted and reported by the writer
  const logs = createJobLogWriter({ redis: logRedis, keys, workerId: boot.worker_id, log });
  const store = createJobStore(createIoredisPort(redis), {
    keys, succeededRetentionMs: boot.succeeded_retention_ms, failedRetentionMs: boot.failed_retention_ms, eventsMaxLen: EVENTS_MAXLEN,
    affinityWaitMs: boot.affinity_wait_ms,
  });

  let executor: Executor;
  let ready;
  let startWaitMs = 0;
  const modelCache = createModelCacheCounts();
  try {
    const advertise = boot.affinity_wait_ms === undefined ? undefined : createModelAdvert(store, boot.worker_id, log);
    executor = await makeExecutor(boot, (m) => {
      modelCache.add(m);
      if (m.models) advertise?.(m.models);
    });
    const asked = performance.now();
    ready = await executor.start();
    // a runner forked while the worker loaded (runner-prefork.ts) kept its fork → ready off the critical path
    startWaitMs = performance.now() - asked;
  } catch (err) {
    const code = err instanceof ExecutorStartError ? err.code : 'START_FAILED';
    const message = err instanceof Error ? err.message : String(err);
    log('error', `failed to start: ${message}`);
    send({ v: 1, type: 'failed-to-start', code, message });
    setTimeout(() => process.exit(EXIT_FAILED_TO_START), 50);
    return;
  }

  let timings: BootTimings | undefined;
  const worker = createWorker({
    boot, redis, blocking, store, workerStore: createWorkerStore(createIoredisPort(redis), { keys, log }), executor, log, logs,
    droppedLogLines: () => logs.droppedLines(),
    modelCacheStats: modelCache.take,
    coldStart: () => timings && boot.spawned_at !== undefined ? {
      spawnedAt: boot.spawned_at,
      timings: { spawn_ms: timings.spawn_ms, runtime_ready_ms: timings.runtime_ready_ms, framework_import_ms: timings.framework_import_ms },
    } : undefined,
    reportStats: (delta) => sendNow({ v: 1, type: 'stats', ...delta }),
    abandonAfterMs: boot.framework === 'node' ? boot.cancel_grace_ms : boot.cancel_grace_ms + 2000,
    now: Date.now,
    onJobFailed({ job, error, outcome }) {
      send({ v: 1, type: 'job-failed', job_id: job.id, outcome, error_type: error.type, message: error.message.slice(0, 2000), attempt: job.attempts, max_attempts: job.max_attempts });
    },
    abandon(reason) {
      log('error', `${reason}; exiting so the spawner replaces this worker`);
      send({ v: 1, type: 'replace-me', reason });
      void executor.stop().finally(() => process.exit(EXIT_ABANDONED));
    },
  });

  process.on('message', (raw) => {
    const msg = spawnerToWorkerSchema.safeParse(raw);
    if (!msg.success) return log('warn', `ignored a malformed message from the spawner: ${msg.error.message}`);
    if (msg.data.type === 'drain') {
      log('info', `draining: ${worker.running.size} job(s) running`);
      send({ v: 1, type: 'draining', running: worker.running.size });
      void worker.drain().then(async () => {
        await executor.stop();
        await logs.close();
        redis.disconnect();
        blocking.disconnect();
        process.exit(0);
      });
    } else if (msg.data.type === 'cancel') {
      worker.cancel(msg.data.job_id, msg.data.reason);
    }
  });
  process.on('SIGTERM', () => {
    void worker.drain().then(() => process.exit(0));
  });

  await redis.ping();
  timings = bootTimings(boot, performance.timeOrigin + performance.now(), ready.importMs === undefined ? undefined : Math.min(ready.importMs, startWaitMs));
  const runnerPid = 'pid' in executor && typeof executor.pid === 'function' ? (executor.pid() as number | undefined) : undefined;
  send({ v: 1, type: 'ready', pid: process.pid, framework: ready.framework, version: ready.version, ...(runnerPid && { runner_pid: runnerPid }), ...(ready.python && { python: ready.python }), ...(ready.cuda !== undefined && { cuda: ready.cuda }), ...(ready.warning && { warning: ready.warning }), ...(timings && { timings }) });
  log('info', `ready: ${ready.framework} ${ready.version}`);
  const loop = worker.start();
  // Cancel requests arrive over pub/sub (a third connection, opened after the worker is ready).
  const sub = new Redis(boot.redis_url, { ...redisOpts, enableAutoPipelining: false });
  sub.on('error', (err: Error) => log('warn', `redis (cancel channel): ${err.message}`));
  sub.on('message', (_channel: string, jobId: string) => worker.cancel(jobId, 'cancelled by request'));
  await sub.subscribe(keys.cancelChannel(boot.worker_id));
  if ((await loop) === 'recycle') {
    send({ v: 1, type: 'recycling', reason: `took its ${boot.max_total_jobs} jobs (recycle_after_jobs)` });
    await worker.drain();
    await executor.stop();
    await logs.close();
    process.exit(0);
  }
}

main().catch((err: unknown) => {
  log('error', `worker crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
