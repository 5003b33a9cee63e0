/**
 * What the API contract suite expects Redis to hold before it runs, in every
 * runtime (tests/contract.node.test.ts, and tests/helpers/edge-global-setup.ts
 * for workerd): what a spawner registers at start.
 */
import type { Redis } from 'ioredis';
import { createIoredisPort } from '../../core/ioredis-port';
import { createJobStore } from '../../core/job-store';
import { createKeys } from '../../core/keys';

export const CONTRACT_PREFIX = 'contract';
/** A finished job that reported progress metrics twice (seeded through the real scripts). */
export const CONTRACT_METRICS_JOB = 'contract-metrics-job';
export const CONTRACT_METRICS_TS = [1_700_000_000_000, 1_700_000_001_000];

export async function seedContractRedis(redis: Redis, prefix = CONTRACT_PREFIX): Promise<void> {
  const keys = createKeys(prefix);
  // the default worker types
  await redis.hset(keys.types(), { node: '{}', sklearn: '{}', 'pytorch-2.1': '{}', 'pytorch-2.1-gpu': '{}', tensorflow: '{}' });
  // a spawner with a GPU, so requires_gpu jobs are accepted
  await redis.hset(keys.hosts(), 'gpu-host', JSON.stringify({ gpus: 1, gpus_free: 1, heartbeat: Date.now() + 3_600_000 }));
  await seedMetricsJob(redis, prefix);
}

async function seedMetricsJob(redis: Redis, prefix: string): Promise<void> {
  const store = createJobStore(createIoredisPort(redis), { keys: createKeys(prefix) });
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
