/**
 * Environment parsing shared by every entry. Pure functions over an env record,
 * so core/ stays free of `process` and runs in workerd too.
 */
import { KilnError } from './errors';

export type Env = Record<string, string | undefined>;

export interface RedisTarget {
  url: string;
}

/** REDIS_URL, or the seed's REDIS_HOST / REDIS_PORT / REDIS_DB. */
export function redisTarget(env: Env): RedisTarget {
  if (env.REDIS_URL) return { url: env.REDIS_URL };
  const host = env.REDIS_HOST || '127.0.0.1';
  const port = intEnv(env, 'REDIS_PORT', 6379);
  const db = intEnv(env, 'REDIS_DB', 0);
  return { url: `redis://${host}:${port}/${db}` };
}

export function intEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new KilnError('BAD_CONFIG', `${name}=${raw} is not a number`, { status: 500 });
  return n;
}

export function boolEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new KilnError('BAD_CONFIG', `${name}=${env[name]} is not a boolean (use true or false)`, { status: 500 });
}

/** The key prefix (KILN_PREFIX, default "kiln"). */
export function keyPrefix(env: Env): string {
  const p = env.KILN_PREFIX || 'kiln';
  if (!/^[\w.-]{1,64}$/.test(p)) throw new KilnError('BAD_CONFIG', `KILN_PREFIX=${p} must be letters, digits, "_", "." or "-"`, { status: 500 });
  return p;
}

export const TOKEN_FILE_NAME = 'spawner.token';
