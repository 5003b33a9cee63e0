/** GET /health and GET /openapi.json as OpenAPI sees them. */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { errors, json } from '../openapi/responses';

const tags = ['system'];

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'error']).describe('degraded: Redis is fine but the spawner cannot be reached'),
  redis: z.string().describe('"ok", or "error: <what>": cannot connect, no answer within KILN_REDIS_TIMEOUT_MS, out of memory (maxmemory reached; writes are refused), or refuses commands'),
  spawner: z.enum(['ok', 'unreachable', 'not configured']),
}).meta({ id: 'Health' });

export const healthRoute = createRoute({
  method: 'get', path: '/health', tags, security: [], operationId: 'health',
  summary: 'Whether Redis takes writes (a probe) and the spawner answers (no token needed)',
  responses: {
    200: json(healthSchema, 'Redis answers: ok, or degraded when the spawner cannot be reached', { status: 'ok', redis: 'ok', spawner: 'ok' }),
    503: json(healthSchema, 'Redis cannot take requests: unreachable, not answering in time, or out of memory (a write probe fails)', { status: 'error', redis: 'error: out of memory (maxmemory reached; writes are refused)', spawner: 'ok' }),
    ...errors({ 403: 'HOST_NOT_ALLOWED: KILN_API_TOKEN is not set and the Host header is not a loopback name' }),
  },
});

export const openApiRoute = createRoute({
  method: 'get', path: '/openapi.json', tags, security: [], operationId: 'openapi',
  summary: 'This document, OpenAPI 3.1 (no token needed; GET /docs shows it as a page)',
  responses: {
    200: json(z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }), 'The OpenAPI document'),
  },
});
