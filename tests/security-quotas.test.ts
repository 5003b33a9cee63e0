/**
 * Quotas and limits (issue #9, item 6): a per-type queue cap (429 QUEUE_FULL with
 * Retry-After), a queued TTL that ends unstarted jobs `expired`, ceilings on
 * timeout_s and max_attempts, a default memory limit for Python types, bounded
 * built-in hyperparameters (400 at submit, and again in the runner), and input
 * errors in handlers that fail a job at once instead of three times.
 *
 * The held types are GPU types on a host without GPUs (KILN_GPUS=none): no worker
 * ever starts for them, so their jobs stay queued without any process running.
 */
import { jobRecordSettings } from '../core/config';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { HYPERPARAMETER_BOUNDS } from '../core/hyperparameters';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { DEFAULT_GPU_PYTHON_MEMORY_MB, DEFAULT_PYTHON_MEMORY_MB } from '../core/schemas/worker-type';
import { EXIT, exitCodeOfStatus } from '../spawner/cli/exit-codes';
import { readJob } from '../spawner/cli/job-view';
import { endLines } from '../spawner/cli/watch-render';
import { loadWorkerTypes } from '../spawner/config';
import { parseSse } from './contract/suite';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const RUNTIME = join(import.meta.dirname, '..', 'worker-runtime', 'python');
const canImport = (mod: string) => {
  try {
    execFileSync(PY, ['-c', `import ${mod}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const hasSklearn = canImport('sklearn');
const hasTorch = canImport('torch');

let redis: RedisServer;
let sys: System;

const held = (extra: Record<string, unknown> = {}) => ({ framework: 'node' as const, version: '20', gpu: true, max_workers: 1, ...extra });

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      held: held({ max_queued: 2 }),
      'held-default': held(),
      'held-ttl': held({ queued_ttl_s: 1 }),
      ceiling: held({ max_timeout_s: 60, max_attempts_limit: 2 }),
      sklearn: { framework: 'sklearn', version: '1.2.1', python: PY, max_jobs: 1, max_workers: 1, idle_timeout: 60 },
    },
    env: { KILN_GPUS: 'none' },
    api: { maxQueued: 3 },
  });
  mkdirSync(sys.config.dataRoot, { recursive: true });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const submit = (body: Record<string, unknown>, headers?: Record<string, string>) => sys.request('POST', '/jobs', body, headers);
const queueLength = (type: string) => sys.redis.zcard(createKeys(sys.prefix).queue(type));

describe('per-type queue cap (max_queued)', () => {
  it('answers 429 QUEUE_FULL with Retry-After past the cap, and queues nothing', async () => {
    for (let i = 0; i < 2; i++) expect((await submit({ worker_type: 'held', payload: { i } })).status).toBe(202);
    const full = await submit({ worker_type: 'held', payload: { i: 2 } });
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(full.body.error.code).toBe('QUEUE_FULL');
    expect(full.body.error.message).toContain('"held"');
    expect(full.body.error.message).toContain('max_queued of 2');
    expect(await queueLength('held')).toBe(2);
    const listed = await sys.request('GET', '/jobs?worker_type=held&limit=50');
    expect(listed.body.jobs).toHaveLength(2);
  });

  it('is documented: the OpenAPI document has the 429 with its Retry-After header, and the expired state', async () => {
    const doc = (await sys.request('GET', '/openapi.json')).body;
    for (const path of ['/jobs', '/jobs/training', '/jobs/inference']) {
      const answer = doc.paths[path].post.responses['429'];
      expect(answer.headers['Retry-After'], path).toBeDefined();
      expect(answer.description).toContain('QUEUE_FULL');
    }
    expect(JSON.stringify(doc.paths['/jobs'].get.parameters)).toContain('"expired"');
    expect(doc.components.schemas.Job.properties.status.enum).toContain('expired');
  });

  it('lets an Idempotency-Key replay through a full queue, and takes new jobs once one leaves', async () => {
    expect(await queueLength('held')).toBe(2);
    const listed = await sys.request('GET', '/jobs?worker_type=held&status=queued&limit=50');
    const victim = listed.body.jobs[0].job_id as string;
    expect((await sys.request('POST', `/jobs/${victim}/cancel`)).status).toBe(200);
    const keyed = await submit({ worker_type: 'held', payload: { keyed: true } }, { 'idempotency-key': 'quota-replay-1' });
    expect(keyed.status).toBe(202);
    expect((await submit({ worker_type: 'held', payload: {} })).status).toBe(429);
    const replay = await submit({ worker_type: 'held', payload: { keyed: true } }, { 'idempotency-key': 'quota-replay-1' });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ job_id: keyed.body.job_id, idempotent_replay: true });
  });

  it("caps a type that sets no max_queued at the API's KILN_MAX_QUEUED", async () => {
    for (let i = 0; i < 3; i++) expect((await submit({ worker_type: 'held-default', payload: { i } })).status).toBe(202);
    const full = await submit({ worker_type: 'held-default', payload: {} });
    expect(full.status).toBe(429);
    expect(full.body.error.message).toContain('max_queued of 3');
    expect(await queueLength('held-default')).toBe(3);
  });
});

describe('queued TTL (queued_ttl_s): unstarted jobs end expired', () => {
  it("expires a job past its type's queued_ttl_s: GET, listings, SSE end and metrics say so", async () => {
    const r = await submit({ worker_type: 'held-ttl', payload: { x: 1 } });
    expect(r.status).toBe(202);
    const id = r.body.job_id as string;
    expect((await sys.job(id)).status).toBe('queued');
    const job = await sys.waitFor(`job ${id} to expire`, async () => {
      const j = await sys.job(id);
      return j.status === 'expired' && j;
    }, 15_000);
    expect(job.attempts).toBe(0);
    expect(job.finished_at).not.toBeNull();
    expect(job.error).toMatchObject({ type: 'expired', retryable: false });
    expect(job.error.message).toContain('queued_ttl_s');
    expect(job.error.message).toContain('held-ttl');
    expect(await queueLength('held-ttl')).toBe(0);

    const expired = await sys.request('GET', '/jobs?status=expired&limit=50');
    expect(expired.body.jobs.map((j: { job_id: string }) => j.job_id)).toContain(id);
    const queued = await sys.request('GET', '/jobs?status=queued&worker_type=held-ttl&limit=50');
    expect(queued.body.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(id);

    const sse = await sys.api.request(`/jobs/${id}/events`);
    const events = parseSse(await sse.text());
    expect(events.filter((e) => e.event === 'status').map((e) => e.data.status)).toEqual(['queued', 'expired']);
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { job_id: id, status: 'expired' } });

    const cancel = await sys.request('POST', `/jobs/${id}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.message).toContain('expired');

    const metrics = await (await fetch(`${sys.spawner.url}/metrics`, { headers: { authorization: `Bearer ${sys.spawner.token}` } })).text();
    expect(metrics).toMatch(/kiln_jobs_total\{worker_type="held-ttl",outcome="expired"\} [1-9]/);
  });

  it("a job's own queued_ttl_s wins over its type's", async () => {
    // held-default is full from the cap test: make room first
    const listed = await sys.request('GET', '/jobs?worker_type=held-default&status=queued&limit=50');
    for (const j of listed.body.jobs) expect((await sys.request('POST', `/jobs/${j.job_id}/cancel`)).status).toBe(200);
    const ok = await submit({ worker_type: 'held-default', payload: {}, queued_ttl_s: 0.3 });
    expect(ok.status).toBe(202);
    const untimed = await submit({ worker_type: 'held-default', payload: { untimed: true } });
    expect(untimed.status).toBe(202);
    const id = ok.body.job_id as string;
    await sys.waitFor(`job ${id} to expire`, async () => (await sys.job(id)).status === 'expired', 15_000);
    // the other job, under the default TTL of 24 h, is still waiting
    expect((await sys.job(untimed.body.job_id)).status).toBe('queued');
  });

  it('expires only due, never-started jobs, a bounded batch per call, reading only due index entries', async () => {
    const keys = createKeys(`${sys.prefix}-store`);
    const store = createJobStore(createIoredisPort(sys.redis), { keys, ...jobRecordSettings({}) });
    const t0 = 1_000_000;
    const add = (id: string, ttlMs: number) => store.enqueue({
      id, type: 'x', kind: 'generic', payload: {}, priority: 0, maxAttempts: undefined, timeoutMs: 0, now: t0, typeCheck: 'default', queuedTtlMs: ttlMs,
    });
    for (let i = 0; i < 5; i++) await add(`due-${i}`, 1000);
    await add('later', 60_000);
    // due-0 starts before its deadline: it never expires, its index entry just leaves
    expect((await store.claim('x', 'w1', t0 + 10)).map((j) => j.id)).toEqual(['due-0']);

    expect(await store.expireQueued(t0 + 999)).toEqual([]);
    expect(await sys.redis.zcard(keys.expiring())).toBe(6);
    // a batch reads at most `limit` due entries (due-0 and due-1 here)
    const first = await store.expireQueued(t0 + 1000, 2);
    expect(first).toEqual([{ id: 'due-1', type: 'x' }]);
    const rest = await store.expireQueued(t0 + 1000, 100);
    expect(rest.map((e) => e.id)).toEqual(['due-2', 'due-3', 'due-4']);
    expect((await store.get('due-0'))?.status).toBe('running');
    expect((await store.get('due-3'))?.status).toBe('expired');
    expect((await store.get('later'))?.status).toBe('queued');
    expect(await sys.redis.zrange(keys.expiring(), '0', '-1')).toEqual(['later']);
    expect(await sys.redis.zcard(keys.queue('x'))).toBe(1);
    expect(await sys.redis.zrange(keys.byStatus('expired'), '0', '-1')).toHaveLength(4);
    expect(await sys.redis.pttl(keys.job('due-1'))).toBeGreaterThan(0);
  });

  it('kiln jobs watch exits 6 for an expired job and says why', () => {
    expect(exitCodeOfStatus('expired')).toBe(EXIT.jobExpired);
    expect(EXIT.jobExpired).toBe(6);
    const job = readJob({ job_id: 'j1', status: 'expired', created_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:00:02.000Z', error: { type: 'expired', message: 'no worker of type x started this job' } });
    expect(endLines(job, Date.parse('2026-01-01T00:00:05.000Z')).join('\n')).toMatch(/expired after .* without starting: no worker of type x/);
  });
});

describe('ceilings on timeout_s and max_attempts', () => {
  it("refuses values above the type's ceilings with a 400 naming the field and the ceiling", async () => {
    const slow = await submit({ worker_type: 'ceiling', payload: {}, timeout_s: 61 });
    expect(slow.status).toBe(400);
    expect(slow.body.error).toMatchObject({ code: 'TIMEOUT_ABOVE_CEILING', field: 'timeout_s' });
    expect(slow.body.error.message).toContain('max_timeout_s 60');
    const tries = await submit({ worker_type: 'ceiling', payload: {}, max_attempts: 3 });
    expect(tries.status).toBe(400);
    expect(tries.body.error).toMatchObject({ code: 'ATTEMPTS_ABOVE_CEILING', field: 'max_attempts' });
    expect(tries.body.error.message).toContain('max_attempts_limit 2');
    expect(await queueLength('ceiling')).toBe(0);
  });

  it('accepts values at the ceilings, and bounds the default max_attempts by the ceiling', async () => {
    const atCeiling = await submit({ worker_type: 'ceiling', payload: {}, timeout_s: 60, max_attempts: 2 });
    expect(atCeiling.status).toBe(202);
    const plain = await submit({ worker_type: 'ceiling', payload: {} });
    expect(plain.status).toBe(202);
    expect((await sys.job(plain.body.job_id)).max_attempts).toBe(2); // KILN_MAX_ATTEMPTS is 3
  });

  it('refuses a worker types file whose defaults break its ceilings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-quota-types-'));
    try {
      const file = join(dir, 'types.json');
      writeFileSync(file, JSON.stringify({ sklearn: { timeout_s: 120, max_timeout_s: 60 } }));
      expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/sklearn\.timeout_s \(120\) is above max_timeout_s \(60\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('default memory_mb for Python types', () => {
  it('gives every Python type a memory limit unless its config sets one (0: none), and Node types none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-quota-types-'));
    try {
      const file = join(dir, 'types.json');
      writeFileSync(file, JSON.stringify({
        tensorflow: { memory_mb: 0 },
        sklearn: { memory_mb: 2048 },
        mine: { framework: 'sklearn', version: '1.3.0' },
      }));
      const types = loadWorkerTypes({ WORKER_TYPES_FILE: file });
      expect(types['pytorch-2.1']!.memory_mb).toBe(DEFAULT_PYTHON_MEMORY_MB);
      expect(types['pytorch-2.1-gpu']!.memory_mb).toBe(DEFAULT_GPU_PYTHON_MEMORY_MB);
      expect(types.mine!.memory_mb).toBe(DEFAULT_PYTHON_MEMORY_MB);
      expect(types.sklearn!.memory_mb).toBe(2048);
      expect(types.tensorflow!.memory_mb).toBe(0);
      expect(types.node!.memory_mb).toBeUndefined();
      expect(DEFAULT_PYTHON_MEMORY_MB).toBe(4096);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('registers the limit the spawner enforces: GET /workers/types shows it', async () => {
    expect(sys.config.types.sklearn!.memory_mb).toBe(DEFAULT_PYTHON_MEMORY_MB);
    const types = await sys.request('GET', '/workers/types');
    expect(types.body.types.sklearn.memory_mb).toBe(DEFAULT_PYTHON_MEMORY_MB);
    expect(types.body.types.held.memory_mb).toBeUndefined();
  });
});

describe('bounded built-in hyperparameters', () => {
  it('answers 400 at submit for a built-in model type, naming the hyperparameter and its bounds', async () => {
    const trees = await sys.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'x.csv', hyperparameters: { n_estimators: 100_000 } });
    expect(trees.status).toBe(400);
    expect(trees.body.error).toMatchObject({ code: 'HYPERPARAMETER_OUT_OF_RANGE', field: 'hyperparameters.n_estimators' });
    expect(trees.body.error.message).toContain('[1, 5000]');
    const epochs = await sys.request('POST', '/jobs/training', { model_type: 'mlp', data_path: 'x.csv', hyperparameters: { epochs: 0 } });
    expect(epochs.status).toBe(400);
    expect(epochs.body.error.field).toBe('hyperparameters.epochs');
    const split = await sys.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'x.csv', hyperparameters: { test_size: 1 } });
    expect(split.body.error.field).toBe('hyperparameters.test_size');
    const wide = await sys.request('POST', '/jobs/training', { model_type: 'mlp', data_path: 'x.csv', hyperparameters: { hidden_sizes: [64, 1e6] } });
    expect(wide.body.error.field).toBe('hyperparameters.hidden_sizes');
    const fine = await sys.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'x.csv', hyperparameters: { n_estimators: 5000, max_depth: null, criterion: 'gini' }, worker_type: 'held-ttl' });
    expect(fine.status, JSON.stringify(fine.body)).toBe(202);
  });

  it('the Python handlers hold the same table as the API', () => {
    const out = execFileSync(PY, ['-c', 'import json; from kiln_runner.handlers.bounds import BOUNDS; print(json.dumps(BOUNDS))'], { cwd: RUNTIME, encoding: 'utf8' });
    const py = JSON.parse(out) as Record<string, [string, number, number, { max_exclusive?: boolean; max_items?: number }]>;
    const asTs = Object.fromEntries(Object.entries(py).map(([name, [kind, min, max, opts]]) => [name, {
      kind, min, max, ...(opts.max_exclusive && { maxExclusive: true }), ...(opts.max_items !== undefined && { maxItems: opts.max_items }),
    }]));
    expect(asTs).toEqual(HYPERPARAMETER_BOUNDS);
  });
});

