import { describe, expect, it } from 'vitest';
import { probeWrite } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();

describe('probe-write.lua', () => {
  it('writes the probe key with a TTL; a refused write surfaces as Redis said it (not a Kiln code)', async () => {
    expect(await probeWrite(r.port, { probe: keys.healthProbe() }, { value: 42, ttl_ms: 10_000 })).toBe(1);
    expect(await r.io.get(keys.healthProbe())).toBe('42');
    expect(await r.io.pttl(keys.healthProbe())).toBeGreaterThan(0);
    await r.io.config('SET', 'maxmemory', '1');
    try {
      await expect(probeWrite(r.port, { probe: keys.healthProbe() }, { value: 43, ttl_ms: 10_000 })).rejects.toThrow(/OOM/);
    } finally {
      await r.io.config('SET', 'maxmemory', '0');
    }
  });
});
