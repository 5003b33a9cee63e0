/**
 * `npm run bench`, inference rows (issue #12): for scikit-learn and PyTorch on CPU,
 * inference latency p50/p99 with the model kept in the runner's cache against the
 * same type with `model_cache_size: 0` (the model loaded for every job), measured
 * alternately in one run through `POST /jobs/inference?wait=` (submit → finished
 * job in the answer). A framework the interpreter cannot import is a skipped row.
 * Then, under load (50 in flight, two workers, four models), jobs/s and latency with
 * affinity (`affinity_wait_ms`) against none: what affinity costs when every worker is busy;
 * and with dynamic batching (`batch`) against none, one worker, one model.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerTypeInput } from '../core/schemas/worker-type';
import type { RedisServer } from '../tests/helpers/redis-server';
import { startSystem, type System } from '../tests/helpers/system';
import { pythonImportFloor } from './cold-runs';
import type { Row } from './report';
import { percentile } from './stats';

const PYTHON = process.env.KILN_BENCH_PYTHON ?? '/usr/bin/python3';
const FRAMEWORKS = [
  { name: 'sklearn', framework: 'sklearn', version: '1.2', module: 'sklearn', model_type: 'random_forest', hyperparameters: { target: 'label', n_estimators: 300 } },
  { name: 'torch', framework: 'pytorch', version: '2.1', module: 'torch', model_type: 'mlp', hyperparameters: { target: 'label', epochs: 1, hidden_sizes: [1024, 1024, 1024] } },
] as const;

/** A small tabular dataset: 8 features, a binary label. */
function writeDataset(dir: string): void {
  const rows = [`${Array.from({ length: 8 }, (_, i) => `f${i}`).join(',')},label`];
  for (let i = 0; i < 400; i++) {
    const f = Array.from({ length: 8 }, (_, j) => ((i * (j + 3)) % 17) / 17);
    rows.push(`${f.map((x) => x.toFixed(4)).join(',')},${f[0]! + f[1]! > 1 ? 1 : 0}`);
  }
  writeFileSync(join(dir, 'train.csv'), `${rows.join('\n')}\n`);
}

