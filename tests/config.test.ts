/**
 * One config (core/config.ts): the defaults table, the stores built from it, and the
 * defects its absence caused — each regression test names its defect.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, intEnv, jobRecordSettings, redisTarget } from '../core/config';
import { createWorkerStore } from '../core/worker-store';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import type { WorkerBoot } from '../core/schemas/ipc';
import { workerBootSchema } from '../core/schemas/ipc';
import { apiConfigFromEnv } from '../api/deps';
import { startApiServer } from '../api/node';
import { loadSpawnerConfig, loadWorkerTypes } from '../spawner/config';
import { PROJECT_ROOT } from '../spawner/project-root';
import { seedWorkerEnv } from '../spawner/worker-boot';
import type { Executor } from '../worker-runtime/executor';
import { createWorker } from '../worker-runtime/worker';
import { createTestApi, waitFor } from './helpers/api';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem } from './helpers/system';

let server: RedisServer;
let redis: Redis;
let n = 0;
const prefix = () => `cfg${process.pid}x${++n}`;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-config-'));

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the defaults table', () => {
  it('is what every parser falls back to', () => {
    expect(intEnv({}, 'KILN_RETENTION_FAILED_S')).toBe(DEFAULTS.KILN_RETENTION_FAILED_S);
    expect(intEnv({ KILN_RETENTION_FAILED_S: '5' }, 'KILN_RETENTION_FAILED_S')).toBe(5);
    expect(redisTarget({}).url).toBe(`redis://${DEFAULTS.REDIS_HOST}:${DEFAULTS.REDIS_PORT}/${DEFAULTS.REDIS_DB}`);
    const api = apiConfigFromEnv({});
    const spawner = loadSpawnerConfig({});
    expect(api.failedRetentionMs).toBe(DEFAULTS.KILN_RETENTION_FAILED_S * 1000);
    expect(spawner.jobRecords).toEqual(jobRecordSettings({}));
    expect(spawner.port).toBe(DEFAULTS.SPAWNER_PORT);
    expect(spawner.dataRoot).toBe(join(PROJECT_ROOT, DEFAULTS.DATA_ROOT));
    expect(spawner.breaker.threshold).toBe(DEFAULTS.KILN_BREAKER_THRESHOLD);
  });

  it('refuses a retention that is not above 0, naming the variable', () => {
    expect(() => jobRecordSettings({ KILN_RETENTION_FAILED_S: '0' })).toThrow(/KILN_RETENTION_FAILED_S/);
  });
});

describe('regressions', () => {
  it('a cancel through the API keeps the job for KILN_RETENTION_FAILED_S, not the built-in 7 days', async () => {
    const p = prefix();
    const api = createTestApi({ redis, prefix: p, spawnerUrl: undefined, config: apiConfigFromEnv({ KILN_RETENTION_FAILED_S: '120' }) });
    const sub = await api.request('POST', '/jobs', { function: 'echo', input: 1 });
    expect(sub.status, JSON.stringify(sub.body)).toBe(202);
    const id = sub.body.job_id as string;
    const cancel = await api.request('POST', `/jobs/${id}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBeLessThan(300);
    expect((await api.job(id)).status).toBe('cancelled');
    const ttl = await redis.pttl(createKeys(p).job(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it("the spawner's requeues (a lost worker's job past its attempts) keep it for KILN_RETENTION_FAILED_S", async () => {
    const keys = createKeys(prefix());
    const store = createJobStore(createIoredisPort(redis), { keys, ...loadSpawnerConfig({ KILN_RETENTION_FAILED_S: '90' }).jobRecords });
    await store.enqueue({ id: 'lost', type: 'node', kind: 'function', payload: { function: 'echo' }, priority: 0, maxAttempts: 1, timeoutMs: 0, now: Date.now(), typeCheck: 'default' });
    expect((await store.claim('node', 'w1', Date.now(), 1)).map((j) => j.id)).toEqual(['lost']);
    const r = await store.requeueWorker('w1', 'node', { type: 'worker_lost', message: 'gone' }, { now: Date.now() });
    expect(r.failed).toBe(1);
    const ttl = await redis.pttl(keys.job('lost'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(90_000);
  });

  it('the API on Node checks data_path against the default DATA_ROOT when the variable is unset', async () => {
    const port = await freePort();
    const api = startApiServer({ REDIS_URL: server.url, KILN_PREFIX: prefix(), API_PORT: String(port), KILN_STATE_DIR: tmp, LOG_LEVEL: 'error' });
    try {
      await api.listening;
      const post = (data_path: string) => fetch(`${api.url}/jobs/training`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model_type: 'random_forest', data_path }),
      });
      const outside = await post('/etc/passwd');
      const body = (await outside.json()) as { error: { code: string; message: string } };
      expect(outside.status).toBe(400);
      expect(body.error.code).toBe('PATH_OUTSIDE_DATA_ROOT');
      expect(body.error.message).toContain(join(PROJECT_ROOT, 'data'));
      expect((await post(join(PROJECT_ROOT, 'data', 'iris.csv'))).status).toBe(202);
    } finally {
      await api.close(100);
    }
  });

  it('a Python type with max_jobs > 1 is refused at spawner start, naming the type and what to do', () => {
    const file = join(tmp, 'types.json');
    writeFileSync(file, JSON.stringify({ 'sk-many': { framework: 'sklearn', version: '1.3.0', max_jobs: 2 } }));
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/sk-many\.max_jobs \(2\).*one job at a time.*max_workers/);
    writeFileSync(file, JSON.stringify({ 'node-many': { framework: 'node', version: '20', max_jobs: 8 } }));
    expect(loadWorkerTypes({ WORKER_TYPES_FILE: file })['node-many']?.max_jobs).toBe(8);
  });

  it('batch: validated (max_size 1..256, max_wait_ms 0..10000, no other keys), Python types only, passed to the worker boot', () => {
    const file = join(tmp, 'types.json');
    const types = (cfg: unknown) => {
      writeFileSync(file, JSON.stringify({ t: cfg }));
      return loadWorkerTypes({ WORKER_TYPES_FILE: file });
    };
    const sk = { framework: 'sklearn', version: '1.3.0' };
    expect(types({ ...sk, batch: { max_size: 8, max_wait_ms: 20 } }).t?.batch).toEqual({ max_size: 8, max_wait_ms: 20 });
    expect(() => types({ ...sk, batch: { max_size: 0, max_wait_ms: 20 } })).toThrow(/t\.batch\.max_size/);
    expect(() => types({ ...sk, batch: { max_size: 8, max_wait_ms: 10_001 } })).toThrow(/t\.batch\.max_wait_ms/);
    expect(() => types({ ...sk, batch: { max_size: 8, max_wait_ms: 20, wait: 1 } })).toThrow(/t\.batch/);
    expect(() => types({ framework: 'node', version: '20', batch: { max_size: 8, max_wait_ms: 20 } })).toThrow(/t\.batch: .*Python runners/);
  });

  it('a worker claims no more jobs than its executor runs at once; a timeout counts from the start of execution', async () => {
    const keys = createKeys(prefix());
    const store = createJobStore(createIoredisPort(redis), { keys, ...jobRecordSettings({}) });
    let active = 0;
    let most = 0;
    // one job at a time, each taking 300 ms: with 3 jobs of timeout 0.5 s, a job claimed
    // while another ran (and timed from its claim) would time out unstarted
    const executor: Executor = {
      capacity: 1,
      async start() {
        return { framework: 'fake', version: '1' };
      },
      async run() {
        active += 1;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 300));
        active -= 1;
        return 'ok';
      },
      async stop() {},
    };
    const boot: WorkerBoot = workerBootSchema.parse({
      worker_id: 'cap1', worker_type: 'fake', redis_url: server.url, prefix: keys.prefix, max_jobs: 3, framework: 'fake', version: '1', version_policy: 'warn',
      default_timeout_ms: 0, heartbeat_ms: 1000, lease_ms: 5000, cancel_grace_ms: 500, python_path: [], env: {},
      data_root: '/tmp', artifact_root: '/tmp', backoff: { base_ms: 0, max_ms: 0 }, succeeded_retention_ms: 60_000, failed_retention_ms: 60_000,
    });
    await redis.hset(keys.worker(boot.worker_id), { worker_id: boot.worker_id, status: 'idle' });
    const ids = ['a', 'b', 'c'];
    for (const id of ids) {
      await store.enqueue({ id, type: 'fake', kind: 'generic', payload: {}, priority: 0, maxAttempts: 1, timeoutMs: 500, now: Date.now(), typeCheck: 'default' });
    }
    const blocking = server.client();
    const logs = { write() {}, async flush() {}, droppedLines: () => 0, async close() {} };
    const worker = createWorker({ boot, redis, blocking, store, workerStore: createWorkerStore(createIoredisPort(redis), { keys: store.keys }), executor, logs, now: Date.now, log: () => {}, abandon: () => {}, abandonAfterMs: 1000 });
    const loop = worker.start();
    const jobs = await waitFor('the jobs to finish', async () => {
      const all = await Promise.all(ids.map((id) => store.get(id)));
      return all.every((j) => j && ['succeeded', 'failed'].includes(j.status)) && all;
    }, 20_000);
    const drained = worker.drain();
    blocking.disconnect();
    await drained;
    await loop;
    expect(jobs.map((j) => j?.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(most).toBe(1);
  });
});

describe("the seed's worker environment", () => {
  it('names the type, framework, Redis (no secret) and GPU use', () => {
    expect(seedWorkerEnv({ redisUrl: 'redis://10.0.0.5:6390/2' }, 'sklearn', { framework: 'sklearn', gpu: false })).toEqual({
      WORKER_TYPE: 'sklearn', MODEL_FRAMEWORK: 'sklearn', USE_GPU: 'false', REDIS_HOST: '10.0.0.5', REDIS_PORT: '6390', REDIS_DB: '2', REDIS_URL: 'redis://10.0.0.5:6390/2',
    });
    const secret = seedWorkerEnv({ redisUrl: 'redis://:hunter2@redis.internal:6379/0' }, 'pytorch-2.1-gpu', { framework: 'pytorch', gpu: true });
    expect(secret).toEqual({ WORKER_TYPE: 'pytorch-2.1-gpu', MODEL_FRAMEWORK: 'pytorch', USE_GPU: 'true', REDIS_HOST: 'redis.internal', REDIS_PORT: '6379', REDIS_DB: '0' });
    expect(JSON.stringify(secret)).not.toContain('hunter2');
  });

  it("a Node worker's functions see it, and the type's env, in process.env", async () => {
    const fixtures = join(import.meta.dirname, 'fixtures');
    const sys = await startSystem(server, {
      types: { 'node-env': { framework: 'node', version: '20', max_jobs: 2, max_workers: 1, env: { MY_SETTING: 'on' } } },
      env: { KILN_FUNCTIONS_MODULE: join(fixtures, 'functions.mjs') },
    });
    try {
      const sub = await sys.request('POST', '/jobs', { function: 'seedEnv', worker_type: 'node-env' });
      expect(sub.status, JSON.stringify(sub.body)).toBe(202);
      const job = await sys.waitFor('the job to finish', async () => {
        const j = await sys.job(sub.body.job_id as string);
        return ['succeeded', 'failed'].includes(j.status) && j;
      });
      const url = new URL(server.url);
      expect(job.result).toEqual({
        WORKER_TYPE: 'node-env', MODEL_FRAMEWORK: 'node', USE_GPU: 'false', REDIS_HOST: url.hostname, REDIS_PORT: url.port, REDIS_DB: '0', MY_SETTING: 'on',
      });
    } finally {
      await sys.stop();
    }
  });
});
