import { z } from 'zod';
import { JOB_ERROR_TYPES, jobErrorKind } from '../errors';
import type { JobStatus } from '../keys';
import { metricsJson } from './progress';
import { KNOWN_MODEL_TYPES } from '../model-types';

const typeName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a worker type name such as "node" or "sklearn"');
const jsonObject = z.record(z.string(), z.unknown());

/** Options every submit accepts. */
const common = {
  priority: z.number().int().min(-1000).max(1000).optional().describe('higher runs first; FIFO within a priority (default 0)'),
  timeout_s: z.number().positive().max(7 * 24 * 3600).optional().describe("seconds one attempt may run (default: the worker type's, else KILN_DEFAULT_TIMEOUT_S)"),
  max_attempts: z.number().int().min(1).max(100).optional().describe('attempts before the job fails (default: KILN_MAX_ATTEMPTS)'),
  worker_type: typeName.optional().describe('run on this worker type instead of the one chosen for you'),
  queued_ttl_s: z.number().positive().max(7 * 24 * 3600).optional()
    .describe("seconds the job may wait for its first start before it ends `expired` (default: the worker type's queued_ttl_s, else KILN_QUEUED_TTL_S)"),
  /** Retry backoff: first delay, doubled each attempt up to max_ms, with jitter. */
  backoff: z.strictObject({
    delay_ms: z.number().int().min(0).max(24 * 3600 * 1000),
    max_ms: z.number().int().min(0).max(7 * 24 * 3600 * 1000).optional(),
  }).optional().describe('retry backoff: first delay, doubled each attempt up to max_ms, with jitter'),
};

const relativeOrAbsPath = z.string().min(1).max(4096);

/** What a job id looks like (ids are UUIDs; never a path): model_path must be one. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

const MODEL_REF_HINT = 'the id of the training job that made the model (the job_id its POST /jobs/training answered)';
const modelRef = z.string({ error: (issue) => (issue.input === undefined ? `required: ${MODEL_REF_HINT}` : `must be a string: ${MODEL_REF_HINT}`) })
  .regex(JOB_ID_PATTERN, `must be ${MODEL_REF_HINT}, not a file path`)
  .describe('the id of a training job that succeeded on a worker type of the same framework: its model is loaded, after its digest is checked');

const modelType = z.string().min(1).max(128).describe(`picks the worker type; known: ${KNOWN_MODEL_TYPES.join(', ')}`);

export const trainingRequestSchema = z.strictObject({
  model_type: modelType,
  data_path: relativeOrAbsPath.describe('training data, relative to the data root (or absolute inside it)'),
  requires_gpu: z.boolean().default(false),
  hyperparameters: jsonObject.optional(),
  ...common,
}).meta({ id: 'TrainingRequest', description: 'POST /jobs/training: train a model on a Python worker type' });

export const inferenceRequestSchema = z.strictObject({
  model_type: modelType,
  model_path: modelRef,
  inputs: z.unknown().optional().describe('inputs to predict on'),
  data_path: relativeOrAbsPath.optional().describe('or a data file to predict on, inside the data root'),
  requires_gpu: z.boolean().default(false),
  hyperparameters: jsonObject.optional(),
  ...common,
}).meta({ id: 'InferenceRequest', description: 'POST /jobs/inference: predict with a trained model' });

export const functionRequestSchema = z.strictObject({
  function: z.string().regex(/^[A-Za-z_][\w.-]{0,127}$/, 'a function name such as "echo"').describe('a Node function registered with the worker runtime'),
  input: z.unknown().optional().describe("the function's input (any JSON)"),
  ...common,
}).meta({ id: 'FunctionRequest', description: 'POST /jobs: run a Node function (worker type node unless worker_type says otherwise)' });

export const typedRequestSchema = z.strictObject({
  ...common,
  worker_type: typeName.describe('the worker type that runs the payload'),
  payload: z.unknown().describe("handed to the worker type's handler as is"),
}).meta({ id: 'TypedRequest', description: 'POST /jobs: hand a payload to a worker type' });

/** POST /jobs takes either; the route picks one by its distinguishing field (`function`, else `payload`/`worker_type`). */
export const genericRequestSchema = z.union([functionRequestSchema, typedRequestSchema]).meta({ id: 'GenericJobRequest' });

export type TrainingRequest = z.infer<typeof trainingRequestSchema>;
export type InferenceRequest = z.infer<typeof inferenceRequestSchema>;
export type FunctionRequest = z.infer<typeof functionRequestSchema>;
export type TypedRequest = z.infer<typeof typedRequestSchema>;

export type JobKind = 'training' | 'inference' | 'function' | 'generic';

