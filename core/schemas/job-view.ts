/**
 * The JSON the API answers about jobs, as zod schemas: what `jobView` and the
 * submit and cancel routes return. The OpenAPI document is generated from these,
 * and tests/openapi.test.ts checks real answers against them.
 */
import { z } from 'zod';
import { JOB_ERROR_TYPES } from '../errors';
import { JOB_STATUSES, jobErrorSchema } from './job';

/** A time as `new Date(ms).toISOString()` writes it. */
export const isoTime = z.iso.datetime().meta({ example: '2026-05-01T12:00:00.000Z' });

/** A failed attempt's error as the job view shows it (core/schemas/job.ts jobErrorView). */
const jobErrorViewSchema = jobErrorSchema.extend({
  at: isoTime.optional().describe('when the attempt failed'),
}).meta({ id: 'JobError', description: "why an attempt failed; the job's `error` is the last one" });
const ms = z.number().int().nonnegative();

/**
 * `schema | null` for a schema with an `id`: zod-to-openapi 9.1 writes a bare
 * `$ref` for `.nullable()` of such a schema, dropping the null.
 */
export const orNull = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]);

/** Where a job's time went (helper "metrics"); null fields are not known (yet). */
export const jobTimingsSchema = z.object({
  queue_wait_ms: ms.nullable().describe('submit → claim by a worker'),
  run_ms: ms.nullable().describe('claim → end'),
  cold_start: z.object({
    spawn_ms: ms.nullable(),
    runtime_ready_ms: ms.nullable(),
    framework_import_ms: ms.nullable(),
    total_ms: ms.nullable(),
  }).nullable().describe("set when this job's arrival started its worker"),
}).meta({ id: 'JobTimings' });

const progressMetrics = z.record(z.string(), z.number()).describe('the numbers a progress report carried, e.g. {"loss": 0.31}');

export const metricsPointSchema = z.object({
  ts: isoTime,
  progress: z.number(),
  message: z.string().nullable(),
  metrics: progressMetrics.nullable(),
}).meta({ id: 'MetricsPoint' });

export const jobViewSchema = z.object({
  job_id: z.string(),
  status: z.enum(JOB_STATUSES),
  worker_type: z.string(),
  kind: z.enum(['training', 'inference', 'function', 'generic']),
  payload: z.unknown().describe('what the job runs: the submitted body without the scheduling options'),
  priority: z.number().int(),
  attempts: z.number().int().nonnegative(),
  max_attempts: z.number().int().positive(),
  timeout_s: z.number().nullable().describe('null: no per-job timeout was set'),
  progress: z.number().describe('0 to 1, as the handler last reported it'),
  progress_message: z.string().nullable(),
  result: z.unknown().describe("the handler's result once succeeded, else null"),
  error: orNull(jobErrorViewSchema),
  errors: z.array(jobErrorViewSchema).describe("every failed attempt's error, oldest first"),
  worker_id: z.string().nullable(),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
  run_at: isoTime.nullable().describe('when a delayed job (retry backoff) becomes due'),
  waiting_reason: z.string().nullable().optional().describe('why a queued job waits, when its worker type cannot take it now'),
  timings: jobTimingsSchema.optional(),
  progress_metrics: progressMetrics.nullable().optional().describe('the latest progress metrics'),
  metrics_history: z.array(metricsPointSchema).optional().describe('progress reports with metrics, oldest first, capped; only on GET /jobs/{id}'),
}).meta({ id: 'Job', description: 'A job as GET /jobs/{id} shows it' });

export const jobSummarySchema = z.object({
  job_id: z.string(),
  status: z.enum(JOB_STATUSES),
  worker_type: z.string(),
  kind: z.enum(['training', 'inference', 'function', 'generic']),
  label: z.string().nullable().describe('what the job runs: `echo()`, `training · random_forest`, a handler name (null when its payload names none or is over 4 KiB)'),
  priority: z.number().int(),
  attempts: z.number().int().nonnegative(),
  max_attempts: z.number().int().positive(),
  timeout_s: z.number().nullable(),
  progress: z.number().describe('0 to 1'),
  progress_message: z.string().max(200).nullable().describe('cut to 200 characters'),
  progress_metrics: progressMetrics.nullable().describe('the latest progress metrics (at most 32)'),
  error: z.object({
    type: z.enum(JOB_ERROR_TYPES),
    message: z.string().max(200).describe('cut to 200 characters; GET /jobs/{id} has the whole error'),
  }).nullable().describe('the last error, short'),
  worker_id: z.string().nullable(),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
  run_at: isoTime.nullable(),
  timings: jobTimingsSchema,
}).meta({ id: 'JobSummary', description: 'A job as GET /jobs lists it: no payload, result, error history or metrics (GET /jobs/{id} has them); at most ~4 KiB' });

export const jobListSchema = z.object({
  jobs: z.array(jobSummarySchema).describe('newest first'),
  next_cursor: z.string().nullable().describe('pass as cursor= for the next page; null on the last page'),
}).meta({ id: 'JobList' });

export const submitAcceptedSchema = z.object({
  job_id: z.string(),
  status: z.enum(['queued', 'delayed', 'running']).describe("'queued'; after a wait that ran out, the job's status then"),
  worker_type: z.string().describe('the worker type chosen for the job'),
  worker_ensured: z.boolean().describe('whether the spawner was reached to start a worker (the spawner loops start one anyway)'),
  ensure_action: z.string().optional().describe("what the spawner did, e.g. 'started' or 'already-running'"),
  ensure_error: z.string().optional().describe('why the spawner could not be asked'),
  ensure_worker_id: z.string().optional().describe("the worker the spawner started for this job, when ensure_action is 'started'"),
  wait_expired: z.literal(true).optional().describe('the submit asked to wait (?wait=) and the job had not ended when the wait ran out: GET /jobs/{id} or follow GET /jobs/{id}/events'),
}).meta({ id: 'SubmitAccepted' });

export const submitReplaySchema = z.object({
  job_id: z.string(),
  status: z.string().describe("the existing job's status"),
  worker_type: z.string(),
  idempotent_replay: z.literal(true),
  wait_expired: z.literal(true).optional().describe('the replay asked to wait (?wait=) and the job had not ended when the wait ran out'),
}).meta({ id: 'SubmitReplay', description: 'the Idempotency-Key was seen before with the same body: the job it created' });

export const cancelledSchema = z.object({
  job_id: z.string(),
  status: z.literal('cancelled'),
}).meta({ id: 'Cancelled' });

export const cancellingSchema = z.object({
  job_id: z.string(),
  status: z.literal('cancelling'),
  worker_id: z.string().nullable(),
  message: z.string(),
}).meta({ id: 'Cancelling' });
