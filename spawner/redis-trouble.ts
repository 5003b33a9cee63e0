/**
 * The spawner's side of Redis trouble: its gate (core/redis-gate.ts) over the
 * daemon's connection, and the 503 its routes answer for a Redis error.
 */
import type { Context } from 'hono';
import type { Keys } from '../core/keys';
import type { LogFn } from '../core/logger';
import { redisTrouble, redisUnavailable } from '../core/redis-errors';
import { createRedisGate, type RedisGate, writeProbe } from '../core/redis-gate';
import type { RedisPort } from '../core/redis-port';

export function spawnerRedisGate(deps: { port: RedisPort; keys: Keys; now(): number; timeoutMs: number; log: LogFn }): RedisGate {
  return createRedisGate({
    probe: writeProbe(deps.port, deps.keys, deps.now),
    timeoutMs: deps.timeoutMs,
    now: deps.now,
    onChange(state, err) {
      if (state.ok) deps.log('info', 'redis answers again; serving requests');
      else deps.log('warn', `redis trouble (${state.trouble}): routes that need Redis answer 503 until it passes (${err instanceof Error ? err.message : String(err)})`);
    },
  });
}

/** A Redis error as the 503 REDIS_UNAVAILABLE answer (raw text to the log only), or undefined for other errors. */
export function redisErrorResponse(err: Error, c: Context, log?: LogFn): Response | undefined {
  const trouble = redisTrouble(err);
  if (!trouble) return undefined;
  log?.('warn', `redis ${trouble} in ${c.req.method} ${c.req.path}: ${err.message}`);
  return c.json({ error: redisUnavailable(trouble).toJSON() }, 503);
}
