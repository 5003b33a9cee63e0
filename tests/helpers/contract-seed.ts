/**
 * What the API contract suite expects Redis to hold before it runs, in every
 * runtime (tests/contract.node.test.ts, and tests/helpers/edge-global-setup.ts
 * for workerd): what a spawner registers at start.
 */
import type { Redis } from 'ioredis';
import { createKeys } from '../../core/keys';

export const CONTRACT_PREFIX = 'contract';

export async function seedContractRedis(redis: Redis, prefix = CONTRACT_PREFIX): Promise<void> {
  const keys = createKeys(prefix);
  // the default worker types
  await redis.hset(keys.types(), { node: '{}', sklearn: '{}', 'pytorch-2.1': '{}', 'pytorch-2.1-gpu': '{}', tensorflow: '{}' });
  // a spawner with a GPU, so requires_gpu jobs are accepted
  await redis.hset(keys.hosts(), 'gpu-host', JSON.stringify({ gpus: 1, gpus_free: 1, heartbeat: Date.now() + 3_600_000 }));
}
