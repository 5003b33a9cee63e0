/**
 * The spawner daemon's composition root: Redis, the supervisor, the reconcile
 * loop, recovery, and the HTTP server with the control API (and the REST gateway).
 */
import { Hono } from 'hono';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { requestRedisOptions, waitForRedis } from '../core/ioredis-client';
import { applyHttpLimits, httpServerOptions } from '../core/http-limits';
import { endBodyOfHead } from '../core/head-requests';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { createWorkerStore } from '../core/worker-store';
import { createLogger, type LogFn, type Logger, loggerFromFn } from '../core/logger';
import { ensureArtifactKey } from './artifact-key';
import { serveWithJsonErrors } from '../core/node-serve';
import { createBreaker } from './breaker';
import { createEnsure } from './ensure';
import { createFunctionNames } from './function-names';
import { withTimeout } from '../core/redis-gate';
import type { SpawnerConfig } from './config';
import { createControlApi, spawnerNotFound, spawnerOnError } from './control-api';
import { createGpuAllocator, discoverGpus } from './gpus';
import { createSpawnerMetrics } from './metrics';
import { metricsRoute } from './metrics-route';
import { createQueueExpiry } from './queue-expiry';
import { createReconciler } from './reconciler';
import { mountRedisGateway } from './redis-gateway-mount';
import { createResourceWatch } from './resources';
import { createRecovery } from './recovery';
import { checkRedisSafety } from './redis-safety';
import { closeServer } from './close-server';
import { spawnerRedisGate } from './redis-trouble';
import { prepareSpawnerFolders } from './state-dir';
import { createSupervisor } from './supervisor';
import { createTemplates } from './templates';
import { ensureToken, TOKEN_HINT } from './token';
import { publishTypes } from './type-registry';
import { createWorkerLogs } from './worker-logs';

/** The spawner's console: LOG_LEVEL / LOG_FORMAT lines on stderr. */
export const consoleLogger = (config: Pick<SpawnerConfig, 'logLevel' | 'logFormat'>): Logger =>
  createLogger({ component: 'spawner', level: config.logLevel, format: config.logFormat, now: Date.now, write: (line) => process.stderr.write(`${line}\n`) });

