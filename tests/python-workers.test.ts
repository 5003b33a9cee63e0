/**
 * Python worker types end to end through the spawner: real /usr/bin/python3 with
 * scikit-learn, the fake framework for protocol-level behaviour, GPUs from the
 * KILN_GPUS override, memory limits and recycling.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const FAKE = join(import.meta.dirname, 'fixtures', 'fake_framework');
const hasSklearn = (() => {
  try {
    execFileSync(PY, ['-c', 'import sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasSklearn) console.log(`skipping the scikit-learn tests: ${PY} cannot import sklearn (apt-get install python3-sklearn)`);

let redis: RedisServer;
let sys: System;

const fake = (extra: Record<string, unknown> = {}) => ({
  framework: 'fake' as const, version: '0.1.0', python: PY, python_path: [FAKE], max_jobs: 1, max_workers: 2, idle_timeout: 60, ...extra,
});

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      sklearn: { framework: 'sklearn', version: '1.2.1', python: PY, max_jobs: 1, max_workers: 1, idle_timeout: 60 },
      tensorflow: { framework: 'tensorflow', version: '2.13.0', python: PY, max_jobs: 1, max_workers: 1 },
      fake: fake({ env: { MY_SETTING: 'on' } }),
      'fake-gpu': fake({ gpu: true, max_workers: 3 }),
      'fake-small': fake({ memory_mb: 120, max_workers: 1 }),
      'fake-recycle': fake({ recycle_after_jobs: 2, max_workers: 1 }),
    },
    env: { KILN_HANDLERS_DIR: join(FAKE, 'handlers'), KILN_GPUS: '0,1' },
    spawner: { cancelGraceMs: 500 },
  });
  mkdirSync(sys.config.dataRoot, { recursive: true });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const post = async (path: string, body: unknown) => {
  const r = await sys.request('POST', path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const until = (id: string, statuses: string[], ms = 30_000) =>
  sys.waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
    const j = await sys.job(id);
    return statuses.includes(j.status) && j;
  }, ms);

describe.skipIf(!hasSklearn)('scikit-learn', () => {
  it('trains on a CSV under the data root, saves the model, then predicts with it', async () => {
    const rows = ['x1,x2,label'];
    for (let i = 0; i < 120; i++) {
      const a = (i % 17) / 17;
      const b = (i % 5) / 5;
      rows.push(`${a},${b},${a + b > 0.9 ? 1 : 0}`);
    }
    writeFileSync(join(sys.config.dataRoot, 'points.csv'), `${rows.join('\n')}\n`);
    const trainId = await post('/jobs/training', { model_type: 'random_forest', data_path: 'points.csv', hyperparameters: { target: 'label', n_estimators: 20, random_state: 1 } });
    const trained = await until(trainId, ['succeeded', 'failed']);
    expect(trained.status, JSON.stringify(trained.error)).toBe('succeeded');
    expect(trained.result.metrics.accuracy).toBeGreaterThan(0.7);
    expect(trained.progress).toBe(1);
    expect(existsSync(join(sys.config.artifactRoot, trainId))).toBe(true);

    const inferId = await post('/jobs/inference', { model_type: 'random_forest', model_path: trainId, inputs: [[0.9, 0.8], [0.0, 0.0]] });
    const inferred = await until(inferId, ['succeeded', 'failed']);
    expect(inferred.status, JSON.stringify(inferred.error)).toBe('succeeded');
    expect(inferred.result.predictions).toEqual([1, 0]);
  });

  it('refuses a data_path that escapes the data root, without retrying', async () => {
    const id = await post('/jobs/training', { model_type: 'logistic_regression', data_path: '/etc/passwd' });
    const failed = await until(id, ['failed']);
    expect(failed.attempts).toBe(1);
    expect(failed.error.message).toContain('/etc/passwd');
  });
});

describe('a missing framework', () => {
  it('fails to start with a clear message shown on the queued job, without endless respawning', async () => {
    const id = await post('/jobs', { worker_type: 'tensorflow', payload: {} });
    const reason = await sys.waitFor('tensorflow errored', async () => (await sys.request('GET', '/workers/status')).body.type_state?.tensorflow);
    expect(reason).toMatch(/tensorflow/i);
    expect(reason).toMatch(/not installed|No module named/);
    const job = await sys.job(id);
    expect(job.status).toBe('queued');
    expect(job.waiting_reason).toContain('errored');
    const starts = () => sys.logs.filter((l) => l.includes('started tensorflow-')).length;
    const before = starts();
    await new Promise((r) => setTimeout(r, 2000));
    expect(starts() - before).toBeLessThanOrEqual(2);
    await sys.request('POST', `/jobs/${id}/cancel`);
  });
});

describe('protocol, cancel and timeout through the runner', () => {
  it('runs a user handler, times out a hung one and replaces its runner, cancels a cooperative one', async () => {
    const ok = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'echo', n: 7 } }), ['succeeded']);
    expect(ok.result.echo).toMatchObject({ handler: 'echo', n: 7 });

    const hung = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'hang' }, timeout_s: 0.5, max_attempts: 1 }), ['failed']);
    expect(hung.error.type).toBe('timeout');
    // the runner was killed and replaced; the worker itself goes on
    expect((await sys.request('GET', `/workers/${hung.worker_id}`)).body.status).not.toBe('exited');
    const next = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'echo' } }), ['succeeded']);
    expect(next.worker_id).toBe(hung.worker_id);

    const coop = await post('/jobs', { worker_type: 'fake', payload: { handler: 'cooperative', seconds: 30 } });
    await until(coop, ['running']);
    await sys.request('POST', `/jobs/${coop}/cancel`);
    expect((await until(coop, ['cancelled'], 5000)).status).toBe('cancelled');

    const garbage = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'garbage' }, max_attempts: 1 }), ['failed']);
    expect(garbage.error.type).toBe('protocol_error');
    const after = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'echo' } }), ['succeeded']);
    expect(after.status).toBe('succeeded');
  });
});

describe("the seed's worker environment", () => {
  it("reaches the runner's handlers: WORKER_TYPE, MODEL_FRAMEWORK, REDIS_*, USE_GPU and the type's env", async () => {
    const job = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'seed_env' } }), ['succeeded', 'failed']);
    const url = new URL(redis.url);
    expect(job.result).toEqual({
      WORKER_TYPE: 'fake', MODEL_FRAMEWORK: 'fake', USE_GPU: 'false', REDIS_HOST: url.hostname, REDIS_PORT: url.port, REDIS_DB: '0', REDIS_URL: redis.url, MY_SETTING: 'on',
    });
  });
});

describe('GPUs', () => {
  it('gives each GPU worker an exclusive GPU, and jobs wait (saying why) when none is free', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await post('/jobs', { worker_type: 'fake-gpu', payload: { handler: 'gpu_env', seconds: 1.5 } }));
    const waiting = await sys.waitFor('the GPU wait reason', async () => (await sys.request('GET', '/workers/status')).body.type_state?.['fake-gpu']);
    expect(waiting).toContain('no free GPU');
    const jobs = await Promise.all(ids.map((id) => until(id, ['succeeded'])));
    const devices = jobs.map((j) => j.result.cuda_visible_devices);
    expect(new Set(devices.slice(0, 2))).toEqual(new Set(['0', '1']));
    expect(['0', '1']).toContain(devices[2]);
    expect(sys.spawner.supervisor.ofType('fake-gpu').length).toBeLessThanOrEqual(2);
    // a CPU type sees no GPU at all
    const cpu = await until(await post('/jobs', { worker_type: 'fake', payload: { handler: 'gpu_env' } }), ['succeeded']);
    expect(cpu.result.cuda_visible_devices).toBe('');
  });

  it('refuses requires_gpu with 409 when no spawner has a GPU', async () => {
    const r2 = await startRedis();
    const s2 = await startSystem(r2, { env: { KILN_GPUS: 'none' } });
    try {
      const r = await s2.request('POST', '/jobs/training', { model_type: 'bert', data_path: 'x.csv', requires_gpu: true });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('NO_GPU');
      expect(r.body.error.message).toContain('KILN_GPU_QUEUE_WITHOUT_GPUS');
    } finally {
      await s2.stop();
      await r2.stop();
    }
  });
});

describe('resource limits', () => {
  it('kills a worker over memory_mb and says so in the job error', async () => {
    const id = await post('/jobs', { worker_type: 'fake-small', payload: { handler: 'memory_hog', mb: 300, seconds: 20 }, max_attempts: 1 });
    const failed = await until(id, ['failed']);
    expect(failed.error.type).toBe('memory_limit');
    expect(failed.error.message).toMatch(/memory limit exceeded \(peak \d+ MiB > limit 120 MiB\)/);
  });

  it('recycles a worker after recycle_after_jobs jobs', async () => {
    const workers: string[] = [];
    for (let i = 0; i < 3; i++) workers.push((await until(await post('/jobs', { worker_type: 'fake-recycle', payload: { handler: 'echo' } }), ['succeeded'])).worker_id);
    expect(workers[1]).toBe(workers[0]);
    expect(workers[2]).not.toBe(workers[0]);
  });
});
