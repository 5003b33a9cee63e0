import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineContractSuite } from './contract/suite';
import { createTestApi, type TestApi } from './helpers/api';
import { seedContractRedis } from './helpers/contract-seed';
import { startRedis, type RedisServer } from './helpers/redis-server';

let server: RedisServer;
let api: TestApi;

beforeAll(async () => {
  server = await startRedis();
  const redis = server.client();
  await seedContractRedis(redis);
  api = createTestApi({ redis, prefix: 'contract' });
});
afterAll(async () => {
  await server?.stop();
});

defineContractSuite('node', () => ({ request: (...args) => api.request(...args) }));

describe('API token (KILN_API_TOKEN)', () => {
  it('guards every data route when set; /health, /openapi.json, /docs and the dashboard page and assets stay open', async () => {
    const guarded = createTestApi({ redis: server.client(), prefix: 'contract', config: { apiToken: 's3cret' } });
    expect((await guarded.request('GET', '/health')).status).toBe(200);
    expect((await guarded.request('GET', '/')).status).toBe(200);
    expect((await guarded.request('GET', '/ui/app.js')).status).toBe(200);
    expect((await guarded.request('GET', '/ui/app.css')).status).toBe(200);
    expect((await guarded.request('POST', '/')).status).toBe(401);
    expect((await guarded.request('GET', '/workers/status')).status).toBe(401);
    expect((await guarded.request('GET', '/jobs/x/events')).status).toBe(401);
    expect((await guarded.request('GET', '/openapi.json')).body.openapi).toBe('3.1.0');
    expect((await guarded.request('GET', '/docs')).headers.get('content-type')).toContain('text/html');
    const denied = await guarded.request('GET', '/jobs');
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('UNAUTHORIZED');
    expect((await guarded.request('GET', '/jobs', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await guarded.request('GET', '/jobs', undefined, { authorization: 'Bearer s3cret' })).status).toBe(200);
  });
});

describe('Redis down', () => {
  it('answers 503 REDIS_UNAVAILABLE, and /health says so', async () => {
    const { Redis } = await import('ioredis');
    const { freePort } = await import('./helpers/redis-server');
    const dead = new Redis({ port: await freePort(), host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    dead.on('error', () => {});
    const down = createTestApi({ redis: dead, prefix: 'contract' });
    const submit = await down.request('POST', '/jobs', { function: 'echo' });
    expect(submit.status).toBe(503);
    expect(submit.body.error.code).toBe('REDIS_UNAVAILABLE');
    const health = await down.request('GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body.redis).toMatch(/^error: /);
    dead.disconnect();
  });
});