/** `logTo`: a Logger, or a bare function that receives every line (tests); default: the console. */
export async function startSpawner(config: SpawnerConfig, logTo: Logger | LogFn = consoleLogger(config)) {
  const logger: Logger = typeof logTo === 'function' ? loggerFromFn(logTo) : logTo;
  const log: LogFn = logger.log;
  prepareSpawnerFolders(config, (m) => log('warn', m));
  const token = ensureToken(config.stateDir, config.token);
  ensureArtifactKey(config.artifactKeyFile);
  const redisOptions = (name: string) => requestRedisOptions({ timeoutMs: config.redisTimeoutMs, name: `${name}-${config.hostId}` });
  const redis = new Redis(config.redisUrl, { ...redisOptions('kiln-spawner'), enableAutoPipelining: true });
  redis.on('error', (err: Error) => log('warn', `redis: ${err.message}`));
  await waitForRedis(redis, config.redisUrl, Math.max(5000, 5 * config.redisTimeoutMs)).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  await checkRedisSafety(redis, { strict: config.strictRedis, log });

  const keys = createKeys(config.prefix);
  // KILN_FUNCTIONS_MODULE: a wrong path stops the start here; the names go to Redis for the API
  const functionNames = createFunctionNames({
    redis, keys, hostId: config.hostId, modulePath: config.functionsModule, cwd: process.cwd(), log,
    onChange: () => {
      for (const w of supervisor.workers.values()) {
        if (w.config.framework !== 'node' || (w.state !== 'idle' && w.state !== 'starting')) continue;
        void supervisor.stop(w, { graceMs: config.drainGraceMs, reason: { kind: 'stopped', by: 'KILN_FUNCTIONS_MODULE changed' } });
      }
    },
  });
  await functionNames.start().catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const redisPort = createIoredisPort(redis);
  const store = createJobStore(redisPort, { keys, ...config.jobRecords });
  const workerStore = createWorkerStore(redisPort, { keys, log });
  const breaker = createBreaker(config.breaker);
  const now = Date.now;
  const redisGate = spawnerRedisGate({ port: redisPort, keys, now, timeoutMs: config.redisTimeoutMs, log });
  const discovered = discoverGpus(config.gpusOverride);
  const gpus = createGpuAllocator(discovered.gpus);
  log('info', `GPUs: ${discovered.gpus.length === 0 ? 'none' : discovered.gpus.map((g) => `${g.index}:${g.name}`).join(', ')} (${discovered.source})`);
  const workerLogs = createWorkerLogs({ dir: join(config.stateDir, 'logs', 'workers'), maxBytes: config.workerLogMaxBytes, now, log });
  const templates = createTemplates({ config, log, now });
  const metrics = createSpawnerMetrics({ redis, redisGate, keys, types: Object.keys(config.types), workers: () => supervisor.workers.values(), templates: templates.status, log });
  const supervisor = createSupervisor({ config, redis, store, workerStore, breaker, gpus, now, log, workerLogs, metrics: metrics.sink, templates });
  const ensure = createEnsure({ supervisor, breaker, gpus, now });
  const publishHost = () =>
    redis.hset(keys.hosts(), config.hostId, JSON.stringify({ gpus: gpus.gpus.length, gpus_free: gpus.free(), gpu_names: gpus.gpus.map((g) => g.name), types: Object.keys(config.types), heartbeat: now() }));
  await publishHost();
  const recovery = createRecovery({ redis, keys, store, workerStore, hostId: config.hostId, now, log, isMine: (id) => supervisor.owns(id), metrics: metrics.sink });

  // Tell APIs which worker types exist (enqueue refuses others): env names only, no interpreter.
  await publishTypes({ redis, port: createIoredisPort(redis), keys, log }, config.types, config.hostId);
  const recovered = await recovery.recoverHost();
  if (recovered > 0) log('warn', `recovered ${recovered} worker(s) left by a previous run`);

  const expiry = createQueueExpiry({ store, now, log, metrics: metrics.sink });
  const resources = createResourceWatch({ workerStore, supervisor, drainGraceMs: config.drainGraceMs, log, sampleGpus: discovered.source === 'nvidia-smi' });
  const reconciler = createReconciler({
    config, redis, keys, supervisor, breaker, now, log,
    blockedReason(type) {
      const cfg = config.types[type];
      return cfg?.gpu ? gpus.blockedReason(Math.max(1, cfg.gpus_per_worker)) : undefined;
    },
    async extraTick() {
      templates.tick();
      await publishHost();
      await resources.tick();
      await store.promoteDelayed(now());
      await expiry.tick();
      await recovery.sweepLeases();
    },
  });

  const app = new Hono();
  app.notFound(spawnerNotFound);
  app.onError(spawnerOnError(log));
  app.use('*', endBodyOfHead());
  // The Upstash-compatible REST gateway lets workerd (wrangler dev) reach this Redis; off unless KILN_REDIS_GATEWAY=on.
  const gateway = mountRedisGateway(app, config, { log, spawnerToken: token });
  app.route('/', metricsRoute({ registry: metrics.registry, token, open: config.metricsOpen, tokenHint: TOKEN_HINT }));
  app.route('/', createControlApi({ config, token, redis, redisGate, keys, store, supervisor, ensure, startedAt: now(), now, log, workerLogs, templates: templates.status }));
  const server = serveWithJsonErrors({ fetch: app.fetch, hostname: config.host, port: config.port, serverOptions: httpServerOptions(config.http) });
  applyHttpLimits(server, config.http);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) => {
      redis.disconnect();
      gateway.close();
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${config.host}:${config.port} is in use; set SPAWNER_PORT to another port (or stop the other spawner)`) : err);
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  templates.startEager();
  reconciler.start();
  workerLogs.start();
  log('info', `listening on http://${config.host}:${port} (redis ${config.redisUrl.replace(/\/\/[^@]*@/, '//***@')}, prefix ${config.prefix})`);

  let stopping: Promise<void> | undefined;
  let forced = false;
  return {
    url: `http://${config.host}:${port}`,
    /** The HTTP app (its routes: tests list them). */
    app,
    token,
    /** The REST gateway's own token; undefined when the gateway is off. */
    gatewayToken: gateway.token,
    supervisor,
    /** This host's Python templates. */
    templates,
    /** Makes sure a worker of a type serves (POST /workers/ensure/{type}). */
    ensure,
    reconciler,
    redis,
    keys,
    workerLogs,
    /** The spawner's console (LOG_LEVEL / LOG_FORMAT). */
    logger,
    /**
     * Stops within about graceMs whether or not Redis answers: workers drain, then
     * get SIGTERM and SIGKILL in time for their exits to be recorded (each Redis
     * call bounded; the lease sweep of the next run does what is left). A call
     * with graceMs 0 while stopping (a second Ctrl-C) kills the workers at once.
     */
    stop(graceMs = config.drainGraceMs): Promise<void> {
      if (stopping) {
        if (graceMs === 0 && !forced) {
          forced = true;
          supervisor.killAll('spawner shutdown (forced)');
        }
        return stopping;
      }
      // the drain leaves room for SIGTERM → kill grace → SIGKILL and the bounded Redis steps after it
      const drainMs = Math.max(0, graceMs - config.killGraceMs - 3 * config.redisTimeoutMs);
      stopping = (async () => {
        const unregister = withTimeout(functionNames.stop(), config.redisTimeoutMs, 'function names')
          .catch((err: unknown) => log('warn', `could not take back this host's function names: ${String(err)}`));
        await Promise.all([reconciler.stop(), supervisor.stopAll(drainMs, 'spawner shutdown'), unregister]);
        await Promise.all([workerLogs.stop(), templates.stopAll()]);
        await closeServer(server, config.redisTimeoutMs);
        redis.disconnect();
        gateway.close();
      })();
      return stopping;
    },
  };
}

export type SpawnerHandle = Awaited<ReturnType<typeof startSpawner>>;
