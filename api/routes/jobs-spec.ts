/**
 * The /jobs routes as OpenAPI sees them: one `createRoute` per route, served by
 * api/routes/jobs.ts with `addRoute(app, <route>, handler)`. Paths are relative
 * to the /jobs mount.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { genericRequestSchema, inferenceRequestSchema, JOB_STATUSES, trainingRequestSchema } from '../../core/schemas/job';
import {
  cancelledSchema, cancellingSchema, jobListSchema, jobViewSchema, submitAcceptedSchema, submitReplaySchema,
} from '../../core/schemas/job-view';
import { dataRoute, dataRouteErrors, errors, json, withRetryAfter } from '../openapi/responses';
import { MAX_WAIT_S } from '../job-wait';
import { IDEMPOTENCY_KEY_PATTERN } from '../submit';

const tags = ['jobs'];

export const jobIdParams = z.object({ id: z.string().describe('the job id a submit answered') });

/** GET /jobs's query; unknown parameters are refused. */
export const listJobsQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional().describe('only jobs in this state'),
  worker_type: z.string().min(1).max(64).optional().describe('only jobs of this worker type'),
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('page size'),
  cursor: z.string().regex(/^\d+$/, 'cursor is the next_cursor of a previous page').optional().describe('the next_cursor of the previous page'),
});

const submitHeaders = z.object({
  'idempotency-key': z.string().regex(IDEMPOTENCY_KEY_PATTERN).optional()
    .describe('1-255 printable ASCII characters: the same key and body within 24 h answer the first job (200) instead of a new one'),
});

/** A submit's query: `wait` (other parameters are ignored, as before). */
export const submitQuery = z.object({
  wait: z.number().min(0).max(MAX_WAIT_S).optional().describe(
    `seconds (0 to ${MAX_WAIT_S}, fractions allowed, e.g. 0.5) to hold the answer until the job ends: 200 with the job (GET /jobs/{id}'s body) ` +
    'when it succeeds, fails, is cancelled or expires within them, else 202 as without wait (its `status` then, and `wait_expired: true`). ' +
    'The synchronous mode of RunPod\'s /runsync. A replayed Idempotency-Key waits for the same job.',
  ),
});

const submitErrors = (bad: string) => {
  const answers = errors({
    400: `${bad}; VALIDATION_ERROR with field wait: wait is not a number from 0 to ${MAX_WAIT_S}; INVALID_JSON, JSON_TOO_DEEP (nesting deeper than 64), EMPTY_BODY, UNKNOWN_WORKER_TYPE (lists the known ones), INVALID_IDEMPOTENCY_KEY, ` +
      "TIMEOUT_ABOVE_CEILING / ATTEMPTS_ABOVE_CEILING (timeout_s or max_attempts above the worker type's max_timeout_s / max_attempts_limit)",
    409: 'NO_GPU: requires_gpu is true and no running spawner has a GPU',
    413: 'PAYLOAD_TOO_LARGE: the body is over KILN_MAX_BODY_BYTES (1 MiB by default)',
    415: 'UNSUPPORTED_MEDIA_TYPE: the request has no `Content-Type: application/json`',
    422: 'IDEMPOTENCY_KEY_REUSED: the Idempotency-Key came before with another body',
    429: "QUEUE_FULL: the worker type's queue holds max_queued jobs (KILN_MAX_QUEUED, 10000 by default); nothing was queued, retry after Retry-After seconds. " +
      'TOO_MANY_WAITS: with wait, this process holds KILN_MAX_WAITS (500) waiting submits already; nothing was queued, retry after Retry-After seconds',
    ...dataRouteErrors,
  });
  return { ...answers, 429: withRetryAfter(answers[429]) };
};

