/**
 * Progress metrics: `ctx.progress(value, message, metrics)` in Node and Python, kept
 * on the job (progress_metrics, metrics_history) and carried by SSE progress events.
 * Real Redis, real workers, real Python (torch and sklearn when installed).
 */
import { jobRecordSettings } from '../core/config';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore, type JobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import type { JobRecord } from '../core/schemas/job';
import { METRICS_MAX_KEYS } from '../core/schemas/progress';
import type { ExecContext } from '../worker-runtime/executor';
import { stepMetrics } from '../worker-runtime/functions/builtins';
import { createProgressReporter } from '../worker-runtime/progress-reporter';
import { createPythonExecutor } from '../worker-runtime/python-executor';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures');
const FAKE = join(FIXTURES, 'fake_framework');
const canImport = (module: string) => existsSync(PY) && spawnSync(PY, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
const hasPython = existsSync(PY);
const hasTorch = canImport('torch');
const hasSklearn = canImport('sklearn');
if (!hasTorch) console.log(`skipping the PyTorch metrics test: ${PY} cannot import torch (apt-get install python3-torch)`);
if (!hasSklearn) console.log(`skipping the scikit-learn metrics test: ${PY} cannot import sklearn (apt-get install python3-sklearn)`);

let redis: RedisServer;
let client: Redis;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

/** A store with its own prefix, and a job of type `ptype` claimed by worker `w1`. */
async function claimedJob(opts: { cap?: number; maxAttempts?: number } = {}): Promise<{ store: JobStore; id: string }> {
  const keys = createKeys(`pm${++n}x${Date.now() % 100000}`);
  const store = createJobStore(createIoredisPort(client), { keys, ...jobRecordSettings({}), ...(opts.cap && { progressHistoryCap: opts.cap }) });
  await client.hset(keys.types(), 'ptype', '{}');
  const id = `job-${n}`;
  await store.enqueue({ id, type: 'ptype', kind: 'generic', payload: {}, priority: 0, maxAttempts: opts.maxAttempts ?? 3, timeoutMs: 0, now: Date.now(), typeCheck: 'custom' });
  expect((await store.claim('ptype', 'w1', Date.now())).map((j) => j.id)).toEqual([id]);
  return { store, id };
}

const point = (i: number, total: number, metrics?: Record<string, number>) => ({ ts: 1_700_000_000_000 + i * 1000, progress: i / total, message: `step ${i}`, ...(metrics && { metrics }) });

describe('progress history in Redis', () => {
  it('keeps at most the cap, thinned to an even stride, always with the first and the newest point', async () => {
    const { store, id } = await claimedJob({ cap: 10 });
    const total = 100;
    for (let i = 0; i < total; i += 7) {
      const batch = [];
      for (let j = i; j < Math.min(total, i + 7); j++) batch.push(point(j, total - 1, { step: j }));
      expect(await store.progress(id, 'w1', batch, Date.now())).toBe(true);
      expect(await client.xlen(store.keys.progressHistory(id))).toBeLessThanOrEqual(10);
    }
    const history = await store.progressHistory(id);
    const steps = history.map((h) => h.metrics?.step);
    expect(steps[0]).toBe(0);
    expect(steps.at(-1)).toBe(99);
    // every point but the newest sits on one stride, a power of two, so the whole run keeps its shape
    const kept = steps.slice(0, -1) as number[];
    const stride = kept[1]! - kept[0]!;
    expect(Math.log2(stride) % 1).toBe(0);
    expect(kept).toEqual(kept.map((_, i) => i * stride));
    expect(kept.at(-1)).toBe(Math.floor(99 / stride) * stride); // nothing on the stride was lost
    expect(history.map((h) => h.ts)).toEqual([...history.map((h) => h.ts)].sort((a, b) => a - b));
    const job = await store.get(id) as JobRecord;
    expect(job.progress).toBe(1);
    expect(job.progress_message).toBe('step 99');
    expect(job.progress_metrics).toEqual({ step: 99 });
  });

  it('a point without metrics is kept in the history; the job keeps the newest metrics', async () => {
    const { store, id } = await claimedJob();
    await store.progress(id, 'w1', [point(1, 4, { loss: 0.5 }), point(2, 4)], Date.now());
    const history = await store.progressHistory(id);
    expect(history.map((h) => [h.progress, h.metrics])).toEqual([[0.25, { loss: 0.5 }], [0.5, undefined]]);
    const job = await store.get(id) as JobRecord;
    expect([job.progress, job.progress_metrics]).toEqual([0.5, { loss: 0.5 }]);
    // a worker that no longer holds the job writes nothing
    expect(await store.progress(id, 'someone-else', [point(3, 4, { loss: 0.1 })], Date.now())).toBe(false);
    expect(await store.progressHistory(id)).toHaveLength(2);
  });

  it('expires with the job: succeeded, failed, cancelled after a retry, or failed with its worker gone', async () => {
    const ttl = (store: JobStore, id: string) => client.pttl(store.keys.progressHistory(id));
    const report = (store: JobStore, id: string) => store.progress(id, 'w1', [point(1, 2, { loss: 1 })], Date.now());
    const error = { type: 'handler_error' as const, exception: 'Boom', message: 'boom' };

    const ok = await claimedJob();
    await report(ok.store, ok.id);
    expect(await ttl(ok.store, ok.id)).toBe(-1); // running: kept as long as the job
    expect(await ok.store.complete(ok.id, 'w1', { done: true }, Date.now())).toBe(true);
    expect(await ttl(ok.store, ok.id)).toBeGreaterThan(0);

    const bad = await claimedJob();
    await report(bad.store, bad.id);
    expect(await bad.store.fail(bad.id, 'ptype', 'w1', error, { retryable: false, backoffMs: 0, now: Date.now() })).toBe('failed');
    expect(await ttl(bad.store, bad.id)).toBeGreaterThan(0);

    const retried = await claimedJob();
    await report(retried.store, retried.id);
    expect(await retried.store.fail(retried.id, 'ptype', 'w1', error, { retryable: true, backoffMs: 0, now: Date.now() })).toBe('queued');
    expect(await ttl(retried.store, retried.id)).toBe(-1);
    expect((await retried.store.cancel({ id: retried.id, type: 'ptype' }, 'test', Date.now())).outcome).toBe('cancelled');
    expect(await ttl(retried.store, retried.id)).toBeGreaterThan(0);

    const orphan = await claimedJob({ maxAttempts: 1 });
    await report(orphan.store, orphan.id);
    expect(await orphan.store.requeueWorker('w1', 'ptype', { type: 'worker_exit', message: 'gone' }, { now: Date.now() })).toEqual({ requeued: 0, failed: 1 });
    expect(await ttl(orphan.store, orphan.id)).toBeGreaterThan(0);
    expect((await orphan.store.progressHistory(orphan.id)).map((h) => h.metrics)).toEqual([{ loss: 1 }]);
  });
});

describe('progress reporter (the worker side)', () => {
  it('writes every point with metrics despite the throttle, coalesces plain updates, warns once per bad name', async () => {
    const { store, id } = await claimedJob();
    const warnings: string[] = [];
    const failures: string[] = [];
    const r = createProgressReporter({ jobId: id, workerId: 'w1', store, now: Date.now, warn: (m) => warnings.push(m), writeFailed: (m) => failures.push(m) });
    r.report(0.1, 'a', { loss: 1 }); // the first report is written at once
    r.report(0.2, 'plain');
    r.report(0.3, 'plain 2');
    r.report(0.4, 'b', { loss: 0.5, bad: Number.NaN });
    r.report(0.5, 'c', { loss: 0.25, bad: Number.NaN, word: 'x' as unknown as number });
    r.report(0.6, 'plain 3');
    await r.settle();
    const history = await store.progressHistory(id);
    expect(history.map((h) => [h.progress, h.message, h.metrics])).toEqual([
      [0.1, 'a', { loss: 1 }], [0.4, 'b', { loss: 0.5 }], [0.5, 'c', { loss: 0.25 }], [0.6, 'plain 3', undefined],
    ]);
    expect(warnings).toEqual([
      'progress metrics dropped: "bad" (NaN is not a finite number)',
      'progress metrics dropped: "word" (a string is not a finite number)',
    ]);
    expect(failures).toEqual([]);
    const job = await store.get(id) as JobRecord;
    expect([job.progress, job.progress_message, job.progress_metrics]).toEqual([0.6, 'plain 3', { loss: 0.25 }]);
  });
});

describe.skipIf(!hasPython)('python: metrics over the runner protocol', () => {
  it("a handler's metrics reach ctx.progress as numbers; bad entries are dropped with one warning", async () => {
    const work = mkdtempSync(join(tmpdir(), 'kiln-metrics-'));
    const e = createPythonExecutor({
      python: PY, framework: 'fake', cwd: work, pythonPath: [FAKE], startTimeoutMs: 15_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KILN_HANDLERS_DIR: join(FAKE, 'handlers') },
      runnerPath: join(ROOT, 'worker-runtime', 'python'),
    });
    try {
      const progress: unknown[] = [];
      const logs: string[] = [];
      const ctx: ExecContext = {
        signal: new AbortController().signal,
        progress: (value, message, metrics) => progress.push([value, message, metrics]),
        log: (level, message) => logs.push(`${level} ${message}`),
      };
      const job: JobRecord = {
        id: 'py-1', seq: 1, type: 'fake', kind: 'generic', payload: { handler: 'metrics', steps: 2 }, status: 'running', priority: 0,
        attempts: 1, max_attempts: 1, timeout_ms: 60_000, progress: 0, created_at: Date.now(),
      };
      expect(await e.run(job, ctx)).toEqual({ steps: 2 });
      expect(progress).toEqual([[0.5, 'step 1/2', { loss: 1, accuracy: 0.5 }], [1, 'step 2/2', { loss: 0.5, accuracy: 1 }]]);
      const warnings = logs.filter((l) => l.includes('metrics dropped'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^warn progress metrics dropped: "bad" \(nan is not a finite number\), "label" \(a str is not a number\), "vec" \(a list is not a number\)$/);
    } finally {
      await e.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasPython)('python: the Keras epoch callback (TensorFlow itself is not needed)', () => {
  it('turns each epoch\'s logs into progress metrics, numpy scalars included', () => {
    // A stand-in for tf.keras.callbacks.Callback: the handler's callback only subclasses it.
    const code = `
import json, types
import numpy as np
from kiln_runner.context import JobContext
from kiln_runner.handlers import tf_handlers

class Channel:
    def __init__(self): self.sent = []
    def send(self, message): self.sent.append(message)

tf = types.SimpleNamespace(keras=types.SimpleNamespace(callbacks=types.SimpleNamespace(Callback=object)))
channel = Channel()
cb = tf_handlers._callback(tf, JobContext({"id": "k1"}, channel), 2)
cb.on_epoch_end(0, {"loss": np.float32(0.5), "accuracy": 0.75, "val_loss": np.float64(0.625), "val_accuracy": np.float32(0.5)})
cb.on_epoch_end(1, {"loss": 0.25, "accuracy": 1, "lr": np.array([0.1, 0.2])})
print(json.dumps(channel.sent))
`;
    const r = spawnSync(PY, ['-c', code], { env: { PYTHONPATH: join(ROOT, 'worker-runtime', 'python'), PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const sent = JSON.parse(r.stdout) as Record<string, unknown>[];
    const progress = sent.filter((m) => m.type === 'progress');
    expect(progress.map((m) => [m.message, m.metrics])).toEqual([
      ['epoch 1/2 loss=0.5000 val_loss=0.6250', { loss: 0.5, accuracy: 0.75, val_loss: 0.625, val_accuracy: 0.5 }],
      ['epoch 2/2 loss=0.2500', { loss: 0.25, accuracy: 1 }],
    ]);
  });
});

describe('end to end', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem(redis, {
      types: {
        node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1 },
        fake: { framework: 'fake', version: '0.1.0', python: PY, python_path: [FAKE], max_jobs: 1, max_workers: 1, idle_timeout: 60 },
        pytorch: { framework: 'pytorch', version: '1.13', python: PY, max_jobs: 1, max_workers: 1, idle_timeout: 60 },
        sklearn: { framework: 'sklearn', version: '1.2', python: PY, max_jobs: 1, max_workers: 1, idle_timeout: 60 },
      },
      env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'metrics-functions.mjs'), KILN_HANDLERS_DIR: join(FAKE, 'handlers') },
    });
    mkdirSync(sys.config.dataRoot, { recursive: true });
    copyFileSync(join(ROOT, 'data', 'iris.csv'), join(sys.config.dataRoot, 'iris.csv'));
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const submit = async (path: string, body: Record<string, unknown>) => {
    const r = await sys.request('POST', path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.job_id as string;
  };
  const finished = (id: string, ms = 30_000) => sys.waitFor(`job ${id} to finish`, async () => {
    const j = await sys.job(id);
    return ['succeeded', 'failed', 'cancelled'].includes(j.status) && j;
  }, ms);

  it('the built-in progress function: progress_metrics, metrics_history on GET /jobs/:id (not in lists), metrics on SSE', async () => {
    const id = await submit('/jobs', { function: 'progress', input: { steps: 5, ms: 150 } });
    const res = await sys.api.request(`/jobs/${id}/events`);
    const events = (await res.text()).split('\n\n').filter((block) => block.includes('event: progress'))
      .map((block) => JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { metrics: unknown; message: string; progress: unknown; ts: string });
    // 150 ms apart, each report is its own write, so each is its own event
    expect(events.map((e) => e.metrics)).toEqual([1, 2, 3, 4, 5].map((i) => stepMetrics(i, 5)));
    expect(typeof (events[0]!.metrics as { loss: unknown }).loss).toBe('number');
    // numbers as numbers, times as ISO strings (the Redis stream holds them as strings of ms)
    expect(events.map((e) => e.progress)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    for (const e of events) expect(new Date(e.ts).toISOString()).toBe(e.ts);

    const job = await finished(id);
    expect(job.status).toBe('succeeded');
    expect(job.progress_metrics).toEqual(stepMetrics(5, 5));
    expect(job.metrics_history).toHaveLength(5);
    job.metrics_history.forEach((p: { ts: string; progress: number; message: string; metrics: unknown }, i: number) => {
      expect(p).toEqual({ ts: expect.any(String), progress: (i + 1) / 5, message: `step ${i + 1}/5`, metrics: stepMetrics(i + 1, 5) });
      expect(new Date(p.ts).toISOString()).toBe(p.ts);
    });
    const losses = job.metrics_history.map((p: { metrics: { loss: number } }) => p.metrics.loss);
    expect(losses).toEqual([...losses].sort((a: number, b: number) => b - a)); // a falling curve

    const listed = (await sys.request('GET', '/jobs?worker_type=node&limit=100')).body.jobs.find((j: { job_id: string }) => j.job_id === id);
    expect(listed.progress_metrics).toEqual(stepMetrics(5, 5));
    expect(listed).not.toHaveProperty('metrics_history');
  });

  it('loses no metrics point to the throttle, and a long run keeps an evenly thinned history of at most 500 points', async () => {
    const fast = await submit('/jobs', { function: 'progress', input: { steps: 20, ms: 1 } });
    const long = await submit('/jobs', { function: 'progress', input: { steps: 1000, ms: 0 } });
    const f = await finished(fast);
    expect(f.metrics_history.map((p: { metrics: unknown }) => p.metrics)).toEqual(Array.from({ length: 20 }, (_, i) => stepMetrics(i + 1, 20)));
    const l = await finished(long);
    expect(l.status).toBe('succeeded');
    const steps = l.metrics_history.map((p: { message: string }) => Number(/step (\d+)/.exec(p.message)![1]));
    expect(steps.length).toBeLessThanOrEqual(500);
    expect(steps.length).toBeGreaterThan(250);
    expect(steps[0]).toBe(1);
    expect(steps.at(-1)).toBe(1000);
    const gaps = [...new Set(steps.slice(1, -1).map((s: number, i: number) => s - steps[i]))] as number[];
    expect(gaps).toHaveLength(1); // one even stride over the whole run
    expect(Math.log2(gaps[0]!) % 1).toBe(0);
    expect(l.progress_metrics).toEqual(stepMetrics(1000, 1000));
  });

  it('invalid metrics are dropped without failing the job', async () => {
    const id = await submit('/jobs', { function: 'badMetrics' });
    const job = await finished(id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.progress_metrics).toEqual({ final: 1 });
    const withMetrics = job.metrics_history.filter((p: { metrics: unknown }) => p.metrics !== null);
    expect(withMetrics.map((p: { progress: number }) => p.progress)).toEqual([0.3, 0.6, 1]);
    expect(withMetrics[0].metrics).toEqual({ ok: 0.5 });
    expect(Object.keys(withMetrics[1].metrics)).toHaveLength(METRICS_MAX_KEYS);
    expect(withMetrics[1].metrics.m00).toBe(0);
  });

  it.skipIf(!hasPython)('a Python user handler reports metrics', async () => {
    const id = await submit('/jobs', { worker_type: 'fake', payload: { handler: 'metrics', steps: 3 } });
    const job = await finished(id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.metrics_history.map((p: { metrics: unknown }) => p.metrics)).toEqual([
      { loss: 1, accuracy: 1 / 3 }, { loss: 0.5, accuracy: 2 / 3 }, { loss: 1 / 3, accuracy: 1 },
    ]);
    expect(job.progress_metrics).toEqual({ loss: 1 / 3, accuracy: 1 });
  });

  it.skipIf(!hasTorch)('a PyTorch MLP reports loss and accuracy per epoch', async () => {
    const epochs = 4;
    const id = await submit('/jobs/training', { model_type: 'mlp', worker_type: 'pytorch', data_path: 'iris.csv', hyperparameters: { epochs, batch_size: 16, learning_rate: 0.01 } });
    const job = await finished(id, 60_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const curve = job.metrics_history.filter((p: { metrics: { loss?: number } | null }) => p.metrics?.loss !== undefined);
    expect(curve).toHaveLength(epochs);
    curve.forEach((p: { message: string; metrics: Record<string, number> }, i: number) => {
      expect(p.message).toMatch(new RegExp(`^epoch ${i + 1}/${epochs} `));
      expect(Object.keys(p.metrics).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
      for (const v of Object.values(p.metrics)) expect(Number.isFinite(v)).toBe(true);
      expect(p.metrics.loss).toBeCloseTo(job.result.history[i].loss, 10);
    });
    expect(curve.at(-1).metrics.loss).toBeLessThan(curve[0].metrics.loss);
    expect(job.progress_metrics).toEqual(curve.at(-1).metrics);
  });

  it.skipIf(!hasSklearn)('scikit-learn training reports its final metrics', async () => {
    const id = await submit('/jobs/training', { model_type: 'logistic_regression', worker_type: 'sklearn', data_path: 'iris.csv', hyperparameters: { random_state: 1 } });
    const job = await finished(id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.progress_metrics).toEqual({ accuracy: job.result.metrics.accuracy, f1: job.result.metrics.f1 });
    expect(job.progress_metrics.accuracy).toBeGreaterThan(0.5);
    expect(job.metrics_history.at(-1)).toMatchObject({ progress: 1, message: 'done', metrics: job.progress_metrics });
  });
});
