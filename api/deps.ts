import { boolEnv, type Env, intEnv } from '../core/config';
import type { Keys } from '../core/keys';
import type { Logger } from '../core/logger';
import { DEFAULT_REDIS_TIMEOUT_MS } from '../core/redis-gate';
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
  /** When set, every data route needs this bearer token (not /health, the dashboard page and its assets). */
  apiToken: string | undefined;
  /** When set, an absolute data_path must lie inside it (the runner checks again on the host). */
  dataRoot: string | undefined;
  /** Interval at which SSE reads the event stream (>= 100 ms under workerd). */
  ssePollMs: number;
  /** Queue cap of a worker type whose registry entry sets no max_queued (KILN_MAX_QUEUED; 0: none). */
  maxQueued: number;
  /** Queued TTL of a job whose type sets no queued_ttl_s (KILN_QUEUED_TTL_S; 0: none). */
  queuedTtlS: number;
  /** Deadline of one Redis call (KILN_REDIS_TIMEOUT_MS); past it the request is a 503. */
  redisTimeoutMs: number;
  /** Event streams (job events, log follows) one process serves at once; more are 429 (KILN_SSE_MAX_STREAMS). */
  sseMaxStreams: number;
  /** An event stream is ended after this, with a `reconnect` event; clients come back with Last-Event-ID (KILN_SSE_MAX_LIFETIME_S). */
  sseMaxLifetimeMs: number;
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
  maxQueued: 10_000,
  queuedTtlS: 24 * 3600,
  redisTimeoutMs: DEFAULT_REDIS_TIMEOUT_MS,
  sseMaxStreams: 100,
  sseMaxLifetimeMs: 600_000,
  dataRoot: undefined,
  apiToken: undefined,
};

export interface AppDeps {
  redis: RedisPort;
  keys: Keys;
  spawner: SpawnerClient;
  config: ApiConfig;
  now: () => number;
  newId: () => string;
  /** LOG_LEVEL / LOG_FORMAT lines (errors the API answers 5xx for); default: the console, text, info. */
  logger?: Logger;
}

/** The API's knobs from environment variables (Node) or bindings (workerd). */
export function apiConfigFromEnv(env: Env): ApiConfig {
  const d = DEFAULT_API_CONFIG;
  return {
    defaultTimeoutS: intEnv(env, 'KILN_DEFAULT_TIMEOUT_S', d.defaultTimeoutS),
    defaultMaxAttempts: intEnv(env, 'KILN_MAX_ATTEMPTS', d.defaultMaxAttempts),
    maxBodyBytes: intEnv(env, 'KILN_MAX_BODY_BYTES', d.maxBodyBytes),
    idempotencyTtlMs: intEnv(env, 'KILN_IDEMPOTENCY_TTL_S', d.idempotencyTtlMs / 1000) * 1000,
    succeededRetentionMs: intEnv(env, 'KILN_RETENTION_SUCCEEDED_S', d.succeededRetentionMs / 1000) * 1000,
    failedRetentionMs: intEnv(env, 'KILN_RETENTION_FAILED_S', d.failedRetentionMs / 1000) * 1000,
    rejectGpuWithoutGpus: !boolEnv(env, 'KILN_GPU_QUEUE_WITHOUT_GPUS', false),
    ssePollMs: Math.max(100, intEnv(env, 'KILN_SSE_POLL_MS', d.ssePollMs)),
    maxQueued: Math.max(0, intEnv(env, 'KILN_MAX_QUEUED', d.maxQueued)),
    queuedTtlS: Math.max(0, intEnv(env, 'KILN_QUEUED_TTL_S', d.queuedTtlS)),
    redisTimeoutMs: Math.max(50, intEnv(env, 'KILN_REDIS_TIMEOUT_MS', d.redisTimeoutMs)),
    sseMaxStreams: Math.max(1, intEnv(env, 'KILN_SSE_MAX_STREAMS', d.sseMaxStreams)),
    sseMaxLifetimeMs: Math.max(1, intEnv(env, 'KILN_SSE_MAX_LIFETIME_S', d.sseMaxLifetimeMs / 1000)) * 1000,
    dataRoot: env.DATA_ROOT || undefined,
    apiToken: env.KILN_API_TOKEN || undefined,
  };
}
