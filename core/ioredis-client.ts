/**
 * How Node entries that serve requests connect with ioredis (the API, the spawner
 * and its REST gateway): every command has a deadline and nothing waits in an
 * offline queue, so a Redis that is down or stalled is an error within
 * `timeoutMs`, never a request (or a shutdown) that hangs until Redis returns.
 * Node entries only, like core/ioredis-port.ts.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { KilnError } from './errors';

export function requestRedisOptions(opts: { timeoutMs: number; name: string }): RedisOptions {
  return {
    connectionName: opts.name,
    // A command that gets no answer (Redis stalled, a dead peer) fails after this long.
    commandTimeout: opts.timeoutMs,
    connectTimeout: Math.max(1000, 2 * opts.timeoutMs),
    // While disconnected a command fails at once instead of waiting for the reconnect.
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail then, and are not sent again
    // later: their caller already got its 503 and may retry.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Keep reconnecting, at most every 2 s.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  };
}

/**
 * Resolves once the connection is ready (with no offline queue, a command sent
 * before that fails). Rejects after `timeoutMs` with what to check.
 */
export function waitForRedis(redis: Redis, url: string, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let lastError = '';
    const onError = (err: Error) => {
      lastError = err.message;
    };
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      const safeUrl = url.replace(/\/\/[^@]*@/, '//***@');
      reject(new KilnError('REDIS_UNAVAILABLE', `Redis at ${safeUrl} did not answer within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}; start it, or set REDIS_URL to one that runs`, { status: 503 }));
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
