/** What a worker is told at start (the KILN_WORKER variable): its type, Redis, limits. */
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
    backoff: {
      base_ms: cfg.backoff_ms ?? config.backoff.base_ms,
      max_ms: cfg.backoff_max_ms ?? config.backoff.max_ms,
    },
    succeeded_retention_ms: config.succeededRetentionMs,
    failed_retention_ms: config.failedRetentionMs,
  };
}
