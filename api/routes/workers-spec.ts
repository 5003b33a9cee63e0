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
  description: "Each type's config as its spawner published it, without what stays on the host: the interpreter (`python`), `python_path` and the values of `env` (listed by variable name only).",
  responses: {
    200: json(workerTypesSchema, 'Worker types by name'),
    ...errors(dataRouteErrors),
  },
});

export const getWorkerRoute = createRoute({
  method: 'get', path: '/{id}', tags, ...dataRoute, operationId: 'getWorker',
  summary: 'One worker (kept for an hour after it exits)',
  description: 'An operator view: status, resources and, once it exited, why, with the last lines of its stderr (the values of its type\'s env and its interpreter path are redacted). `working_directory` is relative to the spawner\'s state folder.',
  request: { params: z.object({ id: z.string().describe('a worker id, e.g. node-1a2b3c4d') }) },
  responses: {
    200: json(workerViewSchema, 'The worker'),
    ...errors({ 404: 'WORKER_NOT_FOUND: no such worker, or it exited over an hour ago', ...dataRouteErrors }),
  },
});
