/**
 * Every configuration knob of Kiln and its default, in one table (DEFAULTS), with
 * the parsers that read them. Pure functions over an env record, so core/ stays
 * free of `process` and runs in workerd too. Each composition root (api/node.ts,
 * api/worker.ts, spawner/config.ts, the worker's boot description) parses once.
 */
import { KilnError } from './errors';

export type Env = Record<string, string | undefined>;

const S = 1000;
const DAY_S = 24 * 3600;

/**
 * Every knob with a default, by its environment variable. Paths that depend on the
 * project folder (DATA_ROOT, KILN_STATE_DIR, ARTIFACT_ROOT…) are relative here and
 * resolved by the Node roots. Knobs without a default (tokens, REDIS_URL,
 * WORKER_TYPES_FILE, KILN_FUNCTIONS_MODULE, KILN_HANDLERS_DIR, KILN_GPUS, KILN_HOST_ID:
 * the host name) are not in the table.
 */
export const DEFAULTS = {
  // Redis
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: 6379,
  REDIS_DB: 0,
  KILN_PREFIX: 'kiln',
  KILN_REDIS_TIMEOUT_MS: 1000,
  // API
  API_HOST: '127.0.0.1',
  API_PORT: 8000,
  WORKER_MANAGER_URL: 'http://127.0.0.1:8001',
  KILN_DEFAULT_TIMEOUT_S: 3600,
  KILN_MAX_ATTEMPTS: 3,
  KILN_MAX_BODY_BYTES: 1024 * 1024,
  KILN_IDEMPOTENCY_TTL_S: DAY_S,
  KILN_GPU_QUEUE_WITHOUT_GPUS: false,
  KILN_SSE_POLL_MS: 100,
  KILN_MAX_QUEUED: 10_000,
  KILN_QUEUED_TTL_S: DAY_S,
  KILN_SSE_MAX_STREAMS: 100,
  KILN_SSE_MAX_LIFETIME_S: 600,
  KILN_MAX_WAITS: 500,
  // job records (API, spawner and workers alike)
  KILN_RETENTION_SUCCEEDED_S: DAY_S,
  KILN_RETENTION_FAILED_S: 7 * DAY_S,
  // HTTP servers (API and spawner)
  KILN_HTTP_HEADERS_TIMEOUT_MS: 10_000,
  KILN_HTTP_REQUEST_TIMEOUT_MS: 30_000,
  KILN_HTTP_KEEPALIVE_TIMEOUT_MS: 5_000,
  KILN_HTTP_MAX_CONNECTIONS: 512,
  // npm run dev:edge (wrangler's port)
  EDGE_PORT: 8787,
  // spawner
  SPAWNER_HOST: '127.0.0.1',
  SPAWNER_PORT: 8001,
  KILN_STATE_DIR: '.kiln',
  DATA_ROOT: 'data',
  ARTIFACT_ROOT: 'KILN_STATE_DIR/artifacts',
  KILN_ARTIFACT_KEY_FILE: 'KILN_STATE_DIR/artifact.key',
  KILN_WORKER_SCRIPT: 'dist/worker.mjs',
  KILN_RECONCILE_MS: 500,
  KILN_HEARTBEAT_MS: 2000,
  KILN_LEASE_MS: 10_000,
  KILN_DRAIN_GRACE_MS: 30_000,
  KILN_KILL_GRACE_MS: 3000,
  KILN_CANCEL_GRACE_MS: 1500,
  KILN_BACKOFF_BASE_MS: 1000,
  KILN_BACKOFF_MAX_MS: 60_000,
  KILN_STRICT_REDIS: false,
  KILN_METRICS_OPEN: false,
  KILN_PYTHON: 'python3',
  KILN_WORKER_NODE_FLAGS: '',
  KILN_WORKER_LOG_MAX_BYTES: 5 * 1024 * 1024,
  KILN_BREAKER_YOUNG_MS: 5000,
  KILN_BREAKER_THRESHOLD: 3,
  KILN_BREAKER_BASE_MS: 1000,
  KILN_BREAKER_MAX_MS: 60_000,
  KILN_REDIS_GATEWAY: false,
  // Python templates: off switch for the host (a type opts out with `template: false`)
  KILN_TEMPLATES: true,
  // logs (every process)
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'text',
} as const;

