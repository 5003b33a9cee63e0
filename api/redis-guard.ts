/** The API's Redis gate (core/redis-gate.ts): probes over the app's RedisPort, logs each change. */
import { createRedisGate, type RedisGate, writeProbe } from '../core/redis-gate';
import type { AppDeps } from './deps';
import { consoleLogger } from './errors';

export function apiRedisGate(deps: AppDeps): RedisGate {
  const logger = deps.logger ?? consoleLogger;
  return createRedisGate({
    probe: writeProbe(deps.redis, deps.keys, deps.now),
    timeoutMs: deps.config.redisTimeoutMs,
    now: deps.now,
    onChange(state, err) {
      if (state.ok) logger.info('redis answers again; serving requests');
      else logger.warn(`redis trouble (${state.trouble}): data routes answer 503 until it passes`, { error: err instanceof Error ? err.message : String(err) });
    },
  });
}
