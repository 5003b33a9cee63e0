/**
 * Issue #9, lookups: anything keyed by input is looked up as an own key. Names of
 * Object.prototype's properties (`__proto__`, `constructor`, `toString`, …) are
 * unknown worker types, model types and functions (a 4xx, never a worker started
 * from an inherited "config"), a type that is really named "constructor" works,
 * and GET / HEAD requests with a body framing header are served on Node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../api/node';
import { createKeys } from '../core/keys';
import { createLogger } from '../core/logger';
import { workersStatusSchema } from '../core/schemas/worker-view';
import { loadWorkerTypes } from '../spawner/config';
import { createTestApi, type TestApi } from './helpers/api';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'tostring'];
const PREFIX = 'lookups';

let redis: RedisServer;
let api: TestApi;
let sys: System;
const dir = mkdtempSync(join(tmpdir(), 'kiln-lookups-'));

beforeAll(async () => {
  redis = await startRedis();
  const client = redis.client();
  const keys = createKeys(PREFIX);
  // a registry as spawners leave it, with a type really named "constructor"
  await client.hset(keys.types(), {
    node: JSON.stringify({ framework: 'node', version: '20', max_workers: 2, max_jobs: 4, env: [], host: 'h1' }),
    constructor: JSON.stringify({ framework: 'node', version: '20', max_workers: 1, max_jobs: 1, env: [], host: 'h1' }),
  });
  api = createTestApi({ redis: client, prefix: PREFIX });
  sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20' } } });
});
afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the API', () => {
  it('worker_type: names of Object.prototype are unknown worker types (400)', async () => {
    for (const name of PROTO_NAMES.filter((n) => n !== 'constructor')) {
      const r = await api.request('POST', '/jobs', { worker_type: name, payload: {} });
      expect(r.status, name).toBe(400);
      expect(['UNKNOWN_WORKER_TYPE', 'VALIDATION_ERROR'], name).toContain(r.body.error.code);
      expect(r.body.error.field).toBe('worker_type');
      const t = await api.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'x.csv', worker_type: name });
      expect(t.status, name).toBe(400);
    }
  });

  it('model_type: names of Object.prototype are unknown model types (400 UNKNOWN_MODEL_TYPE)', async () => {
    for (const name of PROTO_NAMES) {
      for (const path of ['/jobs/training', '/jobs/inference']) {
        const r = await api.request('POST', path, path === '/jobs/training' ? { model_type: name, data_path: 'x.csv' } : { model_type: name, model_path: 'some-training-job', inputs: [[1]] });
        expect(r.status, `${path} ${name}`).toBe(400);
        expect(r.body.error).toMatchObject({ code: 'UNKNOWN_MODEL_TYPE', field: 'model_type' });
      }
    }
  });

  it('function: names of Object.prototype are unknown functions (400 UNKNOWN_FUNCTION)', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__defineGetter__']) {
      const r = await api.request('POST', '/jobs', { function: name });
      expect(r.status, name).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'UNKNOWN_FUNCTION', field: 'function' });
    }
    expect((await api.request('POST', '/jobs', { function: 'echo' })).status).toBe(202);
  });

  it('a type really named "constructor" is a type like any other: submits, status, waiting reason', async () => {
    const r = await api.request('POST', '/jobs', { worker_type: 'constructor', payload: { n: 1 } });
    expect(r.status).toBe(202);
    const job = await api.job(r.body.job_id);
    expect(job.waiting_reason).toBeNull();
    const keys = createKeys(PREFIX);
    const client = redis.client();
    const now = Date.now();
    const worker = (id: string, type: string) => ({ worker_id: id, worker_type: type, process_id: 1, status: 'idle', created_at: now, last_activity: now, max_jobs: 1, working_directory: `workers/${id}`, host: 'h1' });
    // a worker of "constructor", and one of "valueof", a type the registry does not list
    await client.sadd(keys.workers(), 'constructor-1', 'valueof-1');
    await client.hset(keys.worker('constructor-1'), worker('constructor-1', 'constructor'));
    await client.hset(keys.worker('valueof-1'), worker('valueof-1', 'valueOf'));
    const s = await api.request('GET', '/workers/status');
    expect(s.status).toBe(200);
    expect(workersStatusSchema.safeParse(s.body).success, JSON.stringify(s.body)).toBe(true);
    expect(s.body.workers_by_type).toEqual({ constructor: 1, valueOf: 1 });
    expect(s.body.types.constructor).toMatchObject({ queued: 1, workers: { idle: 1 }, capacity: { max_workers: 1, max_jobs: 1 }, waiting_reason: null });
    expect(Object.keys(s.body.types).sort()).toEqual(['constructor', 'node']);
    const types = await api.request('GET', '/workers/types');
    expect(Object.keys(types.body.types).sort()).toEqual(['constructor', 'node']);
  });
});

describe('the spawner', () => {
  it('start and ensure of an Object.prototype name are unknown worker types (404), and start no worker', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      for (const action of ['start', 'ensure']) {
        const res = await fetch(`${sys.spawner.url}/workers/${action}/${encodeURIComponent(name)}`, { method: 'POST', headers: { authorization: `Bearer ${sys.spawner.token}` } });
        const body = (await res.json()) as { error: { code: string } };
        expect(res.status, `${action} ${name}`).toBe(404);
        expect(body.error.code).toBe('UNKNOWN_WORKER_TYPE');
      }
    }
    expect(sys.spawner.supervisor.workers.size).toBe(0);
  });

  it('WORKER_TYPES_FILE: "__proto__" is refused by name; "constructor" is a new type, not merged with an inherited one', () => {
    const file = join(dir, 'proto.json');
    writeFileSync(file, '{"__proto__": {"framework": "node", "version": "20"}}');
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/__proto__/);
    writeFileSync(file, JSON.stringify({ constructor: { version: '20' } }));
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/constructor\.framework/);
    writeFileSync(file, JSON.stringify({ constructor: { framework: 'node', version: '20' } }));
    const types = loadWorkerTypes({ WORKER_TYPES_FILE: file });
    expect(Object.hasOwn(types, 'constructor')).toBe(true);
    expect(types.constructor).toMatchObject({ framework: 'node', max_workers: 4 });
    expect(Object.hasOwn(types, 'toString')).toBe(false);
  });
});

describe('GET and HEAD with a body framing header (Node)', () => {
  it('are served, in the app and over a real socket', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const headers of [{ 'content-length': '5' }, { 'transfer-encoding': 'chunked' }] as Record<string, string>[]) {
        for (const path of ['/health', '/jobs', '/workers/status']) {
          const res = await api.app.request(path, { method, headers });
          expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(200);
        }
      }
    }
    const port = await freePort();
    const server = startApiServer(
      { REDIS_URL: redis.url, KILN_PREFIX: PREFIX, API_PORT: String(port), WORKER_MANAGER_URL: '' },
      createLogger({ component: 'api', write: () => {} }),
    );
    await server.listening;
    try {
      const raw = (request: string) => new Promise<string>((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port }, () => sock.write(request));
        let out = '';
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => (out += d));
        sock.on('end', () => resolve(out));
        sock.on('error', reject);
      });
      const withLength = await raw('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello');
      expect(withLength).toMatch(/^HTTP\/1\.1 200/);
      const chunked = await raw('GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      expect(chunked).toMatch(/^HTTP\/1\.1 200/);
      const head = await raw('HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      await server.close();
    }
  });
});