/** Runs Python in the runner's folder; the script prints one JSON line. */
function py(script: string): any {
  return JSON.parse(execFileSync(PY, ['-c', script], { cwd: RUNTIME, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } }).trim().split('\n').at(-1)!);
}

describe('input errors in handlers are not retried (the runner alone)', () => {
  it('a file that is not a model, an unreadable CSV, wrong column options and out-of-range hyperparameters are InputErrors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-quota-py-'));
    try {
      writeFileSync(join(dir, 'model.pkl'), 'this is not a pickle');
      writeFileSync(join(dir, 'huge.csv'), `a,b\n1,${'x'.repeat(140_000)}\n`); // a field over csv's size limit
      writeFileSync(join(dir, 'ok.csv'), 'a,b\n1,2\n3,4\n');
      const r = py(`
import json, pickle
from kiln_runner.errors import InputError
from kiln_runner.runner import describe
from kiln_runner.handlers import artifacts, bounds, tabular
from kiln_runner.models import JobModels, ModelCache
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = None
    except Exception as exc:
        d = describe(exc)
        out[name] = {"type": d["type"], "exception": d["exception"], "message": str(exc), "retryable": d["retryable"]}
class Ctx:
    models = JobModels(ModelCache(), lambda *args: None)
    def data_path(self, path):
        return path
    def log(self, *args):
        pass
def load(path):
    with open(path, "rb") as handle:
        return pickle.load(handle)
attempt("model", lambda: artifacts.cached(Ctx(), ("test", "not-a-model"), lambda: load(${JSON.stringify(join(dir, 'model.pkl'))}), 20))
attempt("csv", lambda: tabular.read_csv(${JSON.stringify(join(dir, 'huge.csv'))}))
attempt("epochs", lambda: bounds.hyperparameters({"hyperparameters": {"epochs": 10**7}}))
attempt("features", lambda: tabular.load_training_table(Ctx(), {"data_path": ${JSON.stringify(join(dir, 'ok.csv'))}, "hyperparameters": {"features": 5}}))
attempt("target", lambda: tabular.load_training_table(Ctx(), {"data_path": ${JSON.stringify(join(dir, 'ok.csv'))}, "hyperparameters": {"target": ["b"]}}))
print(json.dumps(out))
`);
      expect(r.model).toMatchObject({ type: 'handler_error', exception: 'InputError', retryable: false });
      expect(r.model.message).toContain('the model does not load');
      expect(r.csv).toMatchObject({ type: 'handler_error', exception: 'InputError', retryable: false });
      expect(r.csv.message).toContain('not a readable CSV file');
      expect(r.epochs).toMatchObject({ type: 'handler_error', exception: 'InputError', retryable: false });
      expect(r.epochs.message).toContain('hyperparameters.epochs must be an integer in [1, 10000]');
      expect(r.features).toMatchObject({ type: 'handler_error', exception: 'InputError', retryable: false });
      expect(r.features.message).toContain('hyperparameters.features must be a list of column names');
      expect(r.target).toMatchObject({ type: 'handler_error', exception: 'InputError', retryable: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasTorch)('the PyTorch trainer refuses epochs out of bounds before it trains', () => {
    const r = py(`
import json
from kiln_runner.runner import describe
from kiln_runner.handlers import torch_handlers
try:
    torch_handlers.train({"id": "j", "payload": {"model_type": "mlp", "hyperparameters": {"epochs": 0}}}, None)
    print(json.dumps(None))
except Exception as exc:
    d = describe(exc)
    print(json.dumps({"type": d["type"], "exception": d["exception"], "message": str(exc), "retryable": d["retryable"]}))
`);
    expect(r).toMatchObject({ type: 'handler_error', exception: 'InputError', retryable: false });
    expect(r.message).toContain('hyperparameters.epochs');
  });
});

describe.skipIf(!hasSklearn)('input errors in handlers are not retried (through a worker)', () => {
  const until = (id: string) => sys.waitFor(`job ${id} to finish`, async () => {
    const j = await sys.job(id);
    return ['succeeded', 'failed'].includes(j.status) && j;
  }, 45_000);

  it('out-of-range n_estimators (past the API) and bad-shape inference inputs fail with attempts = 1', async () => {
    // the runner checks again: enqueue past the API's check, as a client of Redis could
    const store = createJobStore(createIoredisPort(sys.redis), { keys: createKeys(sys.prefix), ...jobRecordSettings({}) });
    const rows = ['x1,x2,label'];
    for (let i = 0; i < 40; i++) rows.push(`${i % 7},${i % 3},${i % 2}`);
    writeFileSync(join(sys.config.dataRoot, 'quota.csv'), `${rows.join('\n')}\n`);
    const big = await store.enqueue({
      id: `quota-big-${Date.now()}`, type: 'sklearn', kind: 'training', payload: { model_type: 'random_forest', data_path: 'quota.csv', hyperparameters: { n_estimators: 1_000_000 } },
      priority: 0, maxAttempts: 3, timeoutMs: 0, now: Date.now(), typeCheck: 'custom',
    });
    const trainId = (await sys.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'quota.csv', hyperparameters: { n_estimators: 5, target: 'label' }, max_attempts: 3 })).body.job_id as string;

    const refused = await until(big.id);
    expect(refused.status).toBe('failed');
    expect(refused.attempts).toBe(1);
    expect(refused.error).toMatchObject({ type: 'handler_error', exception: 'InputError' });
    expect(refused.error.message).toContain('hyperparameters.n_estimators must be an integer in [1, 5000]');

    const trained = await until(trainId);
    expect(trained.status, JSON.stringify(trained.error)).toBe('succeeded');

    const wrongWidth = await sys.request('POST', '/jobs/inference', { model_type: 'random_forest', model_path: trainId, inputs: [[1, 2, 3]], max_attempts: 3 });
    expect(wrongWidth.status).toBe(202);
    const shape = await until(wrongWidth.body.job_id);
    expect(shape.status).toBe('failed');
    expect(shape.attempts).toBe(1);
    expect(shape.error).toMatchObject({ type: 'handler_error', exception: 'InputError' });
    expect(shape.error.message).toContain('list of 2 values');

    writeFileSync(join(sys.config.dataRoot, 'quota-wrong-columns.csv'), 'a,b\n1,2\n');
    const columns = await sys.request('POST', '/jobs/inference', { model_type: 'random_forest', model_path: trainId, data_path: 'quota-wrong-columns.csv', max_attempts: 3 });
    const cols = await until(columns.body.job_id);
    expect(cols.status).toBe('failed');
    expect(cols.attempts).toBe(1);
    expect(cols.error.message).toContain("feature columns ['x1', 'x2']");
  });
});
