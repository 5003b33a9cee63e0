// `import { JobFailure } from 'kiln/functions'`: what a KILN_FUNCTIONS_MODULE may import.
// Plain JavaScript, so it needs no build: package.json `exports` maps "kiln/functions"
// here, for a functions module inside this project (package self-reference) and for
// one in a project that has Kiln installed as a dependency.
//
// The worker does not test `instanceof`: this file and the worker bundle are separate
// module instances. It reads `retryable` (and `error`) from whatever a function throws,
// so any Error subclass or plain object with `retryable: false` is not retried either.

/** A job failed: `retryable: false` fails it for good (no further attempt). */
export class JobFailure extends Error {
  /**
   * @param {string | { type?: string, message: string }} error the message, or `{ type, message }`
   * @param {{ retryable?: boolean }} [opts] `retryable` defaults to true
   */
  constructor(error, opts = {}) {
    const e = typeof error === 'string' ? { message: error } : error ?? { message: 'job failed' };
    super(String(e.message));
    this.name = 'JobFailure';
    this.error = { type: typeof e.type === 'string' && e.type ? e.type : 'JobFailure', message: String(e.message) };
    this.retryable = opts.retryable ?? true;
  }
}
