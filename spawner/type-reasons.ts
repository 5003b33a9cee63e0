/**
 * Publishes why each worker type's work waits on this host into the type-state hash
 * (read by GET /workers/status and a queued job's waiting_reason). It writes only on
 * change, and takes back only what it wrote: a reason another host published stays.
 * Who wrote each field is kept beside it (keys.typeStateHosts()), so a restarted host
 * takes back what it published before (a crash, a kill: no shutdown cleared it).
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys';
import { ownValue } from '../core/own-keys';

export function createTypeReasons(deps: { redis: Redis; keys: Keys; hostId: string }) {
  const { redis, keys, hostId } = deps;
  /** What this host published last, per type. */
  const published = new Map<string, string>();

  return {
    /**
     * `current`: the hash as read this tick; `hosts`: who wrote each of its fields;
     * `reasons`: this host's reason per type (null: none). Resolves once the changes are written.
     */
    async publish(current: Record<string, string>, hosts: Record<string, string>, reasons: Map<string, string | null>): Promise<void> {
      const set: Record<string, string> = {};
      const del: string[] = [];
      for (const [type, reason] of reasons) {
        // what this host wrote: this process, or (first tick after a restart) its predecessor
        const mine = published.get(type) ?? (ownValue(hosts, type) === hostId ? ownValue(current, type) : undefined);
        if (reason !== null) {
          // write on change, or when it vanished from Redis (a restart, a host that cleared it)
          if (reason !== mine || ownValue(current, type) === undefined) set[type] = reason;
          published.set(type, reason);
        } else if (mine !== undefined) {
          if (ownValue(current, type) === mine) del.push(type);
          published.delete(type);
        }
      }
      if (Object.keys(set).length === 0 && del.length === 0) return;
      const tx = redis.multi();
      if (Object.keys(set).length > 0) tx.hset(keys.typeState(), set).hset(keys.typeStateHosts(), Object.fromEntries(Object.keys(set).map((t) => [t, hostId])));
      if (del.length > 0) tx.hdel(keys.typeState(), ...del).hdel(keys.typeStateHosts(), ...del);
      await tx.exec();
    },

    /** Takes back every reason this host still has published (spawner shutdown). */
    async clear(): Promise<void> {
      if (published.size === 0) return;
      const current = await redis.hgetall(keys.typeState());
      const mine = [...published].filter(([type, reason]) => ownValue(current, type) === reason).map(([type]) => type);
      published.clear();
      if (mine.length > 0) await redis.multi().hdel(keys.typeState(), ...mine).hdel(keys.typeStateHosts(), ...mine).exec();
    },
  };
}
