/**
 * An evicting Redis silently drops queued jobs, and one without persistence loses
 * them on restart. Warn loudly at start; refuse to start with --strict.
 */
import type { Redis } from 'ioredis';
import { KilnError } from '../core/errors';

export async function checkRedisSafety(redis: Redis, opts: { strict: boolean; log: (level: 'warn', m: string) => void }): Promise<string[]> {
  const problems: string[] = [];
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const [, aof] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    if (policy && policy !== 'noeviction') {
      problems.push(`maxmemory-policy is "${policy}": Redis may evict queued jobs under memory pressure; set it to noeviction (CONFIG SET maxmemory-policy noeviction)`);
    }
    if (aof !== 'yes' && !save) {
      problems.push('Redis has no persistence (appendonly no, no save points): a Redis restart loses every queued job; enable appendonly yes');
    }
  } catch (err) {
    problems.push(`could not read Redis' configuration (${err instanceof Error ? err.message : String(err)}); make sure maxmemory-policy is noeviction and persistence is on`);
  }
  for (const p of problems) opts.log('warn', `UNSAFE REDIS: ${p}`);
  if (opts.strict && problems.length > 0) {
    throw new KilnError('UNSAFE_REDIS', `refusing to start (--strict): ${problems.join('; ')}`);
  }
  return problems;
}
