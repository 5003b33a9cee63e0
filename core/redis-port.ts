/**
 * The small surface of Redis that code shared by every runtime uses. Node entries
 * build it over ioredis; workerd builds it over @upstash/redis. Everything that
 * changes state goes through a Lua script, so the port stays this small.
 */
export interface LuaScript {
  readonly name: string;
  readonly sha: string;
  readonly source: string;
}

export type RedisArg = string | number;

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface RedisPort {
  /** EVALSHA with a fallback to EVAL when the script is not cached yet. */
  runScript(script: LuaScript, keys: string[], args: RedisArg[]): Promise<unknown>;
  /** A hash as an object of strings; `{}` when the key does not exist. */
  hgetall(key: string): Promise<Record<string, string>>;
  /** Several hashes at once (one round trip where the client pipelines). */
  hgetallMany(keys: string[]): Promise<Record<string, string>[]>;
  smembers(key: string): Promise<string[]>;
  zcard(key: string): Promise<number>;
  /** Entries after `afterId` (exclusive), oldest first, at most `count`. Never blocks. */
  xrangeAfter(key: string, afterId: string, count: number): Promise<StreamEntry[]>;
  ping(): Promise<void>;
}

/** A job as a claim script returns it: its hash as one JSON object of strings (core/lua/_claim.lua hash_json). */
export function jsonToRecord(json: unknown): Record<string, string> {
  if (typeof json !== 'string') return {};
  const parsed = JSON.parse(json) as unknown;
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
}

/** Turns a flat [field, value, field, value, …] reply into an object. */
export function flatToRecord(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}