const submitResponses = (bad: string) => ({
  202: json(submitAcceptedSchema, 'Queued; a worker is started for it if none runs. With wait: the job had not ended when the wait ran out', {
    job_id: '3f0c9a4e-5b7d-4c1e-9a0b-2d6f8e1c7a55', status: 'queued', worker_type: 'sklearn', worker_ensured: true, ensure_action: 'started',
  }),
  200: json(z.union([jobViewSchema, submitReplaySchema]), 'With wait: the job ended within it, and this is the job (as GET /jobs/{id} answers it). ' +
    'An Idempotency-Key replay: the job the same request created before (the ended job itself with wait, once it has ended)'),
  ...submitErrors(bad),
});

type Examples = Record<string, { summary: string; value: unknown }>;
const body = (schema: z.ZodType, examples: Examples) => ({ required: true, content: { 'application/json': { schema, examples } } });

export const submitTrainingRoute = createRoute({
  method: 'post', path: '/training', tags, ...dataRoute, operationId: 'submitTraining',
  summary: 'Submit a training job',
  description: 'The worker type comes from `model_type` (and `requires_gpu`) unless `worker_type` names one.',
  request: {
    headers: submitHeaders,
    query: submitQuery,
    body: body(trainingRequestSchema, {
      sklearn: { summary: 'a random forest on a CSV', value: { model_type: 'random_forest', data_path: 'iris.csv', hyperparameters: { n_estimators: 100 } } },
      gpu: { summary: 'fine-tune BERT on a GPU', value: { model_type: 'bert', data_path: 'reviews.csv', requires_gpu: true, hyperparameters: { epochs: 3 }, timeout_s: 7200 } },
    }),
  },
  responses: submitResponses('VALIDATION_ERROR (field names it), UNKNOWN_MODEL_TYPE (lists the known ones), PATH_OUTSIDE_DATA_ROOT, INVALID_PATH, HYPERPARAMETER_OUT_OF_RANGE (names it and its bounds)'),
});

export const submitInferenceRoute = createRoute({
  method: 'post', path: '/inference', tags, ...dataRoute, operationId: 'submitInference',
  summary: 'Submit an inference job',
  description: '`model_path` is the id of the training job that made the model (never a path). It must have succeeded on a worker type of the same framework; the runner checks the model\'s keyed digest before it loads it.',
  request: {
    headers: submitHeaders,
    query: submitQuery,
    body: body(inferenceRequestSchema, {
      inputs: { summary: 'predict with the model a training job wrote', value: { model_type: 'random_forest', model_path: '3f0c9a4e-5b7d-4c1e-9a0b-2d6f8e1c7a55', inputs: [[5.1, 3.5, 1.4, 0.2]] } },
    }),
  },
  responses: {
    ...submitResponses('VALIDATION_ERROR (field names it; a model_path that is not a job id, such as a path), UNKNOWN_MODEL_TYPE (lists the known ones), PATH_OUTSIDE_DATA_ROOT, INVALID_PATH, MODEL_INCOMPATIBLE (the training job ran on another framework, or made another model_type), HYPERPARAMETER_OUT_OF_RANGE (names it and its bounds)'),
    ...errors({
      404: 'MODEL_NOT_FOUND: model_path names no job (never existed, or expired), or a job that is not a training job',
      409: 'MODEL_NOT_READY: the training job model_path names has not succeeded (still queued or running, or failed or cancelled); NO_GPU: requires_gpu is true and no running spawner has a GPU',
    }),
  },
});

export const submitJobRoute = createRoute({
  method: 'post', path: '/', tags, ...dataRoute, operationId: 'submitJob',
  summary: 'Submit a function or a payload for a worker type',
  description: 'A body with `function` is a FunctionRequest; one with `payload` or `worker_type` (and no `function`) a TypedRequest.',
  request: {
    headers: submitHeaders,
    query: submitQuery,
    body: body(genericRequestSchema, {
      function: { summary: 'run the built-in echo function', value: { function: 'echo', input: { hello: 'world' } } },
      typed: { summary: 'a payload for a worker type', value: { worker_type: 'sklearn', payload: { handler: 'score', rows: 10 }, priority: 5 } },
    }),
  },
  responses: submitResponses('VALIDATION_ERROR (field names it), UNKNOWN_FUNCTION (a name such as constructor or __proto__)'),
});

