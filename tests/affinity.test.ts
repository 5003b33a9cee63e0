/**
 * Model affinity end to end: two hosts (two spawners on one Redis), one sklearn worker each.
 * An inference job goes to the worker whose runner holds its model, even when the other worker
 * has been waiting longer; when that worker stays busy past affinity_wait_ms, the other takes it
 * (and promptly: its wait for work ends when the job becomes its to take).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpawnerConfig, loadWorkerTypes } from '../spawner/config';
import { startSpawner, type SpawnerHandle } from '../spawner/daemon';
import { workerBoot } from '../spawner/worker-boot';
import type { ExecContext } from '../worker-runtime/executor';
import { createPythonExecutor } from '../worker-runtime/python-executor';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const hasSklearn = spawnSync(PY, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
const WAIT_MS = 400;

let redis: RedisServer;
let a: System;
let b: SpawnerHandle | undefined;
const stateB = mkdtempSync(join(tmpdir(), 'kiln-affinity-b-'));

beforeAll(async () => {
  if (!hasSklearn) return;
  redis = await startRedis();
  a = await startSystem(redis, {
    types: { sklearn: { framework: 'sklearn', version: '1.2.1', python: PY, max_jobs: 1, min_workers: 1, max_workers: 1, idle_timeout: 60, affinity_wait_ms: WAIT_MS } },
  });
  b = await startSpawner({ ...a.config, hostId: 'host-b', stateDir: stateB, port: 0 }, () => {});
  mkdirSync(a.config.dataRoot, { recursive: true });
  const rows = ['x1,x2,label'];
  for (let i = 0; i < 120; i++) rows.push(`${(i % 17) / 17},${(i % 5) / 5},${(i % 17) / 17 + (i % 5) / 5 > 0.9 ? 1 : 0}`);
  writeFileSync(join(a.config.dataRoot, 'points.csv'), `${rows.join('\n')}\n`);
}, 60_000);

afterAll(async () => {
  await b?.stop(1000);
  await a?.stop();
  await redis?.stop();
  rmSync(stateB, { recursive: true, force: true });
});

const post = async (path: string, body: unknown) => {
  const r = await a.request('POST', path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const until = (id: string, statuses: string[]) => a.waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
  const j = await a.job(id);
  return statuses.includes(j.status) && j;
}, 30_000);
const train = (n: number) => post('/jobs/training', { model_type: 'random_forest', data_path: 'points.csv', hyperparameters: { target: 'label', n_estimators: n, random_state: 1 } });
const infer = async (model: string) => {
  const j = await until(await post('/jobs/inference', { model_type: 'random_forest', model_path: model, inputs: [[0.9, 0.8]] }), ['succeeded', 'failed']);
  expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
  return j;
};

describe.skipIf(!hasSklearn)('model affinity across two hosts', () => {
  it('sends inference to the worker holding the model; past affinity_wait_ms a busy holder loses the job to the other', async () => {
    await a.waitFor('a worker on each host', async () => (await a.request('GET', '/workers/status')).body.types.sklearn.workers.idle === 2, 30_000);
    const [m1, m2] = [await train(20), await train(10)];
    for (const id of [m1, m2]) expect((await until(id, ['succeeded', 'failed'])).status).toBe('succeeded');
    const holder = { [m1]: (await infer(m1)).worker_id as string, [m2]: (await infer(m2)).worker_id as string };
    const workers = [...(await a.redis.smembers(`{${a.prefix}}:workers:sklearn`))].sort();
    expect(workers).toHaveLength(2);
    // each worker advertises what its runner keeps
    expect(await a.redis.smembers(`{${a.prefix}}:worker-models:${holder[m1]!}`)).toContain(m1);
    // the other worker waited longer each time (it would get the wake-up first), yet the holder runs the job from its cache
    for (const m of [m1, m1, m2, m2, m1]) expect(await infer(m)).toMatchObject({ worker_id: holder[m], result: { model_cached: true } });
    // a long training job keeps one worker busy; an inference for a model only it holds waits WAIT_MS, then the other takes it
    const long = await train(3000);
    const busy = (await until(long, ['running'])).worker_id as string;
    const model = holder[m1] === busy ? m1 : m2;
    const other = workers.find((w) => w !== busy);
    if (holder[model] !== busy) return; // both models on the idle worker: nothing left for the busy one to hold
    const j = await infer(model);
    const wait = j.timings.queue_wait_ms as number;
    expect(j).toMatchObject({ worker_id: other, result: { model_cached: false } });
    expect(wait).toBeGreaterThanOrEqual(WAIT_MS - 20);
    expect(wait).toBeLessThan(WAIT_MS + 2500); // its wait for work ended with the affinity window, not the 5 s BLPOP
    expect((await a.job(long)).status).toBe('running'); // the holder was busy the whole time
    await until(long, ['succeeded']);
  }, 90_000);
});

describe('affinity_wait_ms config', () => {
  const typesFile = (types: unknown) => {
    const file = join(stateB, `types-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(types));
    return { WORKER_TYPES_FILE: file };
  };

  it('refuses a bad value, or the field on a Node type, naming it; a Python worker gets the default 100 ms, a Node worker none', () => {
    const sk = (extra: object) => typesFile({ sk: { framework: 'sklearn', version: '1.3.0', ...extra } });
    for (const bad of [-1, 1.5, '100', 60_001]) expect(() => loadWorkerTypes(sk({ affinity_wait_ms: bad }))).toThrow(/sk\.affinity_wait_ms/);
    expect(() => loadWorkerTypes(typesFile({ fn: { framework: 'node', version: '20', affinity_wait_ms: 50 } }))).toThrow(/fn\.affinity_wait_ms: .*Python/);
    const config = loadSpawnerConfig({ KILN_STATE_DIR: stateB, ...sk({ affinity_wait_ms: 0 }) });
    expect(workerBoot(config, 'w1', 'sk', config.types.sk!).affinity_wait_ms).toBe(0);
    expect(workerBoot(config, 'w2', 'sklearn', config.types.sklearn!).affinity_wait_ms).toBe(100);
    expect(workerBoot(config, 'w3', 'node', config.types.node!).affinity_wait_ms).toBeUndefined();
  });
});

describe.skipIf(!existsSync(PY))("a runner's advertised models", () => {
  it('lists the kept models by training job id after each change, and none once the runner is replaced', async () => {
    const fixtures = fileURLToPath(new URL('fixtures/fake_framework', import.meta.url));
    const reports: (string[] | undefined)[] = [];
    const e = createPythonExecutor({
      python: PY, framework: 'fake', cwd: stateB, pythonPath: [fixtures], cancelGraceMs: 300, startTimeoutMs: 15_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KILN_HANDLERS_DIR: join(fixtures, 'handlers'), KILN_DATA_ROOT: stateB, KILN_ARTIFACT_ROOT: stateB, KILN_MODEL_CACHE_SIZE: '1' },
      onModelCache: (m) => reports.push(m.models),
    });
    let seq = 0;
    const run = (payload: unknown, controller = new AbortController(), progress: () => void = () => {}) => {
      const ctx: ExecContext = { signal: controller.signal, progress, log: () => {} };
      return e.run({ id: `j${++seq}`, seq, type: 'fake', kind: 'generic', payload, status: 'running', priority: 0, attempts: 1, max_attempts: 1, timeout_ms: 60_000, progress: 0, created_at: Date.now() }, ctx);
    };
    try {
      await run({ handler: 'advertised_model', key: 'm1' });
      await run({ handler: 'advertised_model', key: 'm1' }); // a hit: the same models (the worker writes only changes)
      await run({ handler: 'advertised_model', key: 'm2' }); // size 1: m1 is evicted
      expect(reports).toEqual([['m1'], ['m1'], ['m2']]);
      const controller = new AbortController();
      let started!: () => void;
      const hanging = new Promise<void>((r) => (started = r));
      const hung = run({ handler: 'hang' }, controller, () => started()).catch(() => 'failed');
      await hanging;
      controller.abort(); // the hang handler ignores it: its runner is killed and replaced
      expect(await hung).toBe('failed');
      await run({ handler: 'advertised_model', key: 'm3' });
      expect(reports.slice(3)).toEqual([[], ['m3']]);
    } finally {
      await e.stop();
    }
  }, 30_000);
});
