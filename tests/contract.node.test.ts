import { afterAll, beforeAll } from 'vitest';
import { createKeys } from '../core/keys';
import { defineContractSuite } from './contract/suite';
import { createTestApi, type TestApi } from './helpers/api';
import { startRedis, type RedisServer } from './helpers/redis-server';

let server: RedisServer;
let api: TestApi;

beforeAll(async () => {
  server = await startRedis();
  const redis = server.client();
  const keys = createKeys('contract');
  // what a spawner registers: the default types
  await redis.hset(keys.types(), { node: '{}', sklearn: '{}', 'pytorch-2.1': '{}', 'pytorch-2.1-gpu': '{}', tensorflow: '{}' });
  // a spawner with a GPU, so requires_gpu jobs are accepted
  await redis.hset(keys.hosts(), 'gpu-host', JSON.stringify({ gpus: 1, gpus_free: 1, heartbeat: Date.now() + 3_600_000 }));
  api = createTestApi({ redis, prefix: 'contract' });
});
afterAll(async () => {
  await server?.stop();
});

defineContractSuite('node', () => ({ request: (...args) => api.request(...args) }));
