import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createApp } from '../api/app';
import { DEFAULT_API_CONFIG } from '../api/deps';
import { createSpawnerClient } from '../api/spawner-client';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys } from '../core/keys';
import { defineContractSuite } from './contract/suite';
import { startRedis, type RedisServer } from './helpers/redis-server';

let server: RedisServer;
let redis: Redis;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  const keys = createKeys('contract');
  // what a spawner registers: the default types
  await redis.hset(keys.types(), { node: '{}', sklearn: '{}', 'pytorch-2.1': '{}', 'pytorch-2.1-gpu': '{}', tensorflow: '{}' });
  // a spawner with a GPU, so requires_gpu jobs are accepted
  await redis.hset(keys.hosts(), 'gpu-host', JSON.stringify({ gpus: 1, gpus_free: 1, heartbeat: Date.now() + 3_600_000 }));
  app = createApp({
    redis: createIoredisPort(redis), keys, spawner: createSpawnerClient({ url: undefined, token: undefined }),
    config: DEFAULT_API_CONFIG, now: Date.now, newId: () => crypto.randomUUID(),
  });
});
afterAll(async () => {
  await server?.stop();
});

defineContractSuite('node', () => ({
  async request(method, path, body, headers = {}) {
    const res = await app.request(path, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  },
}));
