/**
 * One error type for everything Kiln reports. `status` tells user errors (4xx)
 * from system errors (5xx); `code` is stable and machine-readable; `message` says
 * what to do next.
 */
export class KilnError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field: string | undefined;
  /** Response headers that go with the answer (e.g. Retry-After of a 429). */
  readonly headers: Record<string, string> | undefined;

  constructor(code: string, message: string, opts: { status?: number; field?: string; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KilnError';
    this.code = code;
    this.status = opts.status ?? 500;
    this.field = opts.field;
    this.headers = opts.headers;
  }

  toJSON(): { code: string; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export const badRequest = (code: string, message: string, field?: string): KilnError =>
  new KilnError(code, message, field === undefined ? { status: 400 } : { status: 400, field });

export const notFound = (code: string, message: string): KilnError => new KilnError(code, message, { status: 404 });

export const conflict = (code: string, message: string): KilnError => new KilnError(code, message, { status: 409 });
