/**
 * What the API contract suite expects Redis to hold before it runs, in every
 * runtime (tests/contract.node.test.ts, and tests/helpers/edge-global-setup.ts
 * for workerd): what a spawner registers at start.
 */
import { jobRecordSettings } from '../../core/config';
import type { Redis } from 'ioredis';
import { createIoredisPort } from '../../core/ioredis-port';
import { createJobStore } from '../../core/job-store';
import { createKeys } from '../../core/keys';

export const CONTRACT_PREFIX = 'contract';
/** A registered type with max_queued 1, max_timeout_s 60 and max_attempts_limit 2. */
export const CONTRACT_CAPPED_TYPE = 'capped';
/** A finished job that reported progress metrics twice (seeded through the real scripts). */
export const CONTRACT_METRICS_JOB = 'contract-metrics-job';
export const CONTRACT_METRICS_TS = [1_700_000_000_000, 1_700_000_001_000];

/** Jobs with logs for the contract suite: one finished (with cut lines), one running. */
export const LOG_JOBS = { done: 'contract-logs-done', running: 'contract-logs-running' } as const;
/** The seeded lines' times: 2023-11-14T22:13:20.000Z and on, a second apart. */
export const LOG_T0 = 1_700_000_000_000;

/** Training jobs that inference's model_path may (or may not) name. */
export const MODEL_JOBS = {
  sklearn: 'contract-model-sklearn', torch: 'contract-model-torch', queued: 'contract-model-queued',
  failed: 'contract-model-failed', fn: 'contract-model-function',
} as const;

export async function seedContractRedis(redis: Redis, prefix = CONTRACT_PREFIX): Promise<void> {
  const keys = createKeys(prefix);
  // the default worker types
  await redis.hset(keys.types(), { node: '{}', sklearn: '{}', 'pytorch-2.1': '{}', 'pytorch-2.1-gpu': '{}', tensorflow: '{}' });
  // a type with quotas: one waiting job at most, and ceilings on timeout_s and max_attempts
  await redis.hset(keys.types(), CONTRACT_CAPPED_TYPE, JSON.stringify({ max_queued: 1, max_timeout_s: 60, max_attempts_limit: 2 }));
  // a spawner with a GPU, so requires_gpu jobs are accepted
  await redis.hset(keys.hosts(), 'gpu-host', JSON.stringify({ gpus: 1, gpus_free: 1, heartbeat: Date.now() + 3_600_000 }));
  // a finished job whose oldest 3 lines were cut, and a running one (as a worker leaves them)
  const job = (id: string, status: string) => ({
    id, seq: 1, type: 'node', kind: 'function', payload: '{"function":"echo"}', status, priority: 0, attempts: 1,
    max_attempts: 3, timeout_ms: 60000, progress: status === 'succeeded' ? 1 : 0.5, created_at: LOG_T0 - 1000, started_at: LOG_T0 - 500,
    ...(status === 'succeeded' && { finished_at: LOG_T0 + 10_000, result: '{"ok":true}' }),
  });
  await redis.hset(keys.job(LOG_JOBS.done), { ...job(LOG_JOBS.done, 'succeeded'), log_cut: 3 });
  const lines: [string, string][] = [['stdout', 'hello from stdout'], ['stderr', 'a warning on stderr'], ['info', 'step 1/2'], ['info', 'step 2/2'], ['error', 'last line']];
  for (const [i, [s, t]] of lines.entries()) await redis.xadd(keys.logs(LOG_JOBS.done), `${LOG_T0 + i * 1000}-0`, 's', s, 't', t);
  await redis.xadd(keys.events(), '*', 'job', LOG_JOBS.done, 'status', 'succeeded', 'ts', String(LOG_T0 + 10_000));
  await redis.hset(keys.job(LOG_JOBS.running), job(LOG_JOBS.running, 'running'));
  await redis.xadd(keys.logs(LOG_JOBS.running), `${LOG_T0}-0`, 's', 'stdout', 't', 'still running');
  await seedMetricsJob(redis, prefix);
  await seedModelJobs(redis, prefix);
}

async function seedModelJobs(redis: Redis, prefix: string): Promise<void> {
  const keys = createKeys(prefix);
  const job = (id: string, type: string, kind: string, status: string, payload: unknown) => ({
    id, seq: 1, type, kind, payload: JSON.stringify(payload), status, priority: 0, attempts: 1, max_attempts: 1, timeout_ms: 0,
    created_at: LOG_T0, ...(status === 'succeeded' && { finished_at: LOG_T0 + 1000, result: '{"metrics":{}}' }),
  });
  await redis.hset(keys.job(MODEL_JOBS.sklearn), job(MODEL_JOBS.sklearn, 'sklearn', 'training', 'succeeded', { model_type: 'svm', data_path: 'x.csv' }));
  await redis.hset(keys.job(MODEL_JOBS.torch), job(MODEL_JOBS.torch, 'pytorch-2.1', 'training', 'succeeded', { model_type: 'mlp', data_path: 'x.csv' }));
  await redis.hset(keys.job(MODEL_JOBS.queued), job(MODEL_JOBS.queued, 'sklearn', 'training', 'queued', { model_type: 'svm', data_path: 'x.csv' }));
  await redis.hset(keys.job(MODEL_JOBS.failed), job(MODEL_JOBS.failed, 'sklearn', 'training', 'failed', { model_type: 'svm', data_path: 'x.csv' }));
  await redis.hset(keys.job(MODEL_JOBS.fn), job(MODEL_JOBS.fn, 'node', 'function', 'succeeded', { function: 'echo' }));
}

async function seedMetricsJob(redis: Redis, prefix: string): Promise<void> {
  const store = createJobStore(createIoredisPort(redis), { keys: createKeys(prefix), ...jobRecordSettings({}) });
  if (await store.get(CONTRACT_METRICS_JOB)) return;
  const now = Date.now();
  await store.enqueue({ id: CONTRACT_METRICS_JOB, type: 'sklearn', kind: 'training', payload: { model_type: 'mlp' }, priority: 0, maxAttempts: 1, timeoutMs: 0, now, typeCheck: 'custom' });
  await store.claim('sklearn', 'contract-worker', now);
  const [t1, t2] = CONTRACT_METRICS_TS as [number, number];
  await store.progress(CONTRACT_METRICS_JOB, 'contract-worker', [
    { ts: t1, progress: 0.5, message: 'epoch 1/2', metrics: { loss: 0.5, accuracy: 0.75 } },
    { ts: t2, progress: 1, message: '', metrics: { loss: 0.25, accuracy: 0.875 } },
  ], now);
  await store.complete(CONTRACT_METRICS_JOB, 'contract-worker', { ok: true }, now);
}