export const JOB_STATUSES = ['queued', 'delayed', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const satisfies readonly JobStatus[];
/** `expired`: the job waited longer than its queued TTL (queued_ttl_s) and never started. */
export const FINISHED_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export const jobErrorSchema = z.object({
  type: z.enum(JOB_ERROR_TYPES).describe('why the attempt failed, from one closed list; handler_error: the handler raised `exception`'),
  /** The class name of what the handler raised or threw (handler_error only). */
  exception: z.string().optional(),
  message: z.string(),
  traceback: z.string().optional(),
  retryable: z.boolean().optional(),
  exit_code: z.number().nullable().optional(),
  signal: z.string().nullable().optional(),
  stderr_tail: z.array(z.string()).optional(),
  peak_rss_mb: z.number().optional(),
  attempt: z.number().optional(),
  worker_id: z.string().optional(),
  /** When the attempt failed (ms since the epoch in the record; an ISO-8601 string in the view). */
  at: z.number().optional(),
});
export type JobError = z.infer<typeof jobErrorSchema>;

/**
 * A stored error as the API shows it: its time an ISO-8601 string, as every time in a view, and
 * its type a listed one (an older record's exception name becomes a handler_error's `exception`).
 */
export function jobErrorView(e: unknown): unknown {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return e;
  const { at, ...rest } = e as Record<string, unknown>;
  return {
    ...rest,
    ...(typeof rest.type === 'string' && jobErrorKind(rest.type)),
    ...(typeof at === 'number' && Number.isFinite(at) ? { at: new Date(at).toISOString() } : at !== undefined && { at }),
  };
}

const num = z.coerce.number();
const optNum = z.coerce.number().optional();
const json = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

/** A job hash as read back from Redis. */
export const jobRecordSchema = z.object({
  id: z.string(),
  seq: num,
  type: z.string(),
  kind: z.enum(['training', 'inference', 'function', 'generic']),
  payload: json,
  status: z.enum(JOB_STATUSES),
  priority: num,
  attempts: num,
  max_attempts: num,
  timeout_ms: num,
  progress: num.default(0),
  progress_message: z.string().optional(),
  /** The metrics of the newest progress report that had any (JSON). */
  progress_metrics: metricsJson.optional(),
  result: json.optional(),
  error: json.optional(),
  errors: json.optional(),
  worker_id: z.string().optional(),
  created_at: num,
  started_at: optNum,
  finished_at: optNum,
  run_at: optNum,
  /** When the job last became claimable (a retry, or the end of its backoff); absent: created_at. */
  queued_at: optNum,
  /** Timings of the worker start this job waited for (JSON), and the attempt they belong to. */
  cold_start: json.optional(),
  cold_start_attempt: optNum,
  backoff: z.string().optional(),
  cancel_requested: z.string().optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** Where a cold start went, as the worker measured it (ms). */
export const coldStartSchema = z.object({
  spawn_ms: z.number(),
  runtime_ready_ms: z.number(),
  framework_import_ms: z.number().nullable(),
  total_ms: z.number(),
});
export type ColdStart = z.infer<typeof coldStartSchema>;

export interface JobTimings {
  /** Submit (or the retry / end of backoff that queued it again) → the claim of the attempt shown. */
  queue_wait_ms: number | null;
  /** Claim → finish of the attempt shown; null until it finished. */
  run_ms: number | null;
  /** Set when this attempt waited for a worker that started for it. */
  cold_start: ColdStart | null;
}

/** A job's timings, from the stamps on its record (no clock: null where a phase has not ended). */
export function jobTimings(job: Pick<JobRecord, 'status' | 'attempts' | 'created_at' | 'queued_at' | 'started_at' | 'finished_at' | 'cold_start' | 'cold_start_attempt'>): JobTimings {
  const queuedAt = job.queued_at ?? job.created_at;
  const claimed = job.started_at !== undefined && job.started_at >= queuedAt && job.status !== 'queued' && job.status !== 'delayed';
  const cold = claimed && job.cold_start_attempt === job.attempts ? coldStartSchema.safeParse(job.cold_start) : undefined;
  return {
    queue_wait_ms: claimed ? Math.round(job.started_at! - queuedAt) : null,
    run_ms: claimed && job.finished_at !== undefined ? Math.round(job.finished_at - job.started_at!) : null,
    cold_start: cold?.success ? cold.data : null,
  };
}

/** The public JSON shape of a job. */
export function jobView(job: JobRecord): Record<string, unknown> {
  return {
    job_id: job.id,
    status: job.status,
    worker_type: job.type,
    kind: job.kind,
    payload: job.payload,
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    timeout_s: job.timeout_ms > 0 ? job.timeout_ms / 1000 : null,
    progress: job.progress,
    progress_message: job.progress_message ?? null,
    progress_metrics: job.progress_metrics ?? null,
    result: job.result ?? null,
    error: job.error ? jobErrorView(job.error) : null,
    errors: Array.isArray(job.errors) ? job.errors.map(jobErrorView) : [],
    worker_id: job.worker_id ?? null,
    created_at: iso(job.created_at),
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    run_at: iso(job.run_at),
    timings: jobTimings(job),
  };
}
