import { describe, expect, it } from 'vitest';
import { appendLogs } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = { logs: keys.logs('j1'), job: keys.job('j1') };
const a = (lines: string[], maxLines = 100) => ({ max_lines: maxLines, max_bytes: 1000, safety_ttl_ms: 60_000, lines });

describe('append-logs.lua', () => {
  it('appends lines, cuts the oldest past the cap, and gives the stream a TTL', async () => {
    await r.io.hset(keys.job('j1'), 'status', 'running');
    expect(await appendLogs(r.port, k, a(['stdout', 'a', 'stderr', 'b']))).toEqual([2, 0]);
    expect(await appendLogs(r.port, k, a(['stdout', 'c', 'stdout', 'd'], 3))).toEqual([2, 1]);
    const texts = (await r.io.xrange(keys.logs('j1'), '-', '+')).map(([, f]) => f[3]);
    expect(texts).toEqual(['b', 'c', 'd']);
    expect(await r.io.hmget(keys.job('j1'), 'log_cut', 'log_bytes')).toEqual(['1', '3']);
    expect(await r.io.pttl(keys.logs('j1'))).toBeGreaterThan(0);
  });

  it('drops the lines of a job that no longer exists', async () => {
    expect(await appendLogs(r.port, k, a(['stdout', 'a']))).toEqual([0, 0]);
    expect(await r.io.exists(keys.logs('j1'))).toBe(0);
  });
});
