/**
 * Node entry of the API: builds real dependencies from the environment and
 * serves the app on API_HOST:API_PORT (default 127.0.0.1:8000).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { intEnv, keyPrefix, redisTarget, TOKEN_FILE_NAME, type Env } from '../core/config';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys } from '../core/keys';
import { createLogger, logSettingsFromEnv, type Logger } from '../core/logger';
import { serveWithJsonErrors } from '../core/node-serve';
import { createApp } from './app';
import { apiConfigFromEnv } from './deps';
import { createSpawnerClient } from './spawner-client';

function spawnerToken(env: Env): string | undefined {
  if (env.SPAWNER_TOKEN) return env.SPAWNER_TOKEN;
  const file = join(resolve(env.KILN_STATE_DIR || '.kiln'), TOKEN_FILE_NAME);
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

export function startApiServer(env: Env = process.env, logger: Logger = apiLogger(env)) {
  const redis = new Redis(redisTarget(env).url, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  redis.on('error', (err: Error) => logger.warn(`redis: ${err.message}`));
  const app = createApp({
    logger,
    redis: createIoredisPort(redis),
    keys: createKeys(keyPrefix(env)),
    spawner: createSpawnerClient({ url: env.WORKER_MANAGER_URL ?? 'http://127.0.0.1:8001', token: spawnerToken(env) }),
    config: apiConfigFromEnv(env),
    now: Date.now,
    newId: () => crypto.randomUUID(),
  });
  const hostname = env.API_HOST || '127.0.0.1';
  const port = intEnv(env, 'API_PORT', 8000);
  const server = serveWithJsonErrors({ fetch: app.fetch, hostname, port });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${hostname}:${port} is in use; set API_PORT to another port`) : err),
    );
  });
  return {
    url: `http://${hostname}:${port}`,
    logger,
    listening,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      redis.disconnect();
    },
  };
}

