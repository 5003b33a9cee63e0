/**
 * The one return convention of Kiln's Lua scripts, and its one error mapper.
 *
 * A script returns its value on success (a non-error outcome such as "the worker no longer
 * holds the job" is a value, documented under Returns in its header). A script that refuses
 * raises `redis.error_reply('KILN <CODE> <detail>')` before it writes anything; the typed
 * wrappers (core/lua/contracts.ts, generated) run every script through runKilnScript, which
 * turns such a reply into a KilnError with the code's status. Any other error (Redis down,
 * OOM, a read-only replica) is rethrown as it came.
 */
import { KilnError } from './errors';
import type { LuaScript, RedisArg, RedisPort } from './redis-port';

/** Seconds a client is told to wait (Retry-After) when a queue is full. */
export const QUEUE_FULL_RETRY_AFTER_S = 5;

type Args = Readonly<Record<string, unknown>>;

/** Per code the script raises: the KilnError it becomes, built from the detail and the call's named ARGV. */
const MAP: Record<string, (detail: string, a: Args) => KilnError> = {
  QUEUE_FULL: (limit, a) =>
    new KilnError(
      'QUEUE_FULL',
      `the queue of worker type "${String(a.worker_type)}" is full: it holds its max_queued of ${limit} waiting jobs; nothing was queued — retry after ${QUEUE_FULL_RETRY_AFTER_S} s (Retry-After), once workers have taken some`,
      { status: 429, headers: { 'retry-after': String(QUEUE_FULL_RETRY_AFTER_S) } },
    ),
  TIMEOUT_ABOVE_CEILING: (limit, a) =>
    new KilnError('TIMEOUT_ABOVE_CEILING', `timeout_s ${Number(a.timeout_ms) / 1000} is above the ceiling of worker type "${String(a.worker_type)}" (max_timeout_s ${limit}); ask for at most ${limit} s`, { status: 400, field: 'timeout_s' }),
  ATTEMPTS_ABOVE_CEILING: (limit, a) =>
    new KilnError('ATTEMPTS_ABOVE_CEILING', `max_attempts ${String(a.max_attempts)} is above the ceiling of worker type "${String(a.worker_type)}" (max_attempts_limit ${limit}); ask for at most ${limit}`, { status: 400, field: 'max_attempts' }),
  UNKNOWN_WORKER_TYPE: (_, a) =>
    new KilnError('UNKNOWN_WORKER_TYPE', `worker type "${String(a.worker_type)}" is not configured on any spawner; GET /workers/types lists the known ones`, { status: 400, field: 'worker_type' }),
  IDEMPOTENCY_KEY_REUSED: () =>
    new KilnError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used with a different request body; use a new key for a new job', { status: 422 }),
  JOB_EXISTS: (_, a) => new KilnError('JOB_EXISTS', `a job with id ${String(a.job_id)} already exists`, { status: 409 }),
};

/**
 * `KILN <CODE> [<detail>]` at the start of an error's message: ioredis gives the reply as is,
 * @upstash/redis as "Command failed: <reply>", or "<reply>, command was: […]" (which may hold
 * a script's source, and so the text of its error replies: only the start counts). The
 * detail is one token (a limit).
 */
const REPLY = /^(?:Command failed: )?KILN ([A-Z][A-Z0-9_]*)(?: ([^\s,]+))?/;

/** The KilnError a script's error reply stands for, or the error itself when it is not one. */
export function scriptError(err: unknown, script: string, args: object): unknown {
  const m = err instanceof Error ? REPLY.exec(err.message) : null;
  if (!m) return err;
  const [, code, detail = ''] = m;
  const build = MAP[code!];
  if (build) return build(detail, args as Args);
  return new KilnError('SCRIPT_ERROR', `script ${script} refused with ${code}${detail ? ` ${detail}` : ''}`, { cause: err });
}

/** One script call, its KEYS and ARGV in the order of the script's header. */
export interface ScriptCall {
  script: LuaScript;
  keys: string[];
  argv: RedisArg[];
}

/** Runs a script through the port, mapping its error replies (see above); `named`: the call's named ARGV. */
export function runKilnScript(redis: RedisPort, call: ScriptCall, named: object): Promise<unknown> {
  const mapError = (err: unknown): never => {
    throw scriptError(err, call.script.name, named);
  };
  try {
    return redis.runScript(call.script, call.keys, call.argv).catch(mapError);
  } catch (err) {
    return Promise.reject(scriptError(err, call.script.name, named));
  }
}
