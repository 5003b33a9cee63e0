/**
 * Every `code` an error answer of the API or the spawner's control API carries, and every
 * KilnError's: one closed list, so a new code is added here (and documented) or does not compile.
 */
export const API_ERROR_CODES = [
  // the request
  'VALIDATION_ERROR', 'BAD_REQUEST', 'EMPTY_BODY', 'INVALID_JSON', 'JSON_TOO_DEEP', 'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE', 'REQUEST_ABORTED', 'INVALID_PATH', 'PATH_OUTSIDE_DATA_ROOT', 'USAGE',
  'INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_KEY_REUSED', 'HYPERPARAMETER_OUT_OF_RANGE',
  'UNKNOWN_WORKER_TYPE', 'UNKNOWN_MODEL_TYPE', 'UNKNOWN_FUNCTION', 'NO_GPU',
  'TIMEOUT_ABOVE_CEILING', 'ATTEMPTS_ABOVE_CEILING',
  // access
  'UNAUTHORIZED', 'HOST_NOT_ALLOWED',
  // what the request names
  'NOT_FOUND', 'JOB_NOT_FOUND', 'WORKER_NOT_FOUND', 'WORKER_LOG_ELSEWHERE', 'JOB_FINISHED', 'JOB_EXISTS',
  'MODEL_NOT_FOUND', 'MODEL_NOT_READY', 'MODEL_INCOMPATIBLE',
  // capacity
  'QUEUE_FULL', 'TOO_MANY_STREAMS', 'TOO_MANY_WAITS', 'AT_CAPACITY', 'NO_GPU_AVAILABLE', 'SPAWNER_STOPPING',
  // the system
  'REDIS_UNAVAILABLE', 'WORKER_WRITE_FAILED', 'UNSAFE_REDIS', 'CORRUPT_JOB', 'SCRIPT_ERROR', 'STREAM_FAILED', 'NOT_AN_EVENT_STREAM',
  'BAD_CONFIG', 'BAD_ANSWER', 'UNREACHABLE', 'UPSTASH_CLIENT_MISCONFIGURED', 'INTERNAL',
  // the CLI: an answer that is not a Kiln error (a proxy's, or a code this version does not know)
  'HTTP_ERROR',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

const API_ERROR_CODE_SET: ReadonlySet<string> = new Set(API_ERROR_CODES);
export const isApiErrorCode = (v: unknown): v is ApiErrorCode => typeof v === 'string' && API_ERROR_CODE_SET.has(v);

/**
 * One error type for everything Kiln reports. `status` tells user errors (4xx)
 * from system errors (5xx); `code` is stable and machine-readable; `message` says
 * what to do next.
 */
export class KilnError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  /** Response headers that go with the answer (e.g. Retry-After of a 429). */
  readonly headers: Record<string, string> | undefined;

  constructor(code: ApiErrorCode, message: string, opts: { status?: number; field?: string; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KilnError';
    this.code = code;
    this.status = opts.status ?? 500;
    this.field = opts.field;
    this.headers = opts.headers;
  }

  toJSON(): { code: ApiErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export const badRequest = (code: ApiErrorCode, message: string, field?: string): KilnError =>
  new KilnError(code, message, field === undefined ? { status: 400 } : { status: 400, field });

export const notFound = (code: ApiErrorCode, message: string): KilnError => new KilnError(code, message, { status: 404 });

export const conflict = (code: ApiErrorCode, message: string): KilnError => new KilnError(code, message, { status: 409 });

/**
 * Every `type` a failed attempt's error (a job's `error` and `errors[]`) carries: one closed list.
 * What a handler raised is `handler_error`, with the exception's class name in `exception`
 * (open: ValueError, InputError, …). worker-runtime/python/kiln_runner writes some of these too;
 * tests/names.test.ts checks that it writes no other.
 */
export const JOB_ERROR_TYPES = [
  'handler_error', // the handler (a Python handler, a Node function) raised or threw; `exception` names it
  'unknown_function', // a function job names no function the workers export
  'payload_too_deep', // the payload nests deeper than any API accepts
  'cancelled', // cancelled through the API (or ctx.check_cancelled() in a handler)
  'timeout', // the job ran longer than its timeout_s
  'expired', // it waited longer than its queued TTL and never started
  'memory_limit', // the worker was killed for using more than its memory limit
  'worker_exit', // the worker process exited while running the job
  'worker_lost', // the worker's lease expired (its host went away); found by recovery
  'lost_claim', // the claim was interrupted (Redis connection lost)
  'runner_crashed', // the Python runner process died while running the job
  'runner_busy', // the Python runner was sent a job while it ran another
  'protocol_error', // the runner wrote something that is not the protocol
  'executor_stopped', // the worker stopped while the job ran
  'executor_start_failed', // the executor (Python runner) could not be started
  'unknown', // a stored error without a listed type (older records; a listing that leaves it out)
] as const;
export type JobErrorType = (typeof JOB_ERROR_TYPES)[number];

const JOB_ERROR_TYPE_SET: ReadonlySet<string> = new Set(JOB_ERROR_TYPES);
export const isJobErrorType = (v: unknown): v is JobErrorType => typeof v === 'string' && JOB_ERROR_TYPE_SET.has(v);

/** A type from outside (a runner's message, a function's JobFailure): listed as is, else a handler's exception. */
export function jobErrorKind(type: string): { type: JobErrorType; exception?: string } {
  return isJobErrorType(type) ? { type } : { type: 'handler_error', exception: type };
}
