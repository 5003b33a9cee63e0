/**
 * The /workers routes as OpenAPI sees them, served by api/routes/workers.ts with
 * `addRoute(app, <route>, handler)`. Paths are relative to the /workers mount.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { workersStatusSchema, workerTypesSchema, workerViewSchema } from '../../core/schemas/worker-view';
import { dataRoute, dataRouteErrors, errors, json } from '../openapi/responses';

const tags = ['workers'];

export const workersStatusRoute = createRoute({
  method: 'get', path: '/status', tags, ...dataRoute, operationId: 'workersStatus',
  summary: 'Every worker, and per worker type what waits and why',
  description: 'The same shape as the spawner\'s GET /workers/status.',
  responses: {
    200: json(workersStatusSchema, 'Workers, by id and by type'),
    ...errors(dataRouteErrors),
  },
});

export const workerTypesRoute = createRoute({
  method: 'get', path: '/types', tags, ...dataRoute, operationId: 'workerTypes',
  summary: 'The worker types the spawners registered',
  responses: {
    200: json(workerTypesSchema, 'Worker types by name'),
    ...errors(dataRouteErrors),
  },
});

export const getWorkerRoute = createRoute({
  method: 'get', path: '/{id}', tags, ...dataRoute, operationId: 'getWorker',
  summary: 'One worker (kept for an hour after it exits)',
  request: { params: z.object({ id: z.string().describe('a worker id, e.g. node-1a2b3c4d') }) },
  responses: {
    200: json(workerViewSchema, 'The worker'),
    ...errors({ 404: 'WORKER_NOT_FOUND: no such worker, or it exited over an hour ago', ...dataRouteErrors }),
  },
});
