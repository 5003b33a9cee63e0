import { describe, expect, it } from 'vitest';
import { eventsTail } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();

describe('events-tail.lua', () => {
  it("answers the newest entry's id, or 0-0 for a missing stream", async () => {
    expect(await eventsTail(r.port, { stream: keys.events() }, {})).toBe('0-0');
    await r.io.xadd(keys.events(), '5-1', 'a', '1');
    await r.io.xadd(keys.events(), '7-0', 'a', '2');
    expect(await eventsTail(r.port, { stream: keys.events() }, {})).toBe('7-0');
  });
});
