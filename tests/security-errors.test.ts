/**
 * Issue #9, secrets: an error a client sees carries no internal URL, file path or
 * Redis error text; the detail goes to the log. The API with a spawner that cannot
 * be reached or refuses it, a Redis that answers errors or none at all, a corrupt
 * job record; the spawner with a Redis error.
 */
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { DEFAULT_API_CONFIG } from '../api/deps';
import { createSpawnerClient } from '../api/spawner-client';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys } from '../core/keys';
import { createLogger } from '../core/logger';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem } from './helpers/system';

let redis: RedisServer;
let client: Redis;
let refusing: Server;
let refusingUrl: string;
const SPAWNER_SECRET_PATH = '/srv/kiln-internal/state/spawner.token';

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  // a "spawner" whose 401 names a path of its host
  refusing = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: `wrong token; see ${SPAWNER_SECRET_PATH}` } }));
  });
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
  const addr = refusing.address();
  refusingUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/internal-mount`;
});
afterAll(async () => {
  await new Promise<void>((r) => refusing?.close(() => r()));
  await redis?.stop();
});

function api(opts: { prefix: string; spawnerUrl?: string; redis?: Redis }) {
  const lines: string[] = [];
  const logger = createLogger({ component: 'api', write: (line) => lines.push(line) });
  const app = createApp({
    logger,
    redis: createIoredisPort(opts.redis ?? client),
    keys: createKeys(opts.prefix),
    spawner: createSpawnerClient({ url: opts.spawnerUrl, token: 'api-side-token', logger, timeoutMs: 2000 }),
    config: DEFAULT_API_CONFIG,
    now: Date.now,
    newId: () => crypto.randomUUID(),
  });
  const request = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, text: await res.text() };
  };
  return { request, lines };
}

const INTERNAL = [/127\.0\.0\.1/, /localhost/, /ECONNREFUSED/, /fetch failed/i, /WRONGTYPE/, /\/srv\//, /\/tmp\//, /internal-mount/, /redis:\/\//];
function expectClean(text: string, what: string): void {
  for (const re of INTERNAL) expect(re.test(text), `${what} matches ${re}: ${text}`).toBe(false);
}

describe('the API', () => {
  it('an unreachable spawner: the submit answer says so without its URL or the network error; the log has them', async () => {
    const port = await freePort();
    const a = api({ prefix: 'err-unreach', spawnerUrl: `http://127.0.0.1:${port}/internal-mount` });
    const r = await a.request('POST', '/jobs', { function: 'echo' });
    expect(r.status).toBe(202);
    const body = JSON.parse(r.text) as { worker_ensured: boolean; ensure_error: string };
    expect(body.worker_ensured).toBe(false);
    expect(body.ensure_error).toContain('spawner unreachable');
    expectClean(r.text, 'the submit answer');
    expect(a.lines.join('\n')).toContain(`127.0.0.1:${port}`);
  });

  it("a spawner that refuses: the answer gives the status and what to do, not the spawner's own text", async () => {
    const a = api({ prefix: 'err-refused', spawnerUrl: refusingUrl });
    const r = await a.request('POST', '/jobs', { function: 'echo' });
    expect(r.status).toBe(202);
    expect(JSON.parse(r.text).ensure_error).toContain('401');
    expect(JSON.parse(r.text).ensure_error).toContain('SPAWNER_TOKEN');
    expectClean(r.text, 'the submit answer');
    expect(a.lines.join('\n')).toContain(SPAWNER_SECRET_PATH);
  });

  it("a Redis error's text stays in the log (WRONGTYPE on the registry, the workers set)", async () => {
    const a = api({ prefix: 'err-wrongtype' });
    const keys = createKeys('err-wrongtype');
    await client.set(keys.types(), 'not a hash');
    await client.set(keys.workers(), 'not a set');
    for (const path of ['/workers/types', '/workers/status']) {
      const r = await a.request('GET', path);
      expect(r.status, path).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(r.text).error.code).toMatch(/^[A-Z_]+$/);
      expectClean(r.text, `GET ${path}`);
    }
    const submit = await a.request('POST', '/jobs', { function: 'echo' });
    expect(submit.status).toBeGreaterThanOrEqual(500);
    expectClean(submit.text, 'POST /jobs');
    expect(a.lines.join('\n')).toContain('WRONGTYPE');
  });

  it('a Redis that is down: 5xx without its address or the socket error', async () => {
    const port = await freePort();
    const down = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => {});
    const a = api({ prefix: 'err-down', redis: down });
    for (const [method, path, body] of [['GET', '/jobs'], ['GET', '/workers/types'], ['POST', '/jobs', { function: 'echo' }], ['GET', '/jobs/some-id'], ['GET', '/health']] as const) {
      const r = await a.request(method, path, body);
      expect(r.status, `${method} ${path}`).toBeGreaterThanOrEqual(500);
      expectClean(r.text, `${method} ${path}`);
    }
    // the public health check says what kind of failure, not the client's text
    expect(JSON.parse((await a.request('GET', '/health')).text)).toMatchObject({ status: 'error', redis: 'error: cannot connect' });
    down.disconnect();
  });

  it("a corrupt job record: 500 CORRUPT_JOB without the schema's complaint; the log has it", async () => {
    const a = api({ prefix: 'err-corrupt' });
    const keys = createKeys('err-corrupt');
    await client.hset(keys.job('bad-1'), { id: 'bad-1', status: 'exploded', type: 'node' });
    const r = await a.request('GET', '/jobs/bad-1');
    expect(r.status).toBe(500);
    const err = JSON.parse(r.text).error as { code: string; message: string };
    expect(err.code).toBe('CORRUPT_JOB');
    expect(err.message).not.toMatch(/exploded|expected|invalid/i);
    expect(a.lines.join('\n')).toMatch(/CORRUPT_JOB.*cause=/);
  });
});

describe('the spawner', () => {
  it("a Redis error's text stays in the spawner log", async () => {
    const sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20' } } });
    try {
      await sys.redis.del(sys.spawner.keys.workers());
      await sys.redis.set(sys.spawner.keys.workers(), 'not a set');
      const res = await fetch(`${sys.spawner.url}/workers/status`, { headers: { authorization: `Bearer ${sys.spawner.token}` } });
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text).error.code).toBe('INTERNAL');
      expectClean(text, 'spawner GET /workers/status');
      expect(sys.logs.join('\n')).toContain('WRONGTYPE');
    } finally {
      await sys.redis.del(sys.spawner.keys.workers());
      await sys.stop();
    }
  });
});
