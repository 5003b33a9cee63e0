/** Building blocks of the routes' OpenAPI descriptions: JSON answers, the error shape, the bearer token. */
import type { ZodType } from 'zod';
import { z } from 'zod';

/** The one error shape of the API (api/errors.ts writes it). */
export const errorSchema = z.object({
  error: z.object({
    code: z.string().describe('stable and machine-readable, e.g. VALIDATION_ERROR'),
    message: z.string().describe('what went wrong and what to do next'),
    field: z.string().optional().describe('the request field at fault, when there is one'),
  }),
}).meta({ id: 'Error', description: 'Every 4xx and 5xx answer of the API' });

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

/** An example answer per error code; a route's description names the codes, the first one gives the example. */
const EXAMPLES: Record<string, { message: string; field?: string }> = {
  VALIDATION_ERROR: { message: 'model_type: Invalid input: expected string, received undefined', field: 'model_type' },
  UNAUTHORIZED: { message: 'missing or wrong bearer token: send Authorization: Bearer <KILN_API_TOKEN>' },
  JOB_NOT_FOUND: { message: 'no job 3f0c9a4e-…: it never existed or expired after its retention time' },
  WORKER_NOT_FOUND: { message: "no worker node-1a2b3c4d; a worker's record is kept for an hour after it exits" },
  JOB_FINISHED: { message: 'job 3f0c9a4e-… already succeeded; only queued or running jobs can be cancelled' },
  NO_GPU: { message: 'requires_gpu is true but no running spawner has a GPU (none registered in the last 60 s); …', field: 'requires_gpu' },
  PAYLOAD_TOO_LARGE: { message: 'request body is larger than 1048576 bytes; put large inputs in a file under the data root and pass its path' },
  IDEMPOTENCY_KEY_REUSED: { message: 'this Idempotency-Key was already used with a different request body; use a new key for a new job' },
  JSON_TOO_DEEP: { message: 'the request body nests arrays/objects more than 64 levels deep; flatten it (or put large structures in a file under the data root and pass its path)' },
  UNSUPPORTED_MEDIA_TYPE: { message: 'Content-Type "text/plain" is not accepted; send the body as JSON with the header Content-Type: application/json', field: 'Content-Type' },
  HOST_NOT_ALLOWED: { message: 'Host "example.com" is not a loopback name; …set KILN_API_TOKEN to serve other host names' },
  TOO_MANY_STREAMS: { message: 'this API process already serves 100 event streams (KILN_SSE_MAX_STREAMS); retry after the Retry-After seconds' },
  REDIS_UNAVAILABLE: { message: 'the job store (Redis) cannot be reached right now; nothing was changed, retry shortly (GET /health shows its state)' },
};

function example(description: string): { error: { code: string; message: string; field?: string } } | undefined {
  const code = /[A-Z][A-Z_]{3,}/.exec(description)?.[0];
  const ex = code === undefined ? undefined : EXAMPLES[code];
  return code && ex ? { error: { code, ...ex } } : undefined;
}

export interface JsonResponse {
  description: string;
  content: { 'application/json': { schema: ZodType; example?: unknown } };
}

export function json(schema: ZodType, description: string, example?: unknown): JsonResponse {
  return { description, content: { 'application/json': example === undefined ? { schema } : { schema, example } } };
}

/** Error answers, each described by the codes it carries on this route. */
export function errors(described: Partial<Record<ErrorStatus, string>>): Partial<Record<ErrorStatus, JsonResponse>> {
  const out: Partial<Record<ErrorStatus, JsonResponse>> = {};
  for (const [status, text] of Object.entries(described) as [`${ErrorStatus}`, string][]) {
    out[Number(status) as ErrorStatus] = json(errorSchema, text, example(text));
  }
  return out;
}

export const BEARER = 'bearerToken';

/** What every data route adds: the token (when KILN_API_TOKEN is set) and a Redis that may be down. */
export const dataRoute: { security: Record<string, string[]>[] } = {
  security: [{ [BEARER]: [] }],
};

export const dataRouteErrors = {
  401: 'UNAUTHORIZED: KILN_API_TOKEN is set and the request has no or a wrong `Authorization: Bearer <token>`',
  403: 'HOST_NOT_ALLOWED: KILN_API_TOKEN is not set and the Host header is not a loopback name (localhost, 127.0.0.1, [::1], *.localhost)',
  503: 'REDIS_UNAVAILABLE: the job store cannot be reached; nothing was changed',
} as const satisfies Partial<Record<ErrorStatus, string>>;
