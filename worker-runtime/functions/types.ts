import type { ExecContext } from '../executor';

/**
 * A Node function a job can run: `POST /jobs {"function": "<name>", "input": …}`.
 * Return a JSON-serialisable result, or throw. Throw `JobFailure` (from `kiln/functions`) or anything with
 * `retryable: false` for errors a retry cannot fix. Stop promptly when
 * `ctx.signal` aborts (cancel or timeout). A generator function (`async function*`) streams:
 * each yielded value is an `output` event on GET /jobs/:id/events, and the result is its
 * return value, or the list of yielded values when it returns nothing.
 */
export type KilnFunction = (input: unknown, ctx: ExecContext & { jobId: string; attempt: number }) => unknown;

export type FunctionRegistry = Record<string, KilnFunction>;
