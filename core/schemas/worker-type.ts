import { z } from 'zod';
import { FRAMEWORK_NAMES, FRAMEWORKS } from '../frameworks';

/** Seconds a Python type's template that forked nothing is kept (template_idle_timeout). */
export const DEFAULT_TEMPLATE_IDLE_TIMEOUT_S = 1800;

/** How one worker type runs: what the spawner starts and how it scales it. */
export const workerTypeConfigSchema = z.object({
  framework: z.enum(FRAMEWORK_NAMES),
  version: z.string().min(1),
  gpu: z.boolean().default(false),
  /** Expected seconds from spawn to ready (informational; the seed's field). */
  startup_time: z.number().nonnegative().default(1),
  /** Seconds an idle worker beyond min_workers is kept before it is drained; spares stay while the type had a job within it. */
  idle_timeout: z.number().positive().default(300),
  max_jobs: z.number().int().positive().max(1000).default(1),
  max_workers: z.number().int().positive().max(1000).default(4),
  min_workers: z.number().int().nonnegative().default(0),
  /** Idle ready workers kept beyond demand while the type is active (Modal's buffer_containers); they count toward max_workers. */
  spare_workers: z.number().int().nonnegative().max(1000).default(0),
  /** Interpreter of a Python type (a virtualenv's python). */
  python: z.string().min(1).optional(),
  /** Extra PYTHONPATH entries for a Python type's runner. */
  python_path: z.array(z.string().min(1)).optional(),
  /** Extra environment variables for this type's workers (set by the operator, never by a request). */
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are upper case'), z.string()).optional(),
  version_policy: z.enum(['warn', 'enforce']).default('warn'),
  /** Default per-job timeout for jobs of this type, in seconds. */
  timeout_s: z.number().positive().optional(),
  max_attempts: z.number().int().positive().max(100).optional(),
  /** Retry backoff of this type's jobs: first delay and cap, in ms (exponential, jittered). */
  backoff_ms: z.number().int().nonnegative().optional(),
  backoff_max_ms: z.number().int().nonnegative().optional(),
  /** RSS limit of a worker's process tree, MiB; 0: none. Python types default to DEFAULT_PYTHON_MEMORY_MB. */
  memory_mb: z.number().nonnegative().optional(),
  /** Jobs waiting in this type's queue past which a submit is 429 QUEUE_FULL (default: the API's KILN_MAX_QUEUED). */
  max_queued: z.number().int().positive().max(10_000_000).optional(),
  /** Seconds a job may wait for its first start before it ends `expired` (default: the API's KILN_QUEUED_TTL_S). */
  queued_ttl_s: z.number().positive().max(30 * 24 * 3600).optional(),
  /** Ceiling of a submit's timeout_s for this type (above it: 400). */
  max_timeout_s: z.number().positive().optional(),
  /** Ceiling of a submit's max_attempts for this type (above it: 400). */
  max_attempts_limit: z.number().int().min(1).max(100).optional(),
  gpus_per_worker: z.number().int().nonnegative().default(1),
  /** Python types: loaded models a runner keeps between inference jobs, least recently used out first (default DEFAULT_MODEL_CACHE_SIZE; 0: none). */
  model_cache_size: z.number().int().nonnegative().max(1000).optional(),
  /** Python types: the same cache's bound in MB, from each model's estimated size (default: none, only the count bounds it). */
  model_cache_mb: z.number().positive().max(1024 * 1024).optional(),
  /**
   * Python types: how long (ms, from its queued_at) an inference job whose model another live worker of the
   * type holds loaded is left to that worker before any worker may take it (default DEFAULT_AFFINITY_WAIT_MS).
   */
  affinity_wait_ms: z.number().int().nonnegative().max(60_000).optional(),
  /**
   * Python types: dynamic batching. An idle worker that claims an inference job claims more queued jobs
   * of the same model, up to max_size, waiting at most max_wait_ms from the first for the batch to fill,
   * and runs them in one handler call (each job keeps its own result, error, attempts and events).
   */
  batch: z.object({
    max_size: z.number().int().min(1).max(256),
    max_wait_ms: z.number().int().min(0).max(10_000),
  }).strict().optional(),
  recycle_after_jobs: z.number().int().positive().optional(),
  recycle_rss_growth_mb: z.number().positive().optional(),
  /** Python types: fork each worker's runner from a template that imported the framework once; false: spawn each runner. */
  template: z.boolean().default(true),
  /** Seconds a template that forked nothing is kept before it is stopped (the next worker starts it again). */
  template_idle_timeout: z.number().positive().default(DEFAULT_TEMPLATE_IDLE_TIMEOUT_S),
});

