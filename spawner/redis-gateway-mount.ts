/**
 * Puts the REST gateway under /redis on the spawner's HTTP app when
 * KILN_REDIS_GATEWAY is on — with its own token and a Redis connection to the
 * configured database — and otherwise answers /redis/* with a 404 that says how
 * to turn it on.
 */
import type { Context, Hono } from 'hono';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { KilnError } from '../core/errors';
import type { LogFn } from '../core/logger';
import type { SpawnerConfig } from './config';
import { createRedisGateway } from './redis-gateway';
import { REDIS_GATEWAY_TOKEN_FILE } from './redis-gateway-config';
import { ensureTokenFile } from './token';

export interface MountedRedisGateway {
  /** The gateway's bearer token; undefined when it is off. */
  token: string | undefined;
  close(): void;
}

type GatewaySettings = Pick<SpawnerConfig, 'redisGateway' | 'redisUrl' | 'prefix' | 'stateDir' | 'hostId'>;

export const REDIS_GATEWAY_OFF_MESSAGE =
  'the REST gateway is off: start the spawner with KILN_REDIS_GATEWAY=on (npm run dev:edge does) to serve Redis to workerd at /redis';

export function mountRedisGateway(app: Hono, config: GatewaySettings, deps: { log: LogFn; spawnerToken: string }): MountedRedisGateway {
  if (!config.redisGateway.enabled) {
    // Upstash's error shape: its SDK shows `error` as the message.
    const off = (c: Context) => c.json({ error: REDIS_GATEWAY_OFF_MESSAGE, code: 'REDIS_GATEWAY_OFF' }, 404);
    app.all('/redis', off);
    app.all('/redis/*', off);
    return { token: undefined, close() {} };
  }
  const tokenPath = join(config.stateDir, REDIS_GATEWAY_TOKEN_FILE);
  const token = ensureTokenFile(tokenPath, config.redisGateway.token);
  if (token === deps.spawnerToken) {
    throw new KilnError('BAD_CONFIG', `the REST gateway token (${config.redisGateway.token ? 'KILN_REDIS_GATEWAY_TOKEN' : tokenPath}) must differ from the spawner token; change one of them`, { status: 500 });
  }
  const gateway = createRedisGateway({
    token,
    prefix: config.prefix,
    timeoutMs: config.redisGateway.timeoutMs,
    log: deps.log,
    connect: () => new Redis(config.redisUrl, { protocol: 2, maxRetriesPerRequest: 1, connectionName: `kiln-gateway-${config.hostId}` }),
  });
  app.route('/redis', gateway.app);
  deps.log('info', `REST gateway on at /redis (keys under {${config.prefix}}:, token ${config.redisGateway.token ? 'from KILN_REDIS_GATEWAY_TOKEN' : `in ${tokenPath}`})`);
  return { token, close: gateway.close };
}
