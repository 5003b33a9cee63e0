import { describe, expect, it } from 'vitest';
import { countLogDrops } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();

describe('count-log-drops.lua', () => {
  it("adds to a worker's dropped-lines count; 0 when the worker record is gone", async () => {
    expect(await countLogDrops(r.port, { worker: keys.worker('w1') }, { dropped: 5 })).toBe(0);
    expect(await r.io.exists(keys.worker('w1'))).toBe(0);
    await r.io.hset(keys.worker('w1'), 'status', 'busy');
    expect(await countLogDrops(r.port, { worker: keys.worker('w1') }, { dropped: 5 })).toBe(1);
    await countLogDrops(r.port, { worker: keys.worker('w1') }, { dropped: 2 });
    expect(await r.io.hget(keys.worker('w1'), 'log_lines_dropped')).toBe('7');
  });
});
