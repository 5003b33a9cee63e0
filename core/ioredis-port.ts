/**
 * RedisPort over ioredis. Node entries only: it is the one file in core/ that
 * pulls in a Node-only library.
 */
import type { Cluster, Redis } from 'ioredis';
import type { LuaScript, RedisArg, RedisPort, StreamEntry } from './redis-port';

/** A single Redis or a Redis Cluster (every Kiln key of a prefix shares one hash slot). */
export function createIoredisPort(redis: Redis | Cluster): RedisPort {
  return {
    // no async function on the usual path: the reply's promise is returned as is
    runScript(script: LuaScript, keys: string[], args: RedisArg[]) {
      return redis.evalsha(script.sha, keys.length, ...keys, ...args).catch((err: unknown) => {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return redis.eval(script.source, keys.length, ...keys, ...args);
      });
    },
    async hgetall(key) {
      return redis.hgetall(key);
    },
    async hgetallMany(keys) {
      if (keys.length === 0) return [];
      const pipe = redis.pipeline();
      for (const k of keys) pipe.hgetall(k);
      const res = (await pipe.exec()) ?? [];
      return res.map(([err, val]) => {
        if (err) throw err;
        return val as Record<string, string>;
      });
    },
    smembers: (key) => redis.smembers(key),
    zcard: (key) => redis.zcard(key),
    async xrangeAfter(key, afterId, count) {
      const rows = await redis.xrange(key, `(${afterId}`, '+', 'COUNT', count);
      return rows.map(([id, flat]): StreamEntry => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        return { id, fields };
      });
    },
    async ping() {
      await redis.ping();
    },
  };
}
