import { describe, expect, it } from 'vitest';
import { replaceTypeEntry } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();

describe('replace-type-entry.lua', () => {
  it('rewrites the entry only while it is the one read', async () => {
    await r.io.hset(keys.types(), 'node', '{"old":1}');
    expect(await replaceTypeEntry(r.port, { types: keys.types() }, { type: 'node', read: '{"other":1}', cleaned: '{}' })).toBe(0);
    expect(await r.io.hget(keys.types(), 'node')).toBe('{"old":1}');
    expect(await replaceTypeEntry(r.port, { types: keys.types() }, { type: 'node', read: '{"old":1}', cleaned: '{}' })).toBe(1);
    expect(await r.io.hget(keys.types(), 'node')).toBe('{}');
  });
});
