/**
 * The REST gateway's knobs, read once from the environment by loadSpawnerConfig:
 *   KILN_REDIS_GATEWAY=on            mount it at /redis (off by default; `npm run dev:edge` turns it on)
 *   KILN_REDIS_GATEWAY_TOKEN         its bearer token; unset: generated into <state>/redis-gateway.token
 *   KILN_REDIS_GATEWAY_TIMEOUT_MS    no reply from Redis within this long answers 504 (default KILN_REDIS_TIMEOUT_MS, 1000)
 */
import { boolEnv, type Env, intEnv } from '../core/config';
import { KilnError } from '../core/errors';

export const REDIS_GATEWAY_TOKEN_FILE = 'redis-gateway.token';

export interface RedisGatewayConfig {
  enabled: boolean;
  /** From KILN_REDIS_GATEWAY_TOKEN; undefined: the token file's (made at first start). */
  token: string | undefined;
  timeoutMs: number;
}

export function redisGatewayConfigFromEnv(env: Env, defaultTimeoutMs: number): RedisGatewayConfig {
  const enabled = boolEnv(env, 'KILN_REDIS_GATEWAY');
  const token = env.KILN_REDIS_GATEWAY_TOKEN || undefined;
  if (enabled && token !== undefined && token === env.SPAWNER_TOKEN) {
    throw new KilnError('BAD_CONFIG', 'KILN_REDIS_GATEWAY_TOKEN must differ from SPAWNER_TOKEN: the gateway token opens Redis only, the spawner token the control API only; pick another one (or unset it to have one generated)', { status: 500 });
  }
  const timeoutMs = intEnv(env, 'KILN_REDIS_GATEWAY_TIMEOUT_MS', defaultTimeoutMs);
  if (!(timeoutMs > 0)) throw new KilnError('BAD_CONFIG', `KILN_REDIS_GATEWAY_TIMEOUT_MS=${env.KILN_REDIS_GATEWAY_TIMEOUT_MS} must be above 0`, { status: 500 });
  return { enabled, token, timeoutMs };
}
