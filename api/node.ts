/**
 * Node entry of the API: builds real dependencies from the environment and
 * serves the app on API_HOST:API_PORT (default 127.0.0.1:8000).
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DEFAULTS, intEnv, keyPrefix, redisTarget, strEnv, TOKEN_FILE_NAME, type Env } from '../core/config';
import { requestRedisOptions, waitForRedis } from '../core/ioredis-client';
import { applyHttpLimits, httpLimitsFromEnv, httpServerOptions } from '../core/http-limits';
import { eventsTail } from '../core/events-stream';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys, type Keys } from '../core/keys';
import type { RedisPort, StreamEntry } from '../core/redis-port';
import { createLogger, logSettingsFromEnv, type Logger } from '../core/logger';
import { serveWithJsonErrors } from '../core/node-serve';
import { createApp } from './app';
import { pathKnob } from '../spawner/project-root';
import { type ApiConfig, apiConfigFromEnv } from './deps';
import { isLoopbackHostName } from './host-guard';
import { createJobEndWatch, type JobEndWatch } from './job-end-watch';
import { createSpawnerClient } from './spawner-client';

/**
 * The JobEndWatch of a Node API: blocking reads of the events stream on `blocking`, a
 * connection of its own (no other command may share it: XREAD BLOCK holds it).
 */
export function ioredisJobEndWatch(o: { blocking: Redis; port: RedisPort; keys: Keys; logger: Logger; blockMs?: number }): JobEndWatch {
  const events = o.keys.events();
  return createJobEndWatch({
    logger: o.logger,
    ...(o.blockMs !== undefined && { blockMs: o.blockMs }),
    tail: () => eventsTail(o.port, o.keys),
    async read(afterId, blockMs) {
      const reply = await o.blocking.xread('BLOCK', blockMs, 'STREAMS', events, afterId);
      return (reply?.[0]?.[1] ?? []).map(([id, flat]): StreamEntry => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        return { id, fields };
      });
    },
  });
}

function spawnerToken(env: Env): string | undefined {
  if (env.SPAWNER_TOKEN) return env.SPAWNER_TOKEN;
  const file = join(pathKnob(env, 'KILN_STATE_DIR'), TOKEN_FILE_NAME);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The API's console on Node: LOG_LEVEL / LOG_FORMAT lines on stderr (a bad value throws, naming the choices). */
export function apiLogger(env: Env): Logger {
  return createLogger({ component: 'api', ...logSettingsFromEnv(env), now: Date.now, write: (line) => process.stderr.write(`${line}\n`) });
}

/** The API's config on Node: DATA_ROOT defaults as the spawner's (<project>/data), so data_path is always checked. */
export function nodeApiConfig(env: Env): ApiConfig {
  return { ...apiConfigFromEnv(env), dataRoot: pathKnob(env, 'DATA_ROOT') };
}

export function startApiServer(env: Env = process.env, logger: Logger = apiLogger(env)) {
  const config = nodeApiConfig(env);
  const limits = httpLimitsFromEnv(env);
  const hostname = strEnv(env, 'API_HOST');
  if (!config.apiToken && !isLoopbackHostName(hostname)) {
    throw new Error(`API_HOST=${hostname} is not a loopback address, and KILN_API_TOKEN is not set: anyone who can reach that address could submit jobs and read results; set KILN_API_TOKEN (clients send Authorization: Bearer <token>) or bind 127.0.0.1`);
  }
  const redis = new Redis(redisTarget(env).url, { ...requestRedisOptions({ timeoutMs: config.redisTimeoutMs, name: 'kiln-api' }), enableAutoPipelining: true });
  redis.on('error', (err: Error) => logger.warn(`redis: ${err.message}`));
  const redisPort = createIoredisPort(redis);
  const keys = createKeys(keyPrefix(env));
  // ?wait= submits: one blocking connection, opened on the first wait; commands queue until it is up
  const blockMs = 1000;
  const blocking = new Redis(redisTarget(env).url, {
    ...requestRedisOptions({ timeoutMs: config.redisTimeoutMs + blockMs, name: 'kiln-api-waits' }), lazyConnect: true, enableOfflineQueue: true,
  });
  blocking.on('error', (err: Error) => logger.warn(`redis (?wait= watch): ${err.message}`));
  const jobEnds = ioredisJobEndWatch({ blocking, port: redisPort, keys, logger, blockMs });
  const app = createApp({
    logger,
    redis: redisPort,
    keys,
    jobEnds,
    // WORKER_MANAGER_URL='' on purpose: no spawner
    spawner: createSpawnerClient({ url: env.WORKER_MANAGER_URL ?? DEFAULTS.WORKER_MANAGER_URL, token: spawnerToken(env), logger }),
    config,
    now: Date.now,
    newId: () => crypto.randomUUID(),
  });
  const port = intEnv(env, 'API_PORT');
  const server = serveWithJsonErrors({ fetch: app.fetch, hostname, port, serverOptions: httpServerOptions(limits) });
  applyHttpLimits(server, limits);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${hostname}:${port} is in use; set API_PORT to another port`) : err),
    );
  });
  return {
    url: `http://${hostname}:${port}`,
    logger,
    /** Resolves once the port is bound and Redis connected (or after two Redis timeouts: until Redis comes, data routes answer 503). */
    listening: listening.then(() => waitForRedis(redis, redisTarget(env).url, 2 * config.redisTimeoutMs).catch(() => undefined)), // safe: a Redis not yet up is the gate's 503, not a failed start
    /**
     * Stops taking connections; requests in flight get `graceMs` (each Redis call
     * is bounded by KILN_REDIS_TIMEOUT_MS), then open connections (event streams)
     * are cut. Never waits on Redis.
     */
    async close(graceMs = Math.max(1000, 2 * config.redisTimeoutMs)) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      const http = server as { closeIdleConnections?(): void; closeAllConnections?(): void };
      http.closeIdleConnections?.();
      const cut = setTimeout(() => http.closeAllConnections?.(), graceMs);
      await closed;
      clearTimeout(cut);
      jobEnds.stop();
      blocking.disconnect();
      redis.disconnect();
    },
  };
}