export const listJobsRoute = createRoute({
  method: 'get', path: '/', tags, ...dataRoute, operationId: 'listJobs',
  summary: 'List jobs, newest first, as summaries',
  description: 'Each job as a JobSummary: no payload, result, error history or metrics, strings cut short, so a page of 500 stays under ~2 MB. GET /jobs/{id} has the whole job.',
  request: { query: listJobsQuery },
  responses: {
    200: json(jobListSchema, 'A page of job summaries'),
    ...errors({ 400: 'VALIDATION_ERROR: a bad or unknown query parameter', ...dataRouteErrors }),
  },
});

const cancelResponses = {
  200: json(cancelledSchema, 'The job was queued or delayed: it is cancelled'),
  202: json(cancellingSchema, 'The job is running: its worker was asked to stop it; GET the job to see it cancelled'),
  ...errors({
    404: 'JOB_NOT_FOUND: it never existed or expired after its retention time',
    409: 'JOB_FINISHED: the job already succeeded, failed, was cancelled or expired',
    ...dataRouteErrors,
  }),
};

export const cancelJobRoute = createRoute({
  method: 'post', path: '/{id}/cancel', tags, ...dataRoute, operationId: 'cancelJob',
  summary: 'Cancel a job',
  request: { params: jobIdParams },
  responses: cancelResponses,
});

export const deleteJobRoute = createRoute({
  method: 'delete', path: '/{id}', tags, ...dataRoute, operationId: 'deleteJob',
  summary: 'Cancel a job (the same as POST /jobs/{id}/cancel)',
  request: { params: jobIdParams },
  responses: cancelResponses,
});

export const jobEventsRoute = createRoute({
  method: 'get', path: '/{id}/events', tags, ...dataRoute, operationId: 'jobEvents',
  summary: "Follow a job's transitions as Server-Sent Events",
  description:
    '`status` events (`{"job_id","status","ts",…}`), `progress` events (`{"job_id","status":"running","progress","message","ts",…}`) ' +
    '(`ts` and `run_at` ISO-8601 times as in the job view, `progress` and `retry` numbers) ' +
    'and `log` events (`{"job_id","ts","stream","text"}`); events read from the events stream carry their id as `id:`. ' +
    '`output` events (`{"job_id","output","seq","attempt","ts"}`) carry what a generator handler yields (tokens, chunks), in order (`seq` from 0 per attempt; ' +
    'a retried attempt streams again), before the job\'s end; they are live only: a finished job\'s stream does not replay them (its result has them). ' +
    "A finished job is answered from its record (its transitions, its log, `end`) at once. A live job replays its events since its creation when they are " +
    "among the stream's newest 1,000 entries, else it starts with its current state from its record. The stream ends with an `end` event whose data is the job, " +
    'or, after KILN_SSE_MAX_LIFETIME_S (10 min), with a `reconnect` event: connect again with its id as `Last-Event-ID` to go on where it stopped.',
  request: { params: jobIdParams },
  responses: {
    200: { description: 'An event stream, until the job ends or the stream reaches its lifetime', content: { 'text/event-stream': { schema: z.string() } } },
    ...errors({
      400: 'VALIDATION_ERROR: Last-Event-ID is not the id of an earlier event',
      404: 'JOB_NOT_FOUND',
      429: 'TOO_MANY_STREAMS: this process serves KILN_SSE_MAX_STREAMS event streams already; retry after Retry-After seconds',
      ...dataRouteErrors,
    }),
  },
});

export const getJobRoute = createRoute({
  method: 'get', path: '/{id}', tags, ...dataRoute, operationId: 'getJob',
  summary: 'A job: status, progress, result or error, attempts, timings',
  request: { params: jobIdParams },
  responses: {
    200: json(jobViewSchema, 'The job'),
    ...errors({ 404: 'JOB_NOT_FOUND: it never existed or expired after its retention time', ...dataRouteErrors }),
  },
});