type Defaults = typeof DEFAULTS;
type NumKnob = { [K in keyof Defaults]: Defaults[K] extends number ? K : never }[keyof Defaults];
type BoolKnob = { [K in keyof Defaults]: Defaults[K] extends boolean ? K : never }[keyof Defaults];
type StrKnob = { [K in keyof Defaults]: Defaults[K] extends string ? K : never }[keyof Defaults];

export interface RedisTarget {
  url: string;
}

/** REDIS_URL, or the seed's REDIS_HOST / REDIS_PORT / REDIS_DB. */
export function redisTarget(env: Env): RedisTarget {
  if (env.REDIS_URL) return { url: env.REDIS_URL };
  return { url: `redis://${strEnv(env, 'REDIS_HOST')}:${intEnv(env, 'REDIS_PORT')}/${intEnv(env, 'REDIS_DB')}` };
}

/** A number knob: its value, or its default in DEFAULTS (or `fallback`, for a knob outside the table). */
export function intEnv(env: Env, name: NumKnob): number;
export function intEnv(env: Env, name: string, fallback: number): number;
export function intEnv(env: Env, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback ?? (DEFAULTS[name as NumKnob] as number);
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new KilnError('BAD_CONFIG', `${name}=${raw} is not a number`, { status: 500 });
  return n;
}

export function boolEnv(env: Env, name: BoolKnob): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return DEFAULTS[name];
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new KilnError('BAD_CONFIG', `${name}=${env[name]} is not a boolean (use true or false)`, { status: 500 });
}

/** A string knob: its value, or its default when unset or empty. */
export function strEnv(env: Env, name: StrKnob): string {
  return env[name] || DEFAULTS[name];
}

/** The key prefix (KILN_PREFIX, default "kiln"). */
export function keyPrefix(env: Env): string {
  const p = strEnv(env, 'KILN_PREFIX');
  if (!/^[\w.-]{1,64}$/.test(p)) throw new KilnError('BAD_CONFIG', `KILN_PREFIX=${p} must be letters, digits, "_", "." or "-"`, { status: 500 });
  return p;
}

/** Entries the job event stream keeps (XADD MAXLEN ~): not a knob. */
export const EVENTS_MAXLEN = 10_000;

/** How long finished jobs are kept and how long the event stream grows: what every JobStore is built with. */
export interface JobRecordSettings {
  succeededRetentionMs: number;
  failedRetentionMs: number;
  eventsMaxLen: number;
}

export function jobRecordSettings(env: Env): JobRecordSettings {
  const positive = (name: 'KILN_RETENTION_SUCCEEDED_S' | 'KILN_RETENTION_FAILED_S') => {
    const v = intEnv(env, name);
    if (!(v > 0)) throw new KilnError('BAD_CONFIG', `${name}=${env[name]} must be above 0`, { status: 500 });
    return v;
  };
  return {
    succeededRetentionMs: positive('KILN_RETENTION_SUCCEEDED_S') * S,
    failedRetentionMs: positive('KILN_RETENTION_FAILED_S') * S,
    eventsMaxLen: EVENTS_MAXLEN,
  };
}

/** Deadline of one Redis command (KILN_REDIS_TIMEOUT_MS, at least 50). */
export function redisTimeoutMs(env: Env): number {
  return Math.max(50, intEnv(env, 'KILN_REDIS_TIMEOUT_MS'));
}

export const TOKEN_FILE_NAME = 'spawner.token';

/** How long an inference job is left to a worker holding its model (affinity) when its type sets no affinity_wait_ms. */
export const DEFAULT_AFFINITY_WAIT_MS = 100;

/** Models a Python runner keeps loaded when its worker type sets no model_cache_size. */
export const DEFAULT_MODEL_CACHE_SIZE = 4;
