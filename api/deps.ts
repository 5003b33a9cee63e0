import { boolEnv, type Env, intEnv, type JobRecordSettings, jobRecordSettings, redisTimeoutMs } from '../core/config';
import type { JobStore } from '../core/job-store';
import type { Keys } from '../core/keys';
import type { Logger } from '../core/logger';
import type { RedisPort } from '../core/redis-port';
import type { FunctionNameCheck } from './function-names';
import type { JobEndWatch } from './job-end-watch';
import type { SpawnerClient } from './spawner-client';

export interface ApiConfig extends JobRecordSettings {
  defaultMaxAttempts: number;
  maxBodyBytes: number;
  idempotencyTtlMs: number;
  /** Answer 409 to requires_gpu jobs when no spawner has a GPU (else queue them). */
  rejectGpuWithoutGpus: boolean;
  /** When set, every data route needs this bearer token (not /health, the dashboard page and its assets). */
  apiToken: string | undefined;
  /**
   * An absolute data_path must lie inside it (the runner checks again on the host).
   * On Node: DATA_ROOT, else the spawner's default <project>/data (api/node.ts resolves it);
   * under workerd only DATA_ROOT (no project folder there; `npm run dev:edge` passes the spawner's).
   */
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
  /** Submits with ?wait= one process (or isolate) holds at once; more are 429 TOO_MANY_WAITS (KILN_MAX_WAITS). */
  maxWaits: number;
}

/** The API's settings with every knob at its default (DATA_ROOT aside: the Node root resolves it). */
export const DEFAULT_API_CONFIG: ApiConfig = apiConfigFromEnv({});

export interface AppDeps {
  redis: RedisPort;
  keys: Keys;
  spawner: SpawnerClient;
  config: ApiConfig;
  /** The one JobStore of this API, built from `config` (its retentions); createApp builds it when absent. */
  store?: JobStore;
  now: () => number;
  newId: () => string;
  /** LOG_LEVEL / LOG_FORMAT lines (errors the API answers 5xx for); default: the console, text, info. */
  logger?: Logger;
  /** Wakes ?wait= submits as their job ends (Node: a blocking read of the events stream); without it they poll. */
  jobEnds?: JobEndWatch;
}

/** What the routes get: the deps with the one JobStore built. */
export type ApiDeps = AppDeps & { store: JobStore; checkFunctionName: FunctionNameCheck };

/** The API's knobs from environment variables (Node) or bindings (workerd); defaults: core/config.ts DEFAULTS. */
export function apiConfigFromEnv(env: Env): ApiConfig {
  return {
    defaultMaxAttempts: intEnv(env, 'KILN_MAX_ATTEMPTS'),
    maxBodyBytes: intEnv(env, 'KILN_MAX_BODY_BYTES'),
    idempotencyTtlMs: intEnv(env, 'KILN_IDEMPOTENCY_TTL_S') * 1000,
    ...jobRecordSettings(env),
    rejectGpuWithoutGpus: !boolEnv(env, 'KILN_GPU_QUEUE_WITHOUT_GPUS'),
    ssePollMs: Math.max(100, intEnv(env, 'KILN_SSE_POLL_MS')),
    maxQueued: Math.max(0, intEnv(env, 'KILN_MAX_QUEUED')),
    queuedTtlS: Math.max(0, intEnv(env, 'KILN_QUEUED_TTL_S')),
    redisTimeoutMs: redisTimeoutMs(env),
    sseMaxStreams: Math.max(1, intEnv(env, 'KILN_SSE_MAX_STREAMS')),
    sseMaxLifetimeMs: Math.max(1, intEnv(env, 'KILN_SSE_MAX_LIFETIME_S')) * 1000,
    maxWaits: Math.max(1, intEnv(env, 'KILN_MAX_WAITS')),
    dataRoot: env.DATA_ROOT || undefined,
    apiToken: env.KILN_API_TOKEN || undefined,
  };
}
