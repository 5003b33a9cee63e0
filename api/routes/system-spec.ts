/** GET /health and GET /openapi.json as OpenAPI sees them. */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { errors, json } from '../openapi/responses';

const tags = ['system'];

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'error']).describe('degraded: Redis is fine but the spawner cannot be reached'),
  redis: z.string().describe('"ok", or "error: <why>"'),
  spawner: z.enum(['ok', 'unreachable', 'not configured']),
}).meta({ id: 'Health' });

export const healthRoute = createRoute({
  method: 'get', path: '/health', tags, security: [], operationId: 'health',
  summary: 'Whether the API reaches Redis and the spawner (no token needed)',
  responses: {
    200: json(healthSchema, 'Redis answers: ok, or degraded when the spawner cannot be reached', { status: 'ok', redis: 'ok', spawner: 'ok' }),
    503: json(healthSchema, 'Redis does not answer', { status: 'error', redis: 'error: connect ECONNREFUSED 127.0.0.1:6379', spawner: 'ok' }),
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
