/**
 * The spawner's configuration: environment variables and the worker types
 * (built-in defaults, overridden from WORKER_TYPES_FILE). Parsed once, at start.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { boolEnv, type Env, intEnv, keyPrefix, redisTarget } from '../core/config';
import { KilnError } from '../core/errors';
import { DEFAULT_REDIS_TIMEOUT_MS } from '../core/redis-gate';
import { ownValue } from '../core/own-keys';
import { type HttpLimits, httpLimitsFromEnv } from '../core/http-limits';
import { type LogFormat, type LogLevel, logSettingsFromEnv } from '../core/logger';
import { type BreakerOptions, DEFAULT_BREAKER } from './breaker';
import {
  DEFAULT_WORKER_TYPES, typeCeilingProblem, type WorkerTypeConfig, workerTypeConfigSchema, workerTypesFileSchema, withTypeDefaults,
} from '../core/schemas/worker-type';
import { ARTIFACT_KEY_FILE_NAME } from './artifact-key';
import { PROJECT_ROOT } from './project-root';
import { type RedisGatewayConfig, redisGatewayConfigFromEnv } from './redis-gateway-config';
import { checkRootsApart } from './roots';

export { PROJECT_ROOT };

export interface SpawnerConfig {
  host: string;
  port: number;
  hostId: string;
  redisUrl: string;
  prefix: string;
  stateDir: string;
  token: string | undefined;
  types: Record<string, WorkerTypeConfig>;
  workerScript: string;
  reconcileMs: number;
  heartbeatMs: number;
  leaseMs: number;
  drainGraceMs: number;
  killGraceMs: number;
  cancelGraceMs: number;
  defaultTimeoutMs: number;
  backoff: { base_ms: number; max_ms: number };
  succeededRetentionMs: number;
  failedRetentionMs: number;
  dataRoot: string;
  artifactRoot: string;
  /** KILN_ARTIFACT_KEY_FILE: the 0600 file with the key that seals model artifacts (default KILN_STATE_DIR/artifact.key). */
  artifactKeyFile: string;
  handlersDir: string | undefined;
  functionsModule: string | undefined;
  strictRedis: boolean;
  /** KILN_METRICS_OPEN: serve GET /metrics without the token (scrapers on a private network). */
  metricsOpen: boolean;
  /** KILN_GPUS: overrides GPU discovery ("none", "0,1", or JSON). */
  gpusOverride: string | undefined;
  /** Interpreter of Python types that name none (KILN_PYTHON, default python3). */
  defaultPython: string;
  breaker: BreakerOptions;
  /** Node flags for worker processes (KILN_WORKER_NODE_FLAGS, e.g. "--cpu-prof"): a debugging aid. */
  workerNodeFlags: string[];
  /** LOG_LEVEL / LOG_FORMAT of the spawner's console; workers get the same. */
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Size at which a worker's log file is rotated (KILN_WORKER_LOG_MAX_BYTES, default 5 MiB). */
  workerLogMaxBytes: number;
  /** The REST gateway at /redis (KILN_REDIS_GATEWAY*): off unless asked for. */
  redisGateway: RedisGatewayConfig;
  /** Deadline of one Redis command (KILN_REDIS_TIMEOUT_MS, default 1000): routes answer 503 past it, stops never wait longer. */
  redisTimeoutMs: number;
  /** Timeouts and the connection cap of the HTTP server (KILN_HTTP_*, as the API's). */
  http: HttpLimits;
}

