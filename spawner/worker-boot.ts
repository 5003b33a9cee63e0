/** What a worker is told at start (the KILN_WORKER variable): its type, Redis, limits. */
import { DEFAULT_AFFINITY_WAIT_MS, DEFAULT_MODEL_CACHE_SIZE } from '../core/config';
import type { WorkerBoot } from '../core/schemas/ipc';
import type { WorkerTypeConfig } from '../core/schemas/worker-type';
import type { SpawnerConfig } from './config';

/** `spawnedAt`: when the spawner forks it (ms since the epoch, sub-ms), the start of its cold-start timings. */
export function workerBoot(config: SpawnerConfig, id: string, type: string, cfg: WorkerTypeConfig, spawnedAt?: number): WorkerBoot {
  return {
    worker_id: id,
    worker_type: type,
    ...(spawnedAt !== undefined && { spawned_at: spawnedAt }),
    redis_url: config.redisUrl,
    prefix: config.prefix,
    max_jobs: cfg.max_jobs,
    framework: cfg.framework,
    version: cfg.version,
    version_policy: cfg.version_policy,
    ...(cfg.framework !== 'node' && { python: cfg.python ?? config.defaultPython }),
    // a type's ceiling also bounds the default its jobs get (KILN_DEFAULT_TIMEOUT_S may be larger)
    default_timeout_ms: Math.min(cfg.timeout_s !== undefined ? cfg.timeout_s * 1000 : config.defaultTimeoutMs, (cfg.max_timeout_s ?? Infinity) * 1000),
    heartbeat_ms: config.heartbeatMs,
    lease_ms: config.leaseMs,
    cancel_grace_ms: config.cancelGraceMs,
    ...(config.functionsModule && { functions_module: config.functionsModule }),
    data_root: config.dataRoot,
    artifact_root: config.artifactRoot,
    ...(cfg.framework !== 'node' && { artifact_key_file: config.artifactKeyFile }),
    ...(config.handlersDir && { handlers_dir: config.handlersDir }),
    python_path: cfg.python_path ?? [],
    ...(cfg.recycle_after_jobs !== undefined && { max_total_jobs: cfg.recycle_after_jobs }),
    env: cfg.env ?? {},
    ...(cfg.framework !== 'node' && {
      model_cache: { size: cfg.model_cache_size ?? DEFAULT_MODEL_CACHE_SIZE, ...(cfg.model_cache_mb !== undefined && { mb: cfg.model_cache_mb }) },
      affinity_wait_ms: cfg.affinity_wait_ms ?? DEFAULT_AFFINITY_WAIT_MS,
      ...(cfg.batch && { batch: cfg.batch }),
    }),
    backoff: {
      base_ms: cfg.backoff_ms ?? config.backoff.base_ms,
      max_ms: cfg.backoff_max_ms ?? config.backoff.max_ms,
    },
    succeeded_retention_ms: config.jobRecords.succeededRetentionMs,
    failed_retention_ms: config.jobRecords.failedRetentionMs,
  };
}

/**
 * The seed's worker environment, for handlers written for the seed's system:
 * WORKER_TYPE, MODEL_FRAMEWORK, REDIS_HOST / REDIS_PORT / REDIS_DB, USE_GPU ("true"/"false"),
 * and REDIS_URL only when it carries no user name or password (a secret never goes in).
 */
export function seedWorkerEnv(config: Pick<SpawnerConfig, 'redisUrl'>, type: string, cfg: Pick<WorkerTypeConfig, 'framework' | 'gpu'>): Record<string, string> {
  const out: Record<string, string> = { WORKER_TYPE: type, MODEL_FRAMEWORK: cfg.framework, USE_GPU: cfg.gpu ? 'true' : 'false' };
  let url: URL;
  try {
    url = new URL(config.redisUrl);
  } catch {
    return out;
  }
  out.REDIS_HOST = url.hostname.replace(/^\[(.*)\]$/, '$1');
  out.REDIS_PORT = url.port || '6379';
  out.REDIS_DB = /^\/(\d+)$/.exec(url.pathname)?.[1] ?? '0';
  if (!url.username && !url.password) out.REDIS_URL = config.redisUrl;
  return out;
}

/** A worker process's environment: the allowed host variables, the type's `env`, the seed's variables, then the spawner's own. */
export function workerProcessEnv(base: Record<string, string>, config: SpawnerConfig, type: string, cfg: WorkerTypeConfig, own: Record<string, string>): Record<string, string> {
  return { ...base, ...cfg.env, ...seedWorkerEnv(config, type, cfg), ...own };
}
