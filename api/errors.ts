import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { KilnError } from '../core/errors';
import { createLogger, type Logger } from '../core/logger';

/** Where the API logs when its entry gave no logger: the console, in the standard text format. */
export const consoleLogger: Logger = createLogger({
  component: 'api', now: Date.now, write: (line, level) => (level === 'error' || level === 'warn' ? console.error(line) : console.log(line)),
});

/** The one place errors become JSON: `{ "error": { code, message, field? } }`. */
export function onError(err: Error, c: Context, logger: Logger = consoleLogger): Response {
  if (err instanceof KilnError) {
    return c.json({ error: err.toJSON() }, err.status as ContentfulStatusCode);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'HTTP_ERROR';
    return c.json({ error: { code, message: err.message || 'request refused' } }, status);
  }
  if (clientGone(c)) {
    // the client closed the connection before its request was read: nobody to answer, nothing wrong here
    logger.debug(`request aborted by the client: ${err.message}`, { method: c.req.method, path: new URL(c.req.url).pathname });
    return c.json({ error: { code: 'REQUEST_ABORTED', message: 'the client closed the connection before the request was complete; send it again' } }, 400);
  }
  if (isRedisUnavailable(err)) {
    logger.error(`redis unavailable: ${err.message}`, { method: c.req.method, path: new URL(c.req.url).pathname });
    return c.json({ error: { code: 'REDIS_UNAVAILABLE', message: 'the job store (Redis) cannot be reached right now; nothing was changed, retry shortly (GET /health shows its state)' } }, 503);
  }
  logger.error(`unhandled error: ${err.message}`, { method: c.req.method, path: new URL(c.req.url).pathname, stack: err.stack });
  return c.json({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } }, 500);
}

/** Whether the client went away mid-request (Node aborts the request's signal when its connection closes). */
function clientGone(c: Context): boolean {
  try {
    return c.req.raw.signal.aborted;
  } catch {
    return false;
  }
}

/** Errors of a Redis client that could not reach its server (ioredis over TCP, @upstash/redis over HTTP). */
function isRedisUnavailable(err: Error): boolean {
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection is closed|Stream isn't writeable|fetch failed|network connection lost/i.test(err.message)
  );
}

export function notFoundHandler(c: Context): Response {
  return c.json(
    { error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}; see the README for the endpoints` } },
    404,
  );
}

/** A zod failure as a 400 that names the first bad field. */
export function validationError(error: z.ZodError): KilnError {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : undefined;
  let message = issue?.message ?? 'invalid request';
  if (issue?.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
  else if (field) message = `${field}: ${message}`;
  return new KilnError('VALIDATION_ERROR', message, field === undefined ? { status: 400 } : { status: 400, field });
}
