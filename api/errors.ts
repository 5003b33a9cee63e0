import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { KilnError } from '../core/errors';
import { redisTrouble, redisUnavailable } from '../core/redis-errors';
import { createLogger, type Logger } from '../core/logger';

/** Where the API logs when its entry gave no logger: the console, in the standard text format. */
export const consoleLogger: Logger = createLogger({
  component: 'api', now: Date.now, write: (line, level) => (level === 'error' || level === 'warn' ? console.error(line) : console.log(line)),
});

/**
 * The one place errors become JSON: `{ "error": { code, message, field? } }`.
 * A 5xx answer never carries internal detail (a URL, a path, a Redis error's
 * text): a KilnError's message is written for the client and its `cause` goes to
 * the log; anything else is logged whole and answered with a generic message.
 */
export function onError(err: Error, c: Context, logger: Logger = consoleLogger): Response {
  if (err instanceof KilnError) {
    if (err.status >= 500) {
      const cause = err.cause instanceof Error ? err.cause.message : err.cause === undefined ? undefined : String(err.cause);
      logger.error(`${err.code}: ${err.message}`, { method: c.req.method, path: new URL(c.req.url).pathname, ...(cause !== undefined && { cause }) });
    }
    return c.json({ error: err.toJSON() }, err.status as ContentfulStatusCode, err.headers);
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
  const trouble = redisTrouble(err);
  if (trouble) {
    logger.warn(`redis ${trouble}: ${err.message}`, { method: c.req.method, path: new URL(c.req.url).pathname });
    return c.json({ error: redisUnavailable(trouble).toJSON() }, 503);
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
