/**
 * GET /jobs/:id/logs — a job's log lines, a page at a time (`cursor`, `limit`), or with
 * `?follow=true` as Server-Sent Events until the job ends. Polls with a Lua read (no
 * blocking command), so it runs in workerd too.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { badRequest, notFound } from '../../core/errors';
import { LOG_CURSOR, lineView, readJobLogs } from '../../core/job-logs';
import type { JobStore } from '../../core/job-store';
import { jobView } from '../../core/schemas/job';
import type { AppDeps } from '../deps';
import { consoleLogger, validationError } from '../errors';
import { runStream, type SseStreams, tooManyStreams } from '../sse-streams';
import { jobLogsQuery as logsQuery } from './job-logs-spec';

/** Lines per read while following (more are read at once when the log is behind). */
const FOLLOW_BATCH = 500;

const missing = (id: string) => notFound('JOB_NOT_FOUND', `no job ${id}: it never existed or expired after its retention time`);

export async function jobLogs(c: Context, deps: AppDeps, store: JobStore, streams: SseStreams): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const q = logsQuery.safeParse(c.req.query());
  if (!q.success) throw validationError(q.error);
  const follow = q.data.follow === 'true' || q.data.follow === '1';
  if (!follow) {
    const page = await readJobLogs(deps.redis, deps.keys, id, { cursor: q.data.cursor, limit: q.data.limit });
    if (!page) throw missing(id);
    return c.json({ job_id: id, lines: page.lines.map(lineView), next_cursor: page.nextCursor });
  }
  const lastEventId = c.req.header('last-event-id');
  if (lastEventId !== undefined && !LOG_CURSOR.test(lastEventId)) {
    throw badRequest('VALIDATION_ERROR', 'Last-Event-ID: not a log cursor (the id of an earlier log event)', 'Last-Event-ID');
  }
  const after = lastEventId ?? q.data.cursor;
  const first = await readJobLogs(deps.redis, deps.keys, id, { cursor: after, limit: 1 });
  if (!first) throw missing(id);
  const release = streams.acquire();
  if (!release) return tooManyStreams(c, deps.config.sseMaxStreams);
  const deadline = deps.now() + deps.config.sseMaxLifetimeMs;
  const logger = deps.logger ?? consoleLogger;
  return streamSSE(c, (stream) =>
    runStream(stream, { release, logger, what: `log stream of job ${id}` }, () => followLog(stream, { deps, store, id, after, deadline })));
}

export const RECONNECT_REASON = 'the stream reached its maximum lifetime (KILN_SSE_MAX_LIFETIME_S); reconnect with Last-Event-ID';

/** Sends log lines as they come until the job ends (then `end`) or the stream's lifetime is up (then `reconnect`). */
async function followLog(stream: SSEStreamingApi, o: { deps: AppDeps; store: JobStore; id: string; after: string | undefined; deadline: number }): Promise<void> {
  const { deps, id } = o;
  const pollMs = Math.max(100, deps.config.ssePollMs);
  let after = o.after;
  let closed = false;
  stream.onAbort(() => {
    closed = true;
  });
  while (!closed) {
    const page = await readJobLogs(deps.redis, deps.keys, id, { cursor: after, limit: FOLLOW_BATCH });
    if (!page) break; // expired while followed
    for (const line of page.lines) {
      if (closed) return;
      await stream.writeSSE({ id: line.id, event: 'log', data: JSON.stringify(lineView(line)) });
      after = line.id;
    }
    if (page.nextCursor === null) break; // ended, and every kept line was sent
    if (deps.now() >= o.deadline) {
      await stream.writeSSE({ ...(after !== undefined && { id: after }), event: 'reconnect', data: JSON.stringify({ job_id: id, reason: RECONNECT_REASON }) });
      return;
    }
    if (!page.more) await stream.sleep(pollMs);
  }
  if (closed) return;
  const job = await o.store.get(id);
  await stream.writeSSE({ event: 'end', data: JSON.stringify(job ? jobView(job) : { job_id: id, status: 'gone' }) });
}

/**
 * Reads a job's log from its first kept line (or after the cursor `from`) on, a batch per call, for a stream that
 * carries more than logs (GET /jobs/:id/events). `next()` hands each new line to `emit`
 * and returns once it has caught up.
 */
export function logTail(deps: AppDeps, id: string, emit: (line: ReturnType<typeof lineView>) => Promise<void>, from?: string) {
  let after: string | undefined = from;
  return {
    async next(isClosed: () => boolean): Promise<void> {
      for (;;) {
        const page = await readJobLogs(deps.redis, deps.keys, id, { cursor: after, limit: FOLLOW_BATCH });
        if (!page) return;
        for (const line of page.lines) {
          if (isClosed()) return;
          await emit(lineView(line));
          after = line.id;
        }
        if (!page.more) return;
      }
    },
  };
}
