/**
 * Reading the capped events stream without rescanning it: where its newest entry
 * is, and the order of stream ids.
 */
import type { Keys } from './keys';
import { eventsTail as eventsTailScript } from './lua/contracts';
import type { RedisPort } from './redis-port';

/** A Redis stream id ("ms-seq"). */
export const STREAM_ID = /^\d{1,19}-\d{1,19}$/;

/** The id of the newest entry of the events stream ('0-0' when empty). */
export async function eventsTail(redis: RedisPort, keys: Keys): Promise<string> {
  return String(await eventsTailScript(redis, { stream: keys.events() }, {}));
}

/** Orders two stream ids. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs);
  return d === 0n ? 0 : d > 0n ? 1 : -1;
}