async function finished(sys: System, path: string, body: unknown): Promise<{ ms: number; job: any }> {
  const t0 = performance.now();
  const key = randomUUID();
  let r = await sys.request('POST', `${path}?wait=30`, body, { 'idempotency-key': key });
  // a busy 2-core machine can make the API's Redis guard time out: the same key is safe to repeat
  for (let i = 0; i < 3 && r.status === 503; i++) r = await sys.request('POST', `${path}?wait=30`, body, { 'idempotency-key': key });
  const ms = performance.now() - t0;
  if (r.status !== 200 || r.body.status !== 'succeeded') throw new Error(`${path} did not succeed within the wait: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return { ms, job: r.body };
}

interface LoadResult { jobsPerSec: number; p50: number; p99: number }

/** `jobs` inference jobs over `models`, `inFlight` at once, each submit waiting for its job; jobs/s from first submit to last answer. */
async function loadRun(sys: System, type: string, models: string[], jobs: number, inFlight: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const client = async () => {
    while (next < jobs) {
      const i = next++;
      const r = await finished(sys, '/jobs/inference', { model_type: 'random_forest', model_path: models[i % models.length], worker_type: type, inputs: [[i % 7 / 7, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]] });
      latencies.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, client));
  const s = (performance.now() - t0) / 1000;
  return { jobsPerSec: Math.round(jobs / s), p50: Math.round(percentile(latencies, 50) * 10) / 10, p99: Math.round(percentile(latencies, 99) * 10) / 10 };
}

export async function inferRows(redis: RedisServer, o: { samples: number; loadJobs: number; deadline: number }): Promise<Row[]> {
  const rows: Row[] = [];
  const installed = [];
  for (const f of FRAMEWORKS) {
    if ((await pythonImportFloor(PYTHON, f.module)) === null) {
      rows.push({ measure: `Inference p50, ${f.name}, model cached`, figure: null, unit: 'ms', counterpart: 'model loaded per job', counterpartFigure: null, target: null, note: `skipped: ${f.module} is not importable by ${PYTHON}` });
    } else installed.push(f);
  }
  if (installed.length === 0) return rows;
  const data = mkdtempSync(join(tmpdir(), 'kiln-bench-infer-'));
  writeDataset(data);
  const types: Record<string, WorkerTypeInput> = {};
  for (const f of installed) {
    const base = { framework: f.framework, version: f.version, python: PYTHON, idle_timeout: 600, max_jobs: 1, max_workers: 1 };
    types[`${f.name}-cached`] = { ...base, model_cache_size: 4 };
    types[`${f.name}-uncached`] = { ...base, model_cache_size: 0 };
  }
  if (installed.some((f) => f.name === 'sklearn')) {
    const pool = { framework: 'sklearn', version: '1.2', python: PYTHON, idle_timeout: 600, max_jobs: 1, max_workers: 2, model_cache_size: 2 } as const;
    types['sklearn-affinity'] = { ...pool, affinity_wait_ms: 100 };
    types['sklearn-anywhere'] = { ...pool, affinity_wait_ms: 0 };
    const one = { ...pool, max_workers: 1 };
    types['sklearn-batched'] = { ...one, batch: { max_size: 16, max_wait_ms: 10 } };
    types['sklearn-single'] = one;
  }
  const sys = await startSystem(redis, { types, env: { DATA_ROOT: data }, watchJobEnds: true }); // ?wait= woken as the Node API is
  try {
    for (const f of installed) {
      const trained = await finished(sys, '/jobs/training', { model_type: f.model_type, data_path: 'train.csv', hyperparameters: f.hyperparameters, worker_type: `${f.name}-cached` });
      const infer = (variant: 'cached' | 'uncached') => finished(sys, '/jobs/inference', {
        model_type: f.model_type, model_path: trained.job.job_id, worker_type: `${f.name}-${variant}`,
        inputs: [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]],
      });
      // warm both workers (first load, first predict) before measuring
      for (let i = 0; i < 3; i++) await Promise.all([infer('cached'), infer('uncached')]);
      const cached: number[] = [];
      const uncached: number[] = [];
      const runMs = { cached: [] as number[], uncached: [] as number[] };
      const loadMs: number[] = [];
      const waitMs: number[] = [];
      for (let i = 0; i < o.samples; i++) {
        if (Date.now() > o.deadline) throw new Error('bench deadline passed during inference latency');
        const order = i % 2 === 0 ? (['cached', 'uncached'] as const) : (['uncached', 'cached'] as const);
        for (const v of order) {
          const r = await infer(v);
          if (r.job.result?.model_cached !== (v === 'cached')) throw new Error(`${f.name} ${v}: result says model_cached=${String(r.job.result?.model_cached)}`);
          (v === 'cached' ? cached : uncached).push(r.ms);
          runMs[v].push(r.job.timings.run_ms);
          waitMs.push(r.job.timings.queue_wait_ms);
          if (v === 'uncached') loadMs.push(r.job.result.model_load_ms);
        }
      }
      for (const p of [50, 99]) {
        rows.push({
          measure: `Inference latency p${p}, ${f.name} (${f.model_type}, CPU), model cached (\`POST /jobs/inference?wait=\`, n=${o.samples})`,
          figure: Math.round(percentile(cached, p) * 10) / 10, unit: 'ms',
          counterpart: 'same type with `model_cache_size: 0` (loaded per job)',
          counterpartFigure: Math.round(percentile(uncached, p) * 10) / 10, target: null,
          note: `in the handler (run_ms) p${p}: ${percentile(runMs.cached, p)} vs ${percentile(runMs.uncached, p)} ms; a load (model_load_ms) p50 ${Math.round(percentile(loadMs, 50))} ms; queue wait p50 ${percentile(waitMs, 50)} ms`,
        });
      }
    }
    if (types['sklearn-affinity']) rows.push(...(await affinityRows(sys, o)), ...(await batchRows(sys, o)));
    return rows;
  } finally {
    await sys.stop().catch((e: unknown) => console.error(`stopping Kiln: ${String(e)}`));
    rmSync(data, { recursive: true, force: true });
  }
}

