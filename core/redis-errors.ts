/**
 * Redis trouble, recognised in one place: a Redis that cannot be reached, one that
 * does not answer in time, one that refuses commands (loading, read-only, no auth)
 * and one at maxmemory that refuses writes (OOM). Each becomes the one answer
 * `503 REDIS_UNAVAILABLE`, whose message says what happened and what to do; the
 * client's raw error text goes to the log, never to a client.
 */
import { KilnError } from './errors';

export type RedisTrouble = 'unreachable' | 'timeout' | 'out_of_memory' | 'refused';

const OOM = /\bOOM command not allowed\b/;
const TIMEOUT = /Command timed out|operation was aborted due to timeout|request timed out/i;
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|Ready check failed|fetch failed|network connection lost|could not get an answer from Redis/i;
const REFUSED = /^(?:[\w ]*: )?(?:LOADING|BUSY|MISCONF|READONLY|NOAUTH|WRONGPASS|MASTERDOWN|CLUSTERDOWN)\b/;

/** The kind of Redis trouble behind an error, or undefined for any other error. */
export function redisTrouble(err: unknown): RedisTrouble | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): RedisTrouble | undefined => {
    if (!(e instanceof Error) || seen.has(e)) return undefined;
    seen.add(e);
    // ioredis' EXECABORT carries the per-command errors (OOM among them) in previousErrors
    const nested = (e as { previousErrors?: unknown }).previousErrors;
    if (OOM.test(e.message)) return 'out_of_memory';
    if (Array.isArray(nested)) {
      for (const n of nested) {
        const t = visit(n);
        if (t) return t;
      }
    }
    if (e.name === 'TimeoutError' || TIMEOUT.test(e.message)) return 'timeout';
    if (e.name === 'MaxRetriesPerRequestError' || UNREACHABLE.test(e.message)) return 'unreachable';
    if (REFUSED.test(e.message)) return 'refused';
    return visit(e.cause);
  };
  return visit(err);
}

const MESSAGES: Record<RedisTrouble, string> = {
  unreachable:
    "Kiln's job store (Redis) cannot be reached; nothing was done. Retry in a few seconds; if it lasts, check that Redis is running and reachable (GET /health shows its state).",
  timeout:
    "Kiln's job store (Redis) did not answer in time. Retry shortly (a submit with the same Idempotency-Key is safe to repeat); if it lasts, check Redis (GET /health shows its state).",
  out_of_memory:
    "Kiln's job store (Redis) is out of memory (maxmemory reached) and refuses writes; nothing was done. Raise Redis' maxmemory or free memory (shorter KILN_RETENTION_SUCCEEDED_S / KILN_RETENTION_FAILED_S), then retry.",
  refused:
    "Kiln's job store (Redis) refuses commands right now (loading, read-only, busy or not authorised); nothing was done. Check the Redis log and REDIS_URL, then retry.",
};

/** The 503 a client gets for Redis trouble. */
export function redisUnavailable(trouble: RedisTrouble): KilnError {
  return new KilnError('REDIS_UNAVAILABLE', MESSAGES[trouble], { status: 503 });
}

/** The `redis` field of the health answers: "ok" or "error: <what, in words>" (no raw client text). */
export function describeTrouble(trouble: RedisTrouble | undefined, timeoutMs: number): string {
  switch (trouble) {
    case undefined:
      return 'ok';
    case 'out_of_memory':
      return 'error: out of memory (maxmemory reached; writes are refused)';
    case 'timeout':
      return `error: no answer within ${timeoutMs} ms`;
    case 'refused':
      return 'error: refuses commands (loading, read-only, busy or not authorised)';
    case 'unreachable':
      return 'error: cannot connect';
  }
}
