/**
 * The spawner daemon's composition root: Redis, the supervisor, the reconcile
 * loop, recovery, and the HTTP server with the control API (and the REST gateway).
 */
import { Hono } from 'hono';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { endBodyOfHead } from '../core/head-requests';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { createLogger, type LogFn, type Logger, loggerFromFn } from '../core/logger';
import { serveWithJsonErrors } from '../core/node-serve';
import { createBreaker } from './breaker';
import type { SpawnerConfig } from './config';
import { createControlApi, spawnerNotFound, spawnerOnError } from './control-api';
import { createGpuAllocator, discoverGpus } from './gpus';
import { createSpawnerMetrics } from './metrics';
import { metricsRoute } from './metrics-route';
import { createReconciler } from './reconciler';
import { createRedisGateway } from './redis-gateway';
import { createResourceWatch } from './resources';
import { createRecovery } from './recovery';
import { checkRedisSafety } from './redis-safety';
import { createSupervisor } from './supervisor';
import { ensureToken } from './token';
import { createWorkerLogs } from './worker-logs';

/** The spawner's console: LOG_LEVEL / LOG_FORMAT lines on stderr. */
export const consoleLogger = (config: Pick<SpawnerConfig, 'logLevel' | 'logFormat'>): Logger =>
  createLogger({ component: 'spawner', level: config.logLevel, format: config.logFormat, now: Date.now, write: (line) => process.stderr.write(`${line}\n`) });

/** `logTo`: a Logger, or a bare function that receives every line (tests); default: the console. */
export async function startSpawner(config: SpawnerConfig, logTo: Logger | LogFn = consoleLogger(config)) {
  const logger: Logger = typeof logTo === 'function' ? loggerFromFn(logTo) : logTo;
  const log: LogFn = logger.log;
  const token = ensureToken(config.stateDir, config.token);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, enableAutoPipelining: true, connectionName: `kiln-spawner-${config.hostId}` });
  redis.on('error', (err: Error) => log('warn', `redis: ${err.message}`));
  await redis.ping();
  await checkRedisSafety(redis, { strict: config.strictRedis, log });

  const keys = createKeys(config.prefix);
  const store = createJobStore(createIoredisPort(redis), { keys });
  const breaker = createBreaker(config.breaker);
  const now = Date.now;
  const discovered = discoverGpus(config.gpusOverride);
  const gpus = createGpuAllocator(discovered.gpus);
  log('info', `GPUs: ${discovered.gpus.length === 0 ? 'none' : discovered.gpus.map((g) => `${g.index}:${g.name}`).join(', ')} (${discovered.source})`);
  const workerLogs = createWorkerLogs({ dir: join(config.stateDir, 'logs', 'workers'), maxBytes: config.workerLogMaxBytes, now, log });
  const metrics = createSpawnerMetrics({ redis, keys, types: Object.keys(config.types), workers: () => supervisor.workers.values(), log });
  const supervisor = createSupervisor({ config, redis, store, breaker, gpus, now, log, workerLogs, metrics: metrics.sink });
  const publishHost = () =>
    redis.hset(keys.hosts(), config.hostId, JSON.stringify({ gpus: gpus.gpus.length, gpus_free: gpus.free(), gpu_names: gpus.gpus.map((g) => g.name), types: Object.keys(config.types), heartbeat: now() }));
  await publishHost();
  const recovery = createRecovery({ redis, keys, store, hostId: config.hostId, now, log, isMine: (id) => supervisor.owns(id), metrics: metrics.sink });

  // Tell APIs which worker types exist (enqueue refuses others).
  const registry = redis.multi();
  for (const [name, cfg] of Object.entries(config.types)) registry.hset(keys.types(), name, JSON.stringify({ ...cfg, python: undefined, host: config.hostId }));
  await registry.exec();
  const recovered = await recovery.recoverHost();
  if (recovered > 0) log('warn', `recovered ${recovered} worker(s) left by a previous run`);

  const resources = createResourceWatch({ redis, keys, supervisor, drainGraceMs: config.drainGraceMs, log, sampleGpus: discovered.source === 'nvidia-smi' });
  const reconciler = createReconciler({
    config, redis, keys, supervisor, breaker, now, log,
    blockedReason(type) {
      const cfg = config.types[type];
      return cfg?.gpu ? gpus.blockedReason(Math.max(1, cfg.gpus_per_worker)) : undefined;
    },
    async extraTick() {
      await publishHost();
      await resources.tick();
      await store.promoteDelayed(now());
      await recovery.sweepLeases();
    },
  });

  // The Upstash-compatible REST gateway lets workerd (wrangler dev) reach this Redis.
  const gatewayRedis = new Redis(config.redisUrl, { protocol: 2, maxRetriesPerRequest: 1, connectionName: `kiln-gateway-${config.hostId}` });
  gatewayRedis.on('error', (err: Error) => log('warn', `redis (gateway): ${err.message}`));
  const app = new Hono();
  app.notFound(spawnerNotFound);
  app.onError(spawnerOnError(log));
  app.use('*', endBodyOfHead());
  app.route('/redis', createRedisGateway({ redis: gatewayRedis, token }));
  app.route('/', metricsRoute({ registry: metrics.registry, token, open: config.metricsOpen, tokenHint: `SPAWNER_TOKEN or ${config.stateDir}/spawner.token` }));
  app.route('/', createControlApi({ config, token, redis, keys, supervisor, startedAt: now(), now, log, workerLogs }));
  const server = serveWithJsonErrors({ fetch: app.fetch, hostname: config.host, port: config.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) => {
      redis.disconnect();
      gatewayRedis.disconnect();
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${config.host}:${config.port} is in use; set SPAWNER_PORT to another port (or stop the other spawner)`) : err);
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  reconciler.start();
  workerLogs.start();
  log('info', `listening on http://${config.host}:${port} (redis ${config.redisUrl.replace(/\/\/[^@]*@/, '//***@')}, prefix ${config.prefix})`);

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${config.host}:${port}`,
    token,
    /** The HTTP app (its `routes` list what the spawner serves: the fuzz reads them). */
    app,
    supervisor,
    reconciler,
    redis,
    keys,
    workerLogs,
    /** The spawner's console (LOG_LEVEL / LOG_FORMAT). */
    logger,
    /** Drain workers within graceMs, then stop them, and close everything. */
    stop(graceMs = config.drainGraceMs): Promise<void> {
      stopping ??= (async () => {
        await reconciler.stop();
        await supervisor.stopAll(graceMs, 'spawner shutdown');
        await workerLogs.stop();
        await new Promise<void>((r) => server.close(() => r()));
        redis.disconnect();
        gatewayRedis.disconnect();
      })();
      return stopping;
    },
  };
}

export type SpawnerHandle = Awaited<ReturnType<typeof startSpawner>>;
