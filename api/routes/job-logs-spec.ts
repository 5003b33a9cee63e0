/**
 * GET /jobs/{id}/logs as OpenAPI sees it; served by api/routes/job-logs.ts,
 * registered with `addRoute(app, jobLogsRoute, handler)` in api/routes/jobs.ts.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { LOG_CURSOR } from '../../core/job-logs';
import { isoTime } from '../../core/schemas/job-view';
import { dataRoute, dataRouteErrors, errors, json } from '../openapi/responses';
import { jobIdParams } from './jobs-spec';

export const logLineSchema = z.object({
  ts: isoTime,
  stream: z.enum(['stdout', 'stderr', 'debug', 'info', 'warn', 'error']).describe('the output stream, or the level of a log call'),
  text: z.string(),
}).meta({ id: 'LogLine' });

export const jobLogsSchema = z.object({
  job_id: z.string(),
  lines: z.array(logLineSchema).describe('oldest first'),
  next_cursor: z.string().nullable().describe('pass as cursor= for later lines; null once the job has finished and every kept line was returned'),
}).meta({ id: 'JobLogs' });

const cursor = z.string().regex(LOG_CURSOR, 'cursor is the next_cursor of an earlier answer (a stream id such as 1700000000000-0)');

/** The query GET /jobs/:id/logs validates with (api/routes/job-logs.ts). */
export const jobLogsQuery = z.strictObject({
  cursor: cursor.optional().describe('the next_cursor of a previous answer; absent: from the first kept line'),
  limit: z.coerce.number().int().min(1).max(5000).default(1000).describe('lines at most (default 1000)'),
  follow: z.enum(['true', 'false', '1', '0']).optional().describe('true: stream lines as Server-Sent Events until the job ends'),
});

export const jobLogsRoute = createRoute({
  method: 'get', path: '/{id}/logs', tags: ['jobs'], ...dataRoute, operationId: 'jobLogs',
  summary: 'What the job wrote: console output, print, ctx.log (capped, kept with the job)',
  description:
    'With `follow=true`, a Server-Sent Events stream: a `log` event per line (data `{"ts","stream","text"}`, `id:` the cursor), ' +
    'then an `end` event whose data is the job, when the job ends. A follow on a finished job sends what is kept and ends. ' +
    'After KILN_SSE_MAX_LIFETIME_S (10 min) the stream ends with a `reconnect` event: connect again with the last id as `Last-Event-ID`.',
  request: { params: jobIdParams, query: jobLogsQuery },
  responses: {
    200: {
      description: 'A page of lines; with follow=true, an event stream',
      content: {
        'application/json': { schema: jobLogsSchema },
        'text/event-stream': { schema: z.string() },
      },
    },
    ...errors({
      400: 'VALIDATION_ERROR: a bad or unknown query parameter',
      404: 'JOB_NOT_FOUND',
      429: 'TOO_MANY_STREAMS: with follow=true, this process serves KILN_SSE_MAX_STREAMS event streams already; retry after Retry-After seconds',
      ...dataRouteErrors,
    }),
  },
});