export function loadWorkerTypes(env: Env): Record<string, WorkerTypeConfig> {
  const out: Record<string, WorkerTypeConfig> = {};
  for (const [name, cfg] of Object.entries(DEFAULT_WORKER_TYPES)) out[name] = withTypeDefaults(workerTypeConfigSchema.parse(cfg));
  const file = env.WORKER_TYPES_FILE;
  if (!file) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file} could not be read as JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  // A type that exists already is merged field by field; a new one must be complete.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file} must hold a JSON object of worker type name → config`);
  }
  // zod's record drops a "__proto__" key without a word: refuse it here
  if (Object.hasOwn(raw, '__proto__')) throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file}: __proto__: worker type names are lowercase letters, digits, ".", "_" or "-"`);
  // own keys only: a type named "constructor" is new, not merged with an inherited "built-in"
  const merged = Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([name, cfg]) => {
    const builtin = ownValue(DEFAULT_WORKER_TYPES, name);
    return [name, builtin && typeof cfg === 'object' && cfg !== null ? { ...builtin, ...cfg } : cfg];
  }));
  const parsed = workerTypesFileSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  for (const [name, cfg] of Object.entries(parsed.data)) {
    if (cfg.min_workers > cfg.max_workers) throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file}: ${name}.min_workers (${cfg.min_workers}) is above max_workers (${cfg.max_workers})`);
    const ceiling = typeCeilingProblem(cfg);
    if (ceiling) throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file}: ${name}.${ceiling}`);
    out[name] = withTypeDefaults(cfg);
  }
  return out;
}

export function loadSpawnerConfig(env: Env): SpawnerConfig {
  const stateDir = resolve(env.KILN_STATE_DIR || join(PROJECT_ROOT, '.kiln'));
  const logs = logSettingsFromEnv(env);
  const dataRoot = resolve(env.DATA_ROOT || join(PROJECT_ROOT, 'data'));
  const artifactRoot = resolve(env.ARTIFACT_ROOT || join(stateDir, 'artifacts'));
  checkRootsApart(dataRoot, artifactRoot);
  return {
    host: env.SPAWNER_HOST || '127.0.0.1',
    port: intEnv(env, 'SPAWNER_PORT', 8001),
    hostId: env.KILN_HOST_ID || hostname(),
    redisUrl: redisTarget(env).url,
    prefix: keyPrefix(env),
    stateDir,
    token: env.SPAWNER_TOKEN || undefined,
    types: loadWorkerTypes(env),
    workerScript: env.KILN_WORKER_SCRIPT || join(PROJECT_ROOT, 'dist', 'worker.mjs'),
    reconcileMs: intEnv(env, 'KILN_RECONCILE_MS', 500),
    heartbeatMs: intEnv(env, 'KILN_HEARTBEAT_MS', 2000),
    leaseMs: intEnv(env, 'KILN_LEASE_MS', 10_000),
    drainGraceMs: intEnv(env, 'KILN_DRAIN_GRACE_MS', 30_000),
    killGraceMs: intEnv(env, 'KILN_KILL_GRACE_MS', 3000),
    cancelGraceMs: intEnv(env, 'KILN_CANCEL_GRACE_MS', 1500),
    defaultTimeoutMs: intEnv(env, 'KILN_DEFAULT_TIMEOUT_S', 3600) * 1000,
    backoff: { base_ms: intEnv(env, 'KILN_BACKOFF_BASE_MS', 1000), max_ms: intEnv(env, 'KILN_BACKOFF_MAX_MS', 60_000) },
    succeededRetentionMs: intEnv(env, 'KILN_RETENTION_SUCCEEDED_S', 24 * 3600) * 1000,
    failedRetentionMs: intEnv(env, 'KILN_RETENTION_FAILED_S', 7 * 24 * 3600) * 1000,
    dataRoot,
    artifactRoot,
    artifactKeyFile: resolve(env.KILN_ARTIFACT_KEY_FILE || join(stateDir, ARTIFACT_KEY_FILE_NAME)),
    handlersDir: env.KILN_HANDLERS_DIR ? resolve(env.KILN_HANDLERS_DIR) : undefined,
    functionsModule: env.KILN_FUNCTIONS_MODULE ? resolve(env.KILN_FUNCTIONS_MODULE) : undefined,
    strictRedis: boolEnv(env, 'KILN_STRICT_REDIS', false),
    metricsOpen: boolEnv(env, 'KILN_METRICS_OPEN', false),
    gpusOverride: env.KILN_GPUS,
    defaultPython: env.KILN_PYTHON || 'python3',
    workerNodeFlags: (env.KILN_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    logLevel: logs.level,
    logFormat: logs.format,
    workerLogMaxBytes: Math.max(1024, intEnv(env, 'KILN_WORKER_LOG_MAX_BYTES', 5 * 1024 * 1024)),
    redisGateway: redisGatewayConfigFromEnv(env, Math.max(50, intEnv(env, 'KILN_REDIS_TIMEOUT_MS', DEFAULT_REDIS_TIMEOUT_MS))),
    redisTimeoutMs: Math.max(50, intEnv(env, 'KILN_REDIS_TIMEOUT_MS', DEFAULT_REDIS_TIMEOUT_MS)),
    http: httpLimitsFromEnv(env),
    breaker: {
      youngMs: intEnv(env, 'KILN_BREAKER_YOUNG_MS', DEFAULT_BREAKER.youngMs),
      threshold: intEnv(env, 'KILN_BREAKER_THRESHOLD', DEFAULT_BREAKER.threshold),
      baseDelayMs: intEnv(env, 'KILN_BREAKER_BASE_MS', DEFAULT_BREAKER.baseDelayMs),
      maxDelayMs: intEnv(env, 'KILN_BREAKER_MAX_MS', DEFAULT_BREAKER.maxDelayMs),
    },
  };
}
