/**
 * The JSON the API answers about workers and worker types, as zod schemas: what
 * `workerView` and `workersStatusView` return. The OpenAPI document is generated
 * from these.
 */
import { z } from 'zod';
import { bootTimingsSchema } from './ipc';
import { isoTime } from './job-view';
import { WORKER_STATUSES } from './worker';
import { workerTypeConfigSchema } from './worker-type';

export const workerExitSchema = z.object({
  reason: z.string().nullable(),
  message: z.string().nullable(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  stderr_tail: z.array(z.string()),
  peak_rss_mb: z.number().nullable(),
  exited_at: isoTime.nullable(),
}).meta({ id: 'WorkerExit', description: 'how an exited worker ended' });

export const workerViewSchema = z.object({
  worker_id: z.string(),
  worker_type: z.string(),
  process_id: z.number().int(),
  status: z.enum(WORKER_STATUSES),
  created_at: isoTime,
  last_activity: isoTime,
  job_count: z.number().int().nonnegative().describe('jobs it has finished'),
  max_jobs: z.number().int().positive(),
  working_directory: z.string().describe("its folder, relative to its spawner's state folder (KILN_STATE_DIR), e.g. workers/node-1a2b3c4d"),
  host: z.string(),
  gpu: z.string().nullable().describe('CUDA_VISIBLE_DEVICES of a GPU worker'),
  rss_bytes: z.number().nullable().describe('resident memory of its process tree'),
  gpu_memory_mb: z.number().nullable(),
  runner_pid: z.number().int().nullable().describe('its Python runner, for Python types'),
  last_heartbeat: isoTime.nullable(),
  status_reason: z.string().nullable(),
  warning: z.string().nullable().describe('a version-policy "warn" mismatch reported when it became ready'),
  boot_timings: bootTimingsSchema.nullable().describe('where its own start went: spawn, process, runtime ready, framework import, ready (ms)'),
  exit: workerExitSchema.optional().describe('only once the worker exited'),
}).meta({ id: 'Worker' });

/** Per worker type: what waits and why. */
export const typeStatusSchema = z.object({
  queued: z.number().int().nonnegative(),
  delayed: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  workers: z.record(z.string(), z.number().int().nonnegative()).describe('workers by state'),
  capacity: z.object({
    max_workers: z.number().int().nullable(),
    max_jobs: z.number().int().nullable(),
    slots: z.number().int().nullable().describe('max_workers × max_jobs × hosts'),
    hosts: z.number().int().nonnegative().describe('spawners serving the type that reported in the last minute'),
  }),
  spare_workers: z.number().int().nonnegative().nullable().describe('idle workers each host keeps beyond demand while the type is active (null: the registry does not say)'),
  spare_ready: z.number().int().nonnegative().describe('idle ready workers now, up to spare_workers per serving host: what a burst gets without a cold start'),
  waiting_reason: z.string().nullable().describe("why queued jobs wait, e.g. 'at max_workers', 'no free GPU'"),
  warning: z.string().nullable().describe('e.g. a version-policy warning'),
}).meta({ id: 'TypeStatus' });

export const workersStatusSchema = z.object({
  total_workers: z.number().int().nonnegative(),
  active_workers: z.number().int().nonnegative().describe('workers running a job'),
  workers_by_type: z.record(z.string(), z.number().int().nonnegative()),
  worker_details: z.record(z.string(), workerViewSchema).describe('by worker id'),
  type_state: z.record(z.string(), z.string()).describe('worker types that cannot start workers now, with the reason'),
  types: z.record(z.string(), typeStatusSchema).describe('every registered worker type: what waits and why'),
}).meta({ id: 'WorkersStatus' });

/**
 * A worker type as a spawner registered it (core/worker-type-view.ts): its config
 * without what stays on the host (the interpreter, its PYTHONPATH, env values),
 * env by variable name only, and the host.
 */
export const workerTypeViewSchema = workerTypeConfigSchema
  .omit({ python: true, python_path: true, env: true })
  .extend({
    env: z.array(z.string()).describe('names of the environment variables its workers get; the values never leave the host'),
    host: z.string().describe('the spawner host that registered it'),
  })
  .meta({ id: 'WorkerType' });

export const workerTypesSchema = z.object({
  types: z.record(z.string(), workerTypeViewSchema).describe('by worker type name'),
}).meta({ id: 'WorkerTypes' });