/** Four models, two workers that keep two each, 50 in flight: affinity (wait 100 ms for the holder) against none (any worker, which loads). */
async function affinityRows(sys: System, o: { loadJobs: number; deadline: number }): Promise<Row[]> {
  const models: string[] = [];
  for (let i = 0; i < 4; i++) {
    const t = await finished(sys, '/jobs/training', { model_type: 'random_forest', data_path: 'train.csv', hyperparameters: { target: 'label', n_estimators: 300, random_state: i }, worker_type: 'sklearn-affinity' });
    models.push(t.job.job_id);
  }
  const runs: Record<string, LoadResult[]> = { 'sklearn-affinity': [], 'sklearn-anywhere': [] };
  for (const type of ['sklearn-affinity', 'sklearn-anywhere', 'sklearn-anywhere', 'sklearn-affinity']) {
    if (Date.now() > o.deadline) throw new Error('bench deadline passed during the affinity runs');
    await loadRun(sys, type, models, 20, 4); // warm: both workers up, models loaded
    runs[type]!.push(await loadRun(sys, type, models, o.loadJobs, 50));
  }
  const best = (xs: LoadResult[]) => xs.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
  const on = best(runs['sklearn-affinity']!);
  const off = best(runs['sklearn-anywhere']!);
  const what = `${o.loadJobs} sklearn inference jobs over 4 models, 50 in flight, 2 workers keeping 2 models each`;
  return [
    { measure: `Inference throughput with affinity (\`affinity_wait_ms: 100\`; ${what}; best of 2)`, figure: on.jobsPerSec, unit: 'jobs/s', counterpart: '`affinity_wait_ms: 0` (any free worker, which loads the model)', counterpartFigure: off.jobsPerSec, target: null },
    { measure: `Inference latency p50 with affinity (same load)`, figure: on.p50, unit: 'ms', counterpart: '`affinity_wait_ms: 0`', counterpartFigure: off.p50, target: null, note: `p99 ${on.p99} vs ${off.p99} ms` },
  ];
}

/** One model, one worker, 50 in flight: dynamic batching (up to 16 jobs, 10 ms to fill) against one job at a time. */
async function batchRows(sys: System, o: { loadJobs: number; deadline: number }): Promise<Row[]> {
  const t = await finished(sys, '/jobs/training', { model_type: 'random_forest', data_path: 'train.csv', hyperparameters: { target: 'label', n_estimators: 300 }, worker_type: 'sklearn-batched' });
  const models = [t.job.job_id as string];
  const runs: Record<string, LoadResult[]> = { 'sklearn-batched': [], 'sklearn-single': [] };
  for (const type of ['sklearn-batched', 'sklearn-single', 'sklearn-single', 'sklearn-batched']) {
    if (Date.now() > o.deadline) throw new Error('bench deadline passed during the batching runs');
    await loadRun(sys, type, models, 8, 4); // warm: the worker up, the model loaded
    runs[type]!.push(await loadRun(sys, type, models, o.loadJobs, 50));
  }
  const best = (xs: LoadResult[]) => xs.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
  const on = best(runs['sklearn-batched']!);
  const off = best(runs['sklearn-single']!);
  const what = `${o.loadJobs} sklearn inference jobs for one model, 50 in flight, one worker`;
  return [
    { measure: `Inference throughput with batching (\`batch: {max_size: 16, max_wait_ms: 10}\`; ${what}; best of 2)`, figure: on.jobsPerSec, unit: 'jobs/s', counterpart: 'no batching (one job per handler call)', counterpartFigure: off.jobsPerSec, target: null },
    { measure: `Inference latency p50 with batching (same load)`, figure: on.p50, unit: 'ms', counterpart: 'no batching', counterpartFigure: off.p50, target: null, note: `p99 ${on.p99} vs ${off.p99} ms` },
  ];
}
