/**
 * The API's function-name check keeps the registered names for a moment instead of
 * reading them on every submit, and reads again before it refuses a name.
 */
import { describe, expect, it } from 'vitest';
import { createFunctionNameCheck } from '../api/function-names';
import type { RedisPort } from '../core/redis-port';
import { keys, useLuaRedis } from './helpers/lua-redis';

const r = useLuaRedis();

function counting(port: RedisPort): { port: RedisPort; reads: () => number } {
  let n = 0;
  return { port: { ...port, hgetall: (key) => (n++, port.hgetall(key)) }, reads: () => n };
}

describe('function-name check', () => {
  it('reads the registered names once per ttl for names it knows, and again before refusing one', async () => {
    await r.io.hset(keys.functions(), 'h1', JSON.stringify(['echo', 'sleep']));
    let t = 0;
    const c = counting(r.port);
    const check = createFunctionNameCheck({ redis: c.port, keys, now: () => t, ttlMs: 1000 });
    for (let i = 0; i < 5; i++) await check('echo');
    expect(c.reads()).toBe(1);
    expect(check('echo')).toBeUndefined(); // a kept name: answered without a promise
    // registered a moment ago: not among the kept names, read again, accepted
    await r.io.hset(keys.functions(), 'h2', JSON.stringify(['added']));
    await check('added');
    expect(c.reads()).toBe(2);
    await expect(check('nope')).rejects.toMatchObject({ code: 'UNKNOWN_FUNCTION', message: expect.stringContaining('added, echo, sleep') });
    expect(c.reads()).toBe(3);
    t = 1500; // past the ttl: read again
    await check('echo');
    expect(c.reads()).toBe(4);
  });

  it('accepts any name while none is registered', async () => {
    const check = createFunctionNameCheck({ redis: r.port, keys, now: () => 0 });
    await expect(check('anything')).resolves.toBeUndefined();
  });
});
