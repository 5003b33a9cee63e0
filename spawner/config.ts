/**
 * The spawner's configuration: environment variables and the worker types
 * (built-in defaults, overridden from WORKER_TYPES_FILE). Parsed once, at start.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { boolEnv, DEFAULTS, type Env, intEnv, type JobRecordSettings, jobRecordSettings, keyPrefix, redisTarget, redisTimeoutMs, strEnv } from '../core/config';
import { KilnError } from '../core/errors';
import { FRAMEWORKS, PYTHON_RUNNER_CAPACITY } from '../core/frameworks';
import { ownValue } from '../core/own-keys';
import { type HttpLimits, httpLimitsFromEnv } from '../core/http-limits';
import { type LogFormat, type LogLevel, logSettingsFromEnv } from '../core/logger';
import type { BreakerOptions } from './breaker';
import {
  DEFAULT_WORKER_TYPES, typeCeilingProblem, type WorkerTypeConfig, workerTypeConfigSchema, workerTypesFileSchema, withTypeDefaults,
} from '../core/schemas/worker-type';
import { ARTIFACT_KEY_FILE_NAME } from './artifact-key';
import { pathKnob, PROJECT_ROOT } from './project-root';
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
  /** Retentions of finished jobs (KILN_RETENTION_*_S): what the spawner's JobStore and its workers' are built with. */
  jobRecords: JobRecordSettings;
  dataRoot: string;
  artifactRoot: string;
  /** KILN_ARTIFACT_KEY_FILE: the 0600 file with the key that seals model artifacts (default KILN_STATE_DIR/artifact.key). */
  artifactKeyFile: string;
  handlersDir: string | undefined;
  functionsModule: string | undefined;
  strictRedis: boolean;
  /** KILN_METRICS_OPEN: serve GET /metrics without the token (scrapers on a private network). */
  metricsOpen: boolean;
  /** KILN_TEMPLATES: Python types fork runners from templates (each type may still opt out). */
  templates: boolean;
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

/**
 * A Python type runs one job at a time per worker (one runner process): max_jobs above
 * that is refused at start rather than queued inside the worker, where waiting jobs
 * would use up their time limit.
 */
export function typeCapacityProblem(cfg: WorkerTypeConfig): string | undefined {
  if (FRAMEWORKS[cfg.framework].runtime !== 'python' || cfg.max_jobs <= PYTHON_RUNNER_CAPACITY) return undefined;
  return `max_jobs (${cfg.max_jobs}) is above ${PYTHON_RUNNER_CAPACITY}: a ${cfg.framework} worker runs one job at a time (one Python runner); set max_jobs to 1 and raise max_workers for more jobs at once`;
}

/** The model cache lives in the Python runner: a Node type that sets it is a mistake worth a word. */
export function modelCacheProblem(cfg: WorkerTypeConfig): string | undefined {
  if (FRAMEWORKS[cfg.framework].runtime === 'python') return undefined;
  const field = (['model_cache_size', 'model_cache_mb', 'affinity_wait_ms', 'batch'] as const).find((f) => cfg[f] !== undefined);
  return field && `${field}: the model cache (and model affinity, and dynamic batching) belongs to Python runners; a ${cfg.framework} type has none (remove the field)`;
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
    if (cfg.spare_workers > cfg.max_workers) throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file}: ${name}.spare_workers (${cfg.spare_workers}) is above max_workers (${cfg.max_workers})`);
    const ceiling = typeCeilingProblem(cfg) ?? typeCapacityProblem(cfg) ?? modelCacheProblem(cfg);
    if (ceiling) throw new KilnError('BAD_CONFIG', `WORKER_TYPES_FILE ${file}: ${name}.${ceiling}`);
    out[name] = withTypeDefaults(cfg);
  }
  return out;
}

/** DATA_ROOT, or its default <project>/data: what jobs may read (the API checks data_path against it too). */
export function dataRootOf(env: Env): string {
  return pathKnob(env, 'DATA_ROOT');
}

export function loadSpawnerConfig(env: Env): SpawnerConfig {
  const stateDir = pathKnob(env, 'KILN_STATE_DIR');
  const logs = logSettingsFromEnv(env);
  const dataRoot = dataRootOf(env);
  const artifactRoot = resolve(env.ARTIFACT_ROOT || join(stateDir, 'artifacts'));
  checkRootsApart(dataRoot, artifactRoot);
  const timeoutMs = redisTimeoutMs(env);
  return {
    host: strEnv(env, 'SPAWNER_HOST'),
    port: intEnv(env, 'SPAWNER_PORT'),
    hostId: env.KILN_HOST_ID || hostname(),
    redisUrl: redisTarget(env).url,
    prefix: keyPrefix(env),
    stateDir,
    token: env.SPAWNER_TOKEN || undefined,
    types: loadWorkerTypes(env),
    workerScript: pathKnob(env, 'KILN_WORKER_SCRIPT'),
    reconcileMs: intEnv(env, 'KILN_RECONCILE_MS'),
    heartbeatMs: intEnv(env, 'KILN_HEARTBEAT_MS'),
    leaseMs: intEnv(env, 'KILN_LEASE_MS'),
    drainGraceMs: intEnv(env, 'KILN_DRAIN_GRACE_MS'),
    killGraceMs: intEnv(env, 'KILN_KILL_GRACE_MS'),
    cancelGraceMs: intEnv(env, 'KILN_CANCEL_GRACE_MS'),
    defaultTimeoutMs: intEnv(env, 'KILN_DEFAULT_TIMEOUT_S') * 1000,
    backoff: { base_ms: intEnv(env, 'KILN_BACKOFF_BASE_MS'), max_ms: intEnv(env, 'KILN_BACKOFF_MAX_MS') },
    jobRecords: jobRecordSettings(env),
    dataRoot,
    artifactRoot,
    artifactKeyFile: resolve(env.KILN_ARTIFACT_KEY_FILE || join(stateDir, ARTIFACT_KEY_FILE_NAME)),
    handlersDir: env.KILN_HANDLERS_DIR ? resolve(env.KILN_HANDLERS_DIR) : undefined,
    functionsModule: env.KILN_FUNCTIONS_MODULE ? resolve(env.KILN_FUNCTIONS_MODULE) : undefined,
    strictRedis: boolEnv(env, 'KILN_STRICT_REDIS'),
    metricsOpen: boolEnv(env, 'KILN_METRICS_OPEN'),
    templates: boolEnv(env, 'KILN_TEMPLATES'),
    gpusOverride: env.KILN_GPUS,
    defaultPython: strEnv(env, 'KILN_PYTHON'),
    workerNodeFlags: (env.KILN_WORKER_NODE_FLAGS ?? DEFAULTS.KILN_WORKER_NODE_FLAGS).split(/\s+/).filter(Boolean),
    logLevel: logs.level,
    logFormat: logs.format,
    workerLogMaxBytes: Math.max(1024, intEnv(env, 'KILN_WORKER_LOG_MAX_BYTES')),
    redisGateway: redisGatewayConfigFromEnv(env, timeoutMs),
    redisTimeoutMs: timeoutMs,
    http: httpLimitsFromEnv(env),
    breaker: {
      youngMs: intEnv(env, 'KILN_BREAKER_YOUNG_MS'),
      threshold: intEnv(env, 'KILN_BREAKER_THRESHOLD'),
      baseDelayMs: intEnv(env, 'KILN_BREAKER_BASE_MS'),
      maxDelayMs: intEnv(env, 'KILN_BREAKER_MAX_MS'),
    },
  };
}
