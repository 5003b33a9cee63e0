/**
 * The Python runner's model cache (kiln_runner/models.py): LRU by count and by MB,
 * ctx.models.get for user handlers, built-in sklearn/torch inference recording
 * model_cached, the counts reaching the spawner's metrics, and the type's config.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ModelCacheCounts } from '../core/job-stats';
import type { JobRecord } from '../core/schemas/job';
import { loadSpawnerConfig, loadWorkerTypes } from '../spawner/config';
import { workerBoot } from '../spawner/worker-boot';
import { createSpawnerMetrics } from '../spawner/metrics';
import type { ExecContext } from '../worker-runtime/executor';
import { createPythonExecutor, type PythonExecutor } from '../worker-runtime/python-executor';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'fake_framework');
const hasPython = existsSync(PYTHON);
const canImport = (module: string) => hasPython && spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
const hasSklearn = canImport('sklearn');
const hasTorch = canImport('torch');

const work = mkdtempSync(join(tmpdir(), 'kiln-mcache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const executors: PythonExecutor[] = [];
afterEach(async () => {
  await Promise.all(executors.map((e) => e.stop()));
  executors.length = 0;
});

/** A runner of `framework` with the cache env, and every model_cache report it sent. */
function runner(framework: string, env: Record<string, string>) {
  const reports: ModelCacheCounts[] = [];
  const artifacts = join(work, 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  const key = join(work, 'artifact.key');
  writeFileSync(key, `${'k'.repeat(43)}\n`, { mode: 0o600 });
  const e = createPythonExecutor({
    python: PYTHON, framework, cwd: work, pythonPath: [FIXTURES], startTimeoutMs: 30_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', KILN_HANDLERS_DIR: join(FIXTURES, 'handlers'), KILN_DATA_ROOT: work,
      KILN_ARTIFACT_ROOT: artifacts, KILN_ARTIFACT_KEY_FILE: key, ...env,
    },
    onModelCache: (c) => reports.push(c),
  });
  executors.push(e);
  let seq = 0;
  const run = async (payload: unknown, kind: JobRecord['kind'] = 'generic', id = `j${++seq}`): Promise<any> => {
    const ctx: ExecContext = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
    return e.run({ id, seq, type: framework, kind, payload, status: 'running', priority: 0, attempts: 1, max_attempts: 1, timeout_ms: 60_000, progress: 0, created_at: Date.now() }, ctx);
  };
  const total = (k: keyof ModelCacheCounts) => reports.reduce((n, r) => n + r[k], 0);
  return { executor: e, run, reports, total };
}

describe.skipIf(!hasPython)('ctx.models.get in a user handler', () => {
  it('keeps model_cache_size models: a hit on the second get, the third key evicts the first, which then reloads', async () => {
    const r = runner('fake', { KILN_MODEL_CACHE_SIZE: '2' });
    const get = (key: string) => r.run({ handler: 'cached_model', key });
    expect(await get('a')).toMatchObject({ cached: false, loads: ['a'] });
    expect(await get('a')).toMatchObject({ cached: true, load_ms: 0, loads: ['a'] });
    await get('b');
    await get('c'); // a is the least recently used: out
    expect(await get('a')).toMatchObject({ cached: false, loads: ['a', 'b', 'c', 'a'] });
    expect(await get('c')).toMatchObject({ cached: true });
    expect({ hits: r.total('hits'), misses: r.total('misses'), evictions: r.total('evictions'), loads: r.total('loads') })
      .toEqual({ hits: 2, misses: 4, evictions: 2, loads: 4 });
  });

  it('keeps models within model_cache_mb by their estimated size, and never one larger than the bound', async () => {
    const r = runner('fake', { KILN_MODEL_CACHE_MB: '3' });
    const get = (key: string, mb: number) => r.run({ handler: 'cached_model', key, mb });
    await get('two-a', 2);
    expect(await get('two-a', 2)).toMatchObject({ cached: true });
    await get('two-b', 2); // 4 MB > 3: two-a goes
    expect(await get('two-b', 2)).toMatchObject({ cached: true });
    expect(await get('two-a', 2)).toMatchObject({ cached: false });
    await get('big', 4);
    expect(await get('big', 4)).toMatchObject({ cached: false });
    expect(r.total('evictions')).toBe(2);
  });

  it('a bad KILN_MODEL_CACHE_SIZE fails the runner start, naming the variable', async () => {
    const r = runner('fake', { KILN_MODEL_CACHE_SIZE: 'lots' });
    await expect(r.executor.start()).rejects.toThrow(/KILN_MODEL_CACHE_SIZE=lots is not a number/);
  });
});

