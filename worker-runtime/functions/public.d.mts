/** Types of `kiln/functions` (worker-runtime/functions/public.mjs). */
export interface JobFailureError {
  type: string;
  message: string;
}

/** A job failed: `retryable: false` fails it for good (no further attempt). */
export declare class JobFailure extends Error {
  readonly error: JobFailureError;
  readonly retryable: boolean;
  constructor(error: string | { type?: string; message: string }, opts?: { retryable?: boolean });
}

/** What a function gets besides its input. */
export interface FunctionContext {
  readonly signal: AbortSignal;
  readonly jobId: string;
  readonly attempt: number;
  progress(value: number, message?: string, metrics?: Record<string, number>): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/**
 * A Node function a job can run: `POST /jobs {"function": "<name>", "input": …}`. A generator
 * function (`async function*`) streams: each yielded value is an `output` event on
 * GET /jobs/:id/events; the result is its return value, else the list of yielded values.
 */
export type KilnFunction = (input: unknown, ctx: FunctionContext) => unknown;
