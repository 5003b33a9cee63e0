import type { z } from 'zod';
import { badRequest, conflict, KilnError, notFound } from '../../core/errors';
import { jsonTextDepth, MAX_JSON_DEPTH, tooDeepMessage } from '../../core/json-depth';
import {
  functionRequestSchema, genericRequestSchema, inferenceRequestSchema, jobView, trainingRequestSchema, typedRequestSchema,
} from '../../core/schemas/job';
import { jobSummaryView } from '../../core/schemas/job-summary';
import type { ApiDeps } from '../deps';
import { answerAfterWait, fullJobView, parseWait, tooManyWaits } from '../job-wait';
import { createSseStreams } from '../sse-streams';
import { validationError } from '../errors';
import { addRoute, createRouter, type Router } from '../openapi/router';
import { jobEvents } from './job-events';
import { jobLogs } from './job-logs';
import { jobLogsRoute } from './job-logs-spec';
import {
  cancelJobRoute, deleteJobRoute, getJobRoute, jobEventsRoute, listJobsQuery, listJobsRoute, submitInferenceRoute, submitJobRoute, submitTrainingRoute,
} from './jobs-spec';
import { genericSubmission, submitJob, trainingSubmission, type Submission } from '../submit';

/** Submits take JSON only: a browser page cannot send `application/json` cross-origin without a CORS preflight. */
function requireJsonContentType(req: Request): void {
  const type = req.headers.get('content-type');
  if (type === 'application/json') return; // what clients send, without the copies below
  const media = (type ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json') {
    throw new KilnError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${type ? `Content-Type ${JSON.stringify(type.slice(0, 100))} is not accepted` : 'the request has no Content-Type'}; send the body as JSON with the header Content-Type: application/json`,
      { status: 415, field: 'Content-Type' },
    );
  }
}

/** Only whitespace (what String#trim removes), without copying the text. */
const BLANK = /^\s*$/;

async function readJson(req: Request): Promise<unknown> {
  requireJsonContentType(req);
  const text = await req.text();
  if (BLANK.test(text)) throw badRequest('EMPTY_BODY', 'the request body is empty; send a JSON object');
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) throw badRequest('JSON_TOO_DEEP', tooDeepMessage('the request body'));
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest('INVALID_JSON', `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('VALIDATION_ERROR', 'the request body must be a JSON object');
  }
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error);
  return r.data;
}

export function jobRoutes(deps: ApiDeps): Router {
  const app = createRouter();
  const { store } = deps;

  // submits waiting for their jobs (?wait=) this app holds at once
  const waits = createSseStreams(deps.config.maxWaits);
  const submit = (toSubmission: (body: unknown) => Submission) => async (c: import('hono').Context) => {
    const waitMs = parseWait(c.req.query('wait'));
    const raw = await readJson(c.req.raw);
    const sub = toSubmission(raw);
    const release = waitMs > 0 ? waits.acquire() : undefined;
    if (release === null) throw tooManyWaits(deps.config.maxWaits);
    try {
      const out = await enqueue(c, sub, raw);
      return release ? await answerAfterWait(c, deps, out, waitMs) : c.json(out.body, out.status as 200 | 202);
    } finally {
      release?.();
    }
  };
  const enqueue = (c: import('hono').Context, sub: Submission, raw: unknown) =>
    submitJob(deps, sub, raw, c.req.header('idempotency-key')).catch(async (err: unknown) => {
      if (err instanceof KilnError && err.code === 'UNKNOWN_WORKER_TYPE') {
        const types = Object.keys(await deps.redis.hgetall(deps.keys.types())).sort();
        throw new KilnError('UNKNOWN_WORKER_TYPE', `unknown worker_type "${sub.type}"; the spawners know: ${types.join(', ')}`, { status: 400, field: 'worker_type' });
      }
      throw err;
    });

  addRoute(app, submitTrainingRoute, submit((raw) => trainingSubmission(parse(trainingRequestSchema, raw), 'training', deps.config.dataRoot)));
  addRoute(app, submitInferenceRoute, submit((raw) => trainingSubmission(parse(inferenceRequestSchema, raw), 'inference', deps.config.dataRoot)));
  addRoute(app, submitJobRoute, submit((raw) => {
    // pick the schema by its distinguishing field, so the error names the right problem
    const obj = typeof raw === 'object' && raw !== null ? raw : {};
    if ('function' in obj) return genericSubmission(parse(functionRequestSchema, raw));
    if ('payload' in obj || 'worker_type' in obj) return genericSubmission(parse(typedRequestSchema, raw));
    return genericSubmission(parse(genericRequestSchema, raw));
  }));

  addRoute(app, listJobsRoute, async (c) => {
    const q = listJobsQuery.safeParse(c.req.query());
    if (!q.success) throw validationError(q.error);
    const page = await store.list({ limit: q.data.limit, ...(q.data.status && { status: q.data.status }), ...(q.data.worker_type && { type: q.data.worker_type }), ...(q.data.cursor && { cursor: q.data.cursor }) });
    return c.json({ jobs: page.jobs.map(jobSummaryView), next_cursor: page.nextCursor });
  });

  const cancel = async (c: import('hono').Context) => {
    const id = c.req.param('id') ?? '';
    const job = await store.get(id);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${id}: it never existed or expired after its retention time`);
    const r = await store.cancel(job, 'cancelled by request', deps.now());
    if (r.outcome === 'missing') throw notFound('JOB_NOT_FOUND', `no job ${id}: it expired`);
    if (r.outcome === 'finished') throw conflict('JOB_FINISHED', `job ${id} already ${r.detail}; only queued or running jobs can be cancelled`);
    if (r.outcome === 'cancelled') return c.json({ job_id: id, status: 'cancelled' });
    return c.json({ job_id: id, status: 'cancelling', worker_id: r.detail || null, message: 'the worker was asked to stop the job; GET the job to see it cancelled' }, 202);
  };
  addRoute(app, cancelJobRoute, cancel);
  addRoute(app, deleteJobRoute, cancel);
  // one cap for every event stream this app (one per process or isolate) serves
  const streams = createSseStreams(deps.config.sseMaxStreams);
  addRoute(app, jobEventsRoute, (c) => jobEvents(c, deps, store, streams));
  addRoute(app, jobLogsRoute, (c) => jobLogs(c, deps, store, streams));

  addRoute(app, getJobRoute, async (c) => {
    const id = c.req.param('id');
    const job = await store.get(id);
    if (!job) throw notFound('JOB_NOT_FOUND', `no job ${id}: it never existed or expired after its retention time`);
    return c.json(await fullJobView(deps, job));
  });

  return app;
}
