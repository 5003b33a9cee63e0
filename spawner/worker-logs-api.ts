/**
 * GET /workers/:id/logs — a worker's own output from its log file on this host
 * (token required, like every data route). `?tail=N` (default 200, max 5000) gives
 * the last lines; `?cursor=` the lines after an earlier answer's `next_cursor`;
 * `?follow=true` streams lines as Server-Sent Events (`event: log`, `id:` = cursor)
 * until the worker has exited and its file is drained, then `event: end`.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { badRequest, notFound } from '../core/errors';
import type { Keys } from '../core/keys';
import { workerView } from '../core/schemas/worker';
import { parseWorkers } from '../core/worker-store';
import { tokenMatches, unauthorized } from './token';
import { logExists, parseCursor, readAfter, readTail, type ReadResult } from './worker-log-reader';
import { isSafeWorkerId, type WorkerLogs } from './worker-logs';

export interface WorkerLogsApiDeps {
  token: string;
  hostId: string;
  redis: Redis;
  keys: Keys;
  workerLogs: WorkerLogs;
  /** Whether this spawner still runs the worker (its file may still grow). */
  isLive(id: string): boolean;
  /** How often a follow looks at the file (default 200 ms). */
  followPollMs?: number;
}

const querySchema = z.object({
  tail: z.coerce.number({ message: 'tail must be a number' }).int('tail must be a whole number').min(0, 'tail must be 0 or more').max(5000, 'tail must be at most 5000').default(200),
  cursor: z.string().refine((c) => parseCursor(c) !== undefined, 'cursor must be a next_cursor from an earlier answer').optional(),
  follow: z.enum(['true', 'false', '1', '0']).default('false'),
});

/** Lines per read while catching up, so a follow never holds a huge batch. */
const BATCH = 1000;

export function createWorkerLogsApi(deps: WorkerLogsApiDeps): Hono {
  const app = new Hono();
  const pollMs = deps.followPollMs ?? 200;

  app.use('/workers/:id/logs', async (c, next) => {
    if (!tokenMatches(deps.token, c.req.header('authorization'))) return unauthorized(c);
    return next();
  });

  async function record(id: string) {
    return parseWorkers([await deps.redis.hgetall(deps.keys.worker(id))])[0];
  }

  app.get('/workers/:id/logs', async (c) => {
    const id = c.req.param('id');
    const parsed = querySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest('VALIDATION_ERROR', issue.message, String(issue.path[0] ?? 'query'));
    }
    const q = parsed.data;
    if (!isSafeWorkerId(id)) throw badRequest('VALIDATION_ERROR', `"${id}" is not a worker id`, 'id');
    const path = deps.workerLogs.pathOf(id);
    const live = () => deps.isLive(id) || deps.workerLogs.isWriting(id);
    if (!live() && !(await logExists(path))) {
      const w = await record(id);
      if (!w) throw notFound('WORKER_NOT_FOUND', `no worker ${id}: no log file on this host and no record (records and log files are kept for an hour after a worker exits)`);
      if (w.host !== deps.hostId) throw notFound('WORKER_LOG_ELSEWHERE', `worker ${id} runs on host ${w.host}; ask that host's spawner for its log`);
    }
    const lastEventId = c.req.header('last-event-id');
    const from = q.cursor ?? (lastEventId && parseCursor(lastEventId) ? lastEventId : undefined);
    const first = (): Promise<ReadResult> => (from ? readAfter(path, from, Math.max(1, q.tail)) : readTail(path, q.tail));
    const follow = q.follow === 'true' || q.follow === '1';

    if (!follow) {
      const wasLive = live();
      const r = await first();
      return c.json({ worker_id: id, lines: r.lines, next_cursor: wasLive || (await readAfter(path, r.cursor, 1)).lines.length > 0 ? r.cursor : null });
    }

    return streamSSE(c, async (stream) => {
      let closed = false;
      let wake: (() => void) | undefined;
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      deps.workerLogs.following.add(stream);
      try {
        let r = await first();
        for (;;) {
          for (const [i, line] of r.lines.entries()) {
            if (closed) return;
            await stream.writeSSE({ event: 'log', id: r.cursors[i] ?? r.cursor, data: JSON.stringify(line) });
          }
          if (closed) return;
          if (r.lines.length >= BATCH) {
            r = await readAfter(path, r.cursor, BATCH);
            continue;
          }
          // Sampled before the read: once nothing writes the file any more, a read that finds nothing is the end.
          const wasLive = live();
          if (!wasLive) {
            const rest = await readAfter(path, r.cursor, BATCH);
            if (rest.lines.length === 0) break;
            r = rest;
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, pollMs).unref();
          });
          wake = undefined;
          if (closed) return;
          r = await readAfter(path, r.cursor, BATCH);
        }
        const w = await record(id).catch(() => undefined);
        await stream.writeSSE({ event: 'end', data: JSON.stringify(w ? workerView(w) : { worker_id: id, status: 'exited' }) });
      } finally {
        deps.workerLogs.following.delete(stream);
      }
    });
  });

  return app;
}
