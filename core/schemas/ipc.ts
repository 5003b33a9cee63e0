import { z } from 'zod';
import { jobStatsDeltaSchema } from '../job-stats';

/** Where a worker's own start went (ms), measured by the worker; on its `ready` message and record. */
export const bootTimingsSchema = z.object({
  /** The spawner's fork call → the worker's main module running. */
  spawn_ms: z.number(),
  /** Of spawn_ms: the fork call → the Node process's time origin (the rest is loading the bundle). */
  process_ms: z.number(),
  /** Main module running → Redis connected and the executor ready, minus the framework import. */
  runtime_ready_ms: z.number(),
  /** The Python runner's import of its framework; null for Node types. */
  framework_import_ms: z.number().nullable(),
  /** The fork call → ready. */
  ready_ms: z.number(),
});
export type BootTimings = z.infer<typeof bootTimingsSchema>;

/** What became of a job that did not succeed (the worker tells the spawner on failures only). */
export const JOB_FAILURE_OUTCOMES = ['retrying', 'failed', 'cancelled', 'timeout'] as const;

/** Messages a worker sends its spawner over the IPC channel (version 1). */
export const workerToSpawnerSchema = z.discriminatedUnion('type', [
  z.object({
    v: z.literal(1), type: z.literal('ready'), pid: z.number(), framework: z.string(), version: z.string(), python: z.string().optional(), cuda: z.boolean().optional(), runner_pid: z.number().optional(),
    timings: bootTimingsSchema.optional(),
    /** version_policy "warn" and the framework's version does not match the type's. */
    warning: z.string().optional(),
  }),
  z.object({
    v: z.literal(1), type: z.literal('job-failed'), job_id: z.string(), outcome: z.enum(JOB_FAILURE_OUTCOMES),
    error_type: z.string(), message: z.string(), attempt: z.number().int().nonnegative(), max_attempts: z.number().int().nonnegative().optional(),
  }),
  z.object({ v: z.literal(1), type: z.literal('failed-to-start'), code: z.string(), message: z.string() }),
  z.object({ v: z.literal(1), type: z.literal('draining'), running: z.number() }),
  z.object({ v: z.literal(1), type: z.literal('replace-me'), reason: z.string() }),
  z.object({ v: z.literal(1), type: z.literal('recycling'), reason: z.string() }),
  /** Its runner could not be forked from the type's template and was spawned instead; `unsafe`: the fork's self-test failed. */
  z.object({ v: z.literal(1), type: z.literal('template-fallback'), reason: z.string(), unsafe: z.boolean() }),
  /** Job counts since the previous stats message (every heartbeat with news, and at drain). */
  z.object({ v: z.literal(1), type: z.literal('stats'), ...jobStatsDeltaSchema.shape }),
]);
export type WorkerToSpawner = z.infer<typeof workerToSpawnerSchema>;

/** Messages a spawner sends a worker (version 1). */
export const spawnerToWorkerSchema = z.discriminatedUnion('type', [
  z.object({ v: z.literal(1), type: z.literal('drain') }),
  z.object({ v: z.literal(1), type: z.literal('cancel'), job_id: z.string(), reason: z.string() }),
]);
export type SpawnerToWorker = z.infer<typeof spawnerToWorkerSchema>;

/** What the spawner hands a worker at start, as the KILN_WORKER env variable (JSON). */
export const workerBootSchema = z.object({
  worker_id: z.string(),
  worker_type: z.string(),
  /** When the spawner called fork (ms since the epoch, sub-ms precision): the start of a cold start. */
  spawned_at: z.number().optional(),
  redis_url: z.string(),
  prefix: z.string(),
  max_jobs: z.number().int().positive(),
  framework: z.string(),
  version: z.string(),
  version_policy: z.enum(['warn', 'enforce']),
  python: z.string().optional(),
  default_timeout_ms: z.number().nonnegative(),
  heartbeat_ms: z.number().positive(),
  lease_ms: z.number().positive(),
  cancel_grace_ms: z.number().nonnegative(),
  functions_module: z.string().optional(),
  data_root: z.string(),
  artifact_root: z.string(),
  /** The file holding the install's artifact key: Python runners seal and verify models with it (the path, never the key). */
  artifact_key_file: z.string().optional(),
  handlers_dir: z.string().optional(),
  python_path: z.array(z.string()).default([]),
  /** Take at most this many jobs, then drain and exit (recycle_after_jobs). */
  max_total_jobs: z.number().int().positive().optional(),
  env: z.record(z.string(), z.string()).default({}),
  /** Python types: the runner's model cache bounds (KILN_MODEL_CACHE_SIZE / KILN_MODEL_CACHE_MB). */
  model_cache: z.object({ size: z.number().int().nonnegative(), mb: z.number().positive().optional() }).optional(),
  /** Python types: the worker advertises its runner's models and claims with model affinity (affinity_wait_ms). */
  affinity_wait_ms: z.number().int().nonnegative().optional(),
  /** Python types: dynamic batching of inference jobs of one model (worker-runtime/batcher.ts). */
  batch: z.object({ max_size: z.number().int().positive(), max_wait_ms: z.number().int().nonnegative() }).optional(),
  backoff: z.object({ base_ms: z.number().nonnegative(), max_ms: z.number().nonnegative() }),
  succeeded_retention_ms: z.number().positive(),
  failed_retention_ms: z.number().positive(),
});
export type WorkerBoot = z.infer<typeof workerBootSchema>;