export type WorkerTypeConfig = z.infer<typeof workerTypeConfigSchema>;
export type WorkerTypeInput = z.input<typeof workerTypeConfigSchema>;

/** RSS limit (MiB) of a Python type's worker tree when its config names none: a runaway runner is killed. */
export const DEFAULT_PYTHON_MEMORY_MB = 4096;
/** The same for GPU types: CUDA's context and libraries alone take a few GiB of host memory. */
export const DEFAULT_GPU_PYTHON_MEMORY_MB = 8192;

/** A parsed type with the defaults that depend on other fields (memory_mb of Python types). */
export function withTypeDefaults(cfg: WorkerTypeConfig): WorkerTypeConfig {
  if (cfg.framework === 'node' || cfg.memory_mb !== undefined) return cfg;
  return { ...cfg, memory_mb: cfg.gpu ? DEFAULT_GPU_PYTHON_MEMORY_MB : DEFAULT_PYTHON_MEMORY_MB };
}

/** A type whose own defaults break its ceilings, as a sentence (undefined: consistent). */
export function typeCeilingProblem(cfg: WorkerTypeConfig): string | undefined {
  if (cfg.max_timeout_s !== undefined && cfg.timeout_s !== undefined && cfg.timeout_s > cfg.max_timeout_s) {
    return `timeout_s (${cfg.timeout_s}) is above max_timeout_s (${cfg.max_timeout_s})`;
  }
  if (cfg.max_attempts_limit !== undefined && cfg.max_attempts !== undefined && cfg.max_attempts > cfg.max_attempts_limit) {
    return `max_attempts (${cfg.max_attempts}) is above max_attempts_limit (${cfg.max_attempts_limit})`;
  }
  return undefined;
}

export const workerTypesFileSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'worker type names are lowercase letters, digits, ".", "_" or "-"'),
  workerTypeConfigSchema,
);

const python = (framework: 'pytorch' | 'tensorflow' | 'sklearn', version: string, gpu: boolean, startup: number) =>
  ({ framework, version, gpu, startup_time: startup, idle_timeout: 300, max_jobs: FRAMEWORKS[framework].defaultMaxJobs, max_workers: gpu ? 1 : 2, min_workers: 0 }) satisfies WorkerTypeInput;

/** The seed's LOCAL_WORKER_CONFIGS, plus `node` for plain functions. */
export const DEFAULT_WORKER_TYPES: Record<string, WorkerTypeInput> = {
  'pytorch-2.0': python('pytorch', '2.0.0', false, 5),
  'pytorch-2.1': python('pytorch', '2.1.0', false, 5),
  'pytorch-2.0-gpu': python('pytorch', '2.0.0', true, 8),
  'pytorch-2.1-gpu': python('pytorch', '2.1.0', true, 8),
  tensorflow: python('tensorflow', '2.13.0', false, 8),
  sklearn: python('sklearn', '1.3.0', false, 2),
  node: { framework: 'node', version: '20', gpu: false, startup_time: 0.1, idle_timeout: 60, max_jobs: FRAMEWORKS.node.defaultMaxJobs, max_workers: 4, min_workers: 0 },
};

export const DEFAULT_WORKER_TYPE_NAMES: readonly string[] = Object.keys(DEFAULT_WORKER_TYPES);
