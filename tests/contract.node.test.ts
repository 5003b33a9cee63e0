import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('API token (KILN_API_TOKEN)', () => {
  it('guards every route but GET /health when set', async () => {
    const guarded = createTestApi({ redis: server.client(), prefix: 'contract', config: { apiToken: 's3cret' } });
    expect((await guarded.request('GET', '/health')).status).toBe(200);
    const denied = await guarded.request('GET', '/jobs');
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('UNAUTHORIZED');
    expect((await guarded.request('GET', '/jobs', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await guarded.request('GET', '/jobs', undefined, { authorization: 'Bearer s3cret' })).status).toBe(200);
  });
});