const trainingCsv = () => {
  const rows = ['f1,f2,label'];
  for (let i = 0; i < 60; i++) rows.push(`${(i % 7) / 7},${(i % 3) / 3},${i % 2}`);
  writeFileSync(join(work, 'train.csv'), `${rows.join('\n')}\n`);
};

describe.skipIf(!hasSklearn)('built-in sklearn inference', () => {
  it('records model_cached on each result; with model_cache_size 2 the third model evicts the first, which reloads', async () => {
    trainingCsv();
    const r = runner('sklearn', { KILN_MODEL_CACHE_SIZE: '2' });
    for (const id of ['m1', 'm2', 'm3']) {
      await r.run({ model_type: 'logistic_regression', data_path: 'train.csv', hyperparameters: { target: 'label' } }, 'training', id);
    }
    const infer = (model: string) => r.run({ model_path: model, inputs: [[0.5, 0.5]] }, 'inference');
    expect(await infer('m1')).toMatchObject({ model_cached: false });
    const hit = await infer('m1');
    expect(hit).toMatchObject({ model_cached: true, model_load_ms: 0 });
    expect(hit.predictions).toHaveLength(1);
    await infer('m2');
    expect(await infer('m3')).toMatchObject({ model_cached: false });
    expect(await infer('m1')).toMatchObject({ model_cached: false }); // evicted by m3, loaded again
    expect(r.total('evictions')).toBe(2);
    expect(r.total('hits')).toBe(1);
  });
});

describe.skipIf(!hasTorch)('built-in PyTorch inference', () => {
  it('loads a model once and answers the next inference from the cache', async () => {
    trainingCsv();
    const r = runner('pytorch', {});
    await r.run({ model_type: 'mlp', data_path: 'train.csv', hyperparameters: { target: 'label', epochs: 1 } }, 'training', 't1');
    const first = await r.run({ model_path: 't1', inputs: [[0.5, 0.5]] }, 'inference');
    expect(first).toMatchObject({ model_cached: false });
    expect(first.model_load_ms).toBeGreaterThan(0);
    expect(await r.run({ model_path: 't1', inputs: [[0.1, 0.2]] }, 'inference')).toMatchObject({ model_cached: true });
  });
});

