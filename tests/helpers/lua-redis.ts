/**
 * One real redis-server per tests/lua/*.test.ts file (no other process), flushed before
 * each test, with a RedisPort over it and the keys of the `t` prefix. Setup that is not
 * the script under test goes through the JobStore (core/job-store.ts).
 */
import { jobRecordSettings } from '../../core/config';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createIoredisPort } from '../../core/ioredis-port';
import { createJobStore, type JobStore, type NewJob } from '../../core/job-store';
import { createKeys } from '../../core/keys';
import type { RedisPort } from '../../core/redis-port';
import { type RedisServer, startRedis } from './redis-server';

export const keys = createKeys('t');

export interface LuaRedis {
  io: Redis;
  port: RedisPort;
  store: JobStore;
}

export function useLuaRedis(): LuaRedis {
  let server: RedisServer;
  const ctx = {} as LuaRedis;
  beforeAll(async () => {
    server = await startRedis();
    ctx.io = server.client();
    ctx.port = createIoredisPort(ctx.io);
    ctx.store = createJobStore(ctx.port, { keys, ...jobRecordSettings({}) });
  });
  afterAll(async () => server?.stop());
  beforeEach(async () => {
    await ctx.io.flushall();
  });
  return ctx;
}

/** A job of type `node` for store.enqueue, with what a test overrides. */
export const newJob = (id: string, over: Partial<NewJob> = {}): NewJob => ({
  id, type: 'node', kind: 'function', payload: { n: 1 }, priority: 0, maxAttempts: 3, timeoutMs: 60_000, now: 1000, typeCheck: 'default', ...over,
});
