/**
 * The worker types registry in Redis (`keys.types()`): which types exist, read by
 * every API (enqueue refuses others) and view. A spawner publishes its own types
 * there with env names only and no interpreter (core/worker-type-view.ts), and
 * cleans any entry an older spawner left with env values or a path in it.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys';
import type { LogFn } from '../core/logger';
import { replaceTypeEntry } from '../core/lua/contracts';
import type { RedisPort } from '../core/redis-port';
import type { WorkerTypeConfig } from '../core/schemas/worker-type';
import { needsScrub, parseRegistryEntry, registryEntry } from '../core/worker-type-view';

export async function publishTypes(
  deps: { redis: Redis; port: RedisPort; keys: Keys; log: LogFn },
  types: Readonly<Record<string, WorkerTypeConfig>>,
  host: string,
): Promise<void> {
  const { redis, port, keys } = deps;
  const tx = redis.multi();
  for (const [name, cfg] of Object.entries(types)) tx.hset(keys.types(), name, registryEntry(cfg, host));
  await tx.exec();
  // entries of other hosts (or of types no longer configured) written before names-only
  const all = await redis.hgetall(keys.types());
  let cleaned = 0;
  for (const [name, json] of Object.entries(all)) {
    if (!needsScrub(json)) continue;
    const clean = parseRegistryEntry(json);
    if (!clean) continue;
    cleaned += Number(await replaceTypeEntry(port, { types: keys.types() }, { type: name, read: json, cleaned: JSON.stringify(clean) }));
  }
  if (cleaned > 0) deps.log('warn', `cleaned ${cleaned} worker type registry entr${cleaned === 1 ? 'y' : 'ies'} that an older spawner wrote with env values or an interpreter path`);
}
