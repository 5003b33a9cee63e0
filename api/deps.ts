import type { Keys } from '../core/keys';
import type { RedisPort } from '../core/redis-port';
import type { SpawnerClient } from './spawner-client';

export interface ApiConfig {
  /** Default job timeout when neither the job nor its type sets one. */
  defaultTimeoutS: number;
  defaultMaxAttempts: number;
  maxBodyBytes: number;
  idempotencyTtlMs: number;
  succeededRetentionMs: number;
  failedRetentionMs: number;
  /** Answer 409 to requires_gpu jobs when no spawner has a GPU (else queue them). */
  rejectGpuWithoutGpus: boolean;
  /** Interval at which SSE reads the event stream (>= 100 ms under workerd). */
  ssePollMs: number;
}

export const DEFAULT_API_CONFIG: ApiConfig = {
  defaultTimeoutS: 3600,
  defaultMaxAttempts: 3,
  maxBodyBytes: 1024 * 1024,
  idempotencyTtlMs: 24 * 3600 * 1000,
  succeededRetentionMs: 24 * 3600 * 1000,
  failedRetentionMs: 7 * 24 * 3600 * 1000,
  rejectGpuWithoutGpus: true,
  ssePollMs: 100,
};

export interface AppDeps {
  redis: RedisPort;
  keys: Keys;
  spawner: SpawnerClient;
  config: ApiConfig;
  now: () => number;
  newId: () => string;
}
