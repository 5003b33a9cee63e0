/** Building blocks of the routes' OpenAPI descriptions: JSON answers, the error shape, the bearer token. */
import type { ZodType } from 'zod';
import { z } from 'zod';
import { API_ERROR_CODES, type ApiErrorCode } from '../../core/errors';

/** The one error shape of the API (api/errors.ts writes it). */
export const errorSchema = z.object({
  error: z.object({
    code: z.enum(API_ERROR_CODES).describe('stable and machine-readable, e.g. VALIDATION_ERROR'),
    message: z.string().describe('what went wrong and what to do next'),
    field: z.string().optional().describe('the request field at fault, when there is one'),
  }),
}).meta({ id: 'Error', description: 'Every 4xx and 5xx answer of the API' });

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

/** An example answer per error code; a route's description names the codes, the first one gives the example. */
export const EXAMPLES: Partial<Record<ApiErrorCode, { message: string; field?: string }>> = {
  VALIDATION_ERROR: { message: 'model_type: Invalid input: expected string, received undefined', field: 'model_type' },
  UNAUTHORIZED: { message: 'missing or wrong bearer token: send Authorization: Bearer <KILN_API_TOKEN>' },
  JOB_NOT_FOUND: { message: 'no job 3f0c9a4e-…: it never existed or expired after its retention time' },
  WORKER_NOT_FOUND: { message: "no worker node-1a2b3c4d; a worker's record is kept for an hour after it exits" },
  JOB_FINISHED: { message: 'job 3f0c9a4e-… already succeeded; only queued or running jobs can be cancelled' },
  NO_GPU: { message: 'requires_gpu is true but no running spawner has a GPU (none registered in the last 60 s); …', field: 'requires_gpu' },
  PAYLOAD_TOO_LARGE: { message: 'request body is larger than 1048576 bytes; put large inputs in a file under the data root and pass its path' },
  IDEMPOTENCY_KEY_REUSED: { message: 'this Idempotency-Key was already used with a different request body; use a new key for a new job' },
  MODEL_NOT_FOUND: { message: 'model_path: no job 3f0c9a4e-… (it never existed, or expired after its retention time); pass the job_id of a training job that succeeded', field: 'model_path' },
  MODEL_NOT_READY: { message: 'model_path: training job 3f0c9a4e-… is still running; wait until it has succeeded (GET /jobs/3f0c9a4e-…) and submit again', field: 'model_path' },
  MODEL_INCOMPATIBLE: { message: 'model_path: training job 3f0c9a4e-… made a pytorch model (worker type pytorch-2.1), and this inference would run on sklearn (worker type sklearn); …', field: 'model_path' },
  QUEUE_FULL: { message: 'the queue of worker type "sklearn" is full: it holds its max_queued of 10000 waiting jobs; retry after 5 s (Retry-After), once workers have taken some' },
  TIMEOUT_ABOVE_CEILING: { message: 'timeout_s 90000 is above the ceiling of worker type "sklearn" (max_timeout_s 3600); ask for at most 3600 s', field: 'timeout_s' },
  HYPERPARAMETER_OUT_OF_RANGE: { message: 'hyperparameters.n_estimators must be an integer in [1, 5000], not 100000; lower it (or leave it out for the default)', field: 'hyperparameters.n_estimators' },
  UNKNOWN_FUNCTION: { message: 'unknown function "constructor": no function may be named like a property of every JavaScript object (constructor, toString, __proto__, …); name a function your workers export', field: 'function' },
  JSON_TOO_DEEP: { message: 'the request body nests arrays/objects more than 64 levels deep; flatten it (or put large structures in a file under the data root and pass its path)' },
  UNSUPPORTED_MEDIA_TYPE: { message: 'Content-Type "text/plain" is not accepted; send the body as JSON with the header Content-Type: application/json', field: 'Content-Type' },
  HOST_NOT_ALLOWED: { message: 'Host "example.com" is not a loopback name; …set KILN_API_TOKEN to serve other host names' },
  TOO_MANY_STREAMS: { message: 'this API process already serves 100 event streams (KILN_SSE_MAX_STREAMS); retry after the Retry-After seconds' },
  TOO_MANY_WAITS: { message: 'this API process already holds 500 submits waiting for their jobs (KILN_MAX_WAITS); nothing was queued. Retry after 1 s, or submit without wait and poll GET /jobs/{id}', field: 'wait' },
  REDIS_UNAVAILABLE: { message: "Kiln's job store (Redis) cannot be reached; nothing was done. Retry in a few seconds; if it lasts, check that Redis is running and reachable (GET /health shows its state)." },
};

function example(description: string): { error: { code: string; message: string; field?: string } } | undefined {
  const code = /[A-Z][A-Z_]{3,}/.exec(description)?.[0] as ApiErrorCode | undefined;
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

/** An error answer that also carries a Retry-After header (seconds). */
export function withRetryAfter(resp: JsonResponse | undefined): JsonResponse & { headers: z.ZodObject } {
  if (!resp) throw new Error('withRetryAfter: no response to extend');
  return { ...resp, headers: z.object({ 'Retry-After': z.string().describe('seconds to wait before trying again') }) };
}

export const BEARER = 'bearerToken';

/** What every data route adds: the token (when KILN_API_TOKEN is set) and a Redis that may be down. */
export const dataRoute: { security: Record<string, string[]>[] } = {
  security: [{ [BEARER]: [] }],
};

export const dataRouteErrors = {
  401: 'UNAUTHORIZED: KILN_API_TOKEN is set and the request has no or a wrong `Authorization: Bearer <token>`',
  403: 'HOST_NOT_ALLOWED: KILN_API_TOKEN is not set and the Host header is not a loopback name (localhost, 127.0.0.1, [::1], *.localhost)',
  503: 'REDIS_UNAVAILABLE: the job store (Redis) is unreachable, does not answer in time, or is out of memory; the message says which and what to do',
} as const satisfies Partial<Record<ErrorStatus, string>>;