describe('model cache configuration and metrics', () => {
  const typesFile = (types: unknown) => {
    const file = join(work, `types-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(types));
    return { WORKER_TYPES_FILE: file };
  };

  it('refuses a bad model_cache_size / model_cache_mb, or either on a Node type, naming the field', () => {
    const sk = (extra: object) => typesFile({ sk: { framework: 'sklearn', version: '1.3.0', ...extra } });
    expect(() => loadWorkerTypes(sk({ model_cache_size: -1 }))).toThrow(/sk\.model_cache_size/);
    expect(() => loadWorkerTypes(sk({ model_cache_size: 1.5 }))).toThrow(/sk\.model_cache_size/);
    expect(() => loadWorkerTypes(sk({ model_cache_mb: 0 }))).toThrow(/sk\.model_cache_mb/);
    expect(() => loadWorkerTypes(sk({ model_cache_mb: '512' }))).toThrow(/sk\.model_cache_mb/);
    expect(() => loadWorkerTypes(typesFile({ fn: { framework: 'node', version: '20', model_cache_size: 2 } }))).toThrow(/fn\.model_cache_size: .*Python/);
    expect(loadWorkerTypes(sk({ model_cache_size: 0, model_cache_mb: 256 })).sk).toMatchObject({ model_cache_size: 0, model_cache_mb: 256 });
  });

  it('tells a Python worker its bounds (default 4 models, no MB bound) and a Node worker none', () => {
    const config = loadSpawnerConfig({ KILN_STATE_DIR: work, ...typesFile({ sk2: { framework: 'sklearn', version: '1.3.0', model_cache_mb: 64 } }) });
    expect(workerBoot(config, 'w1', 'sklearn', config.types.sklearn!).model_cache).toEqual({ size: 4 });
    expect(workerBoot(config, 'w2', 'sk2', config.types.sk2!).model_cache).toEqual({ size: 4, mb: 64 });
    expect(workerBoot(config, 'w3', 'node', config.types.node!).model_cache).toBeUndefined();
  });

  it("a worker's stats turn into kiln_model_cache_*_total counters per type", async () => {
    const { registry, sink } = createSpawnerMetrics({ redis: undefined as never, keys: undefined as never, types: [], workers: () => [], log: () => {} });
    const empty = { counts: [], sum: 0, count: 0 };
    sink.workerStats('sklearn', { jobs: {}, duration: empty, queue_wait: empty, log_lines_dropped: 0, model_cache: { hits: 3, misses: 2, evictions: 1, loads: 2, load_ms: 1500 } });
    sink.workerStats('sklearn', { jobs: {}, duration: empty, queue_wait: empty, log_lines_dropped: 0, model_cache: { hits: 1, misses: 0, evictions: 0, loads: 0, load_ms: 0 } });
    const text = await registry.getSingleMetricAsString('kiln_model_cache_hits_total');
    expect(text).toContain('kiln_model_cache_hits_total{worker_type="sklearn"} 4');
    expect(await registry.getSingleMetricAsString('kiln_model_cache_evictions_total')).toContain('{worker_type="sklearn"} 1');
    expect(await registry.getSingleMetricAsString('kiln_model_cache_load_seconds_total')).toContain('{worker_type="sklearn"} 1.5');
  });
});

describe.skipIf(!hasPython)('through the spawner', () => {
  let redis: RedisServer | undefined;
  let sys: System | undefined;
  afterAll(async () => {
    await sys?.stop();
    await redis?.stop();
  });

  it("the type's model_cache_size reaches the runner and its hits, misses and evictions reach /metrics", async () => {
    redis = await startRedis();
    const s = await startSystem(redis, {
      types: { 'fake-cache': { framework: 'fake', version: '0.1.0', python: PYTHON, python_path: [FIXTURES], max_workers: 1, model_cache_size: 1 } },
      env: { KILN_HANDLERS_DIR: join(FIXTURES, 'handlers') },
    });
    sys = s;
    const get = async (key: string) => {
      const r = await s.request('POST', '/jobs', { worker_type: 'fake-cache', payload: { handler: 'cached_model', key } });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return s.waitFor(`job ${r.body.job_id as string}`, async () => {
        const j = await s.job(r.body.job_id as string);
        return ['succeeded', 'failed'].includes(j.status) && j;
      });
    };
    expect((await get('a')).result).toMatchObject({ cached: false });
    expect((await get('a')).result).toMatchObject({ cached: true });
    expect((await get('b')).result).toMatchObject({ cached: false }); // size 1: a is out
    expect((await get('a')).result).toMatchObject({ cached: false, loads: ['a', 'b', 'a'] });
    const series = (text: string, name: string) => Number(new RegExp(`^${name}\\{worker_type="fake-cache"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const counts = await s.waitFor('the cache counts in /metrics', async () => {
      const text = await (await fetch(`${s.spawner.url}/metrics`, { headers: { authorization: `Bearer ${s.spawner.token}` } })).text();
      const c = { hits: series(text, 'kiln_model_cache_hits_total'), misses: series(text, 'kiln_model_cache_misses_total'), evictions: series(text, 'kiln_model_cache_evictions_total') };
      return c.misses === 3 && c;
    });
    expect(counts).toEqual({ hits: 1, misses: 3, evictions: 2 });
  });
});
