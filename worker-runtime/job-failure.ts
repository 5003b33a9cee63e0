/** How a job's error is told from what its run threw or why it was aborted. */
import { type JobErrorType, jobErrorKind } from '../core/errors';
import type { JobError } from '../core/schemas/job';
import { JobFailure } from './executor';

/** Why a job's run ended in error: the abort's reason (timeout, cancel), or what was thrown. */
export function toFailure(err: unknown, signal: AbortSignal): { error: JobError; retryable: boolean } {
  if (signal.aborted) {
    const reason = signal.reason as Partial<JobError> | undefined;
    if (reason && typeof reason === 'object' && typeof reason.type === 'string') {
      return { error: { type: reason.type, message: String(reason.message) }, retryable: reason.type !== 'cancelled' };
    }
  }
  // a function's own JobFailure may carry any type: an unlisted one is the handler's exception
  if (err instanceof JobFailure) return { error: { ...err.error, ...jobErrorKind(String(err.error.type)) }, retryable: err.retryable };
  return thrownFailure(err);
}

/**
 * What a function threw, as a job error. Not `instanceof`: `kiln/functions`' JobFailure
 * (worker-runtime/functions/public.mjs) is another module instance than the worker's, and
 * any Error or plain object with `retryable: false` is honoured too (failed for good).
 */
export function thrownFailure(err: unknown): { error: JobError; retryable: boolean } {
  const o = typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : undefined;
  const retryable = o?.retryable !== false;
  const inner = o && typeof o.error === 'object' && o.error !== null ? (o.error as Record<string, unknown>) : undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const stack = err instanceof Error ? err.stack : undefined;
  const type = str(inner?.type) ?? str(o?.name) ?? 'Error';
  const message = str(inner?.message) ?? (o ? String(o.message ?? '') : String(err));
  return { error: { ...jobErrorKind(type), message, ...(stack && { traceback: stack }) }, retryable };
}

/** The failure of a job whose signal aborted: the reason's type and message when it has them. */
export function abortFailure(reason: unknown): JobFailure {
  if (reason instanceof JobFailure) return reason;
  let type: JobErrorType = 'cancelled';
  let exception: string | undefined;
  let message = 'the job was cancelled';
  let retryable: boolean | undefined;
  if (typeof reason === 'string' && reason) message = reason;
  else if (reason && typeof reason === 'object') {
    const r = reason as { type?: unknown; name?: unknown; message?: unknown; retryable?: unknown };
    if (typeof r.type === 'string') ({ type, exception } = jobErrorKind(r.type));
    else if (r.name === 'TimeoutError') type = 'timeout';
    if (typeof r.message === 'string' && r.message && r.name !== 'AbortError') message = r.message;
    if (typeof r.retryable === 'boolean') retryable = r.retryable;
  }
  return new JobFailure({ type, ...(exception !== undefined && { exception }), message }, { retryable: retryable ?? type === 'timeout' });
}
