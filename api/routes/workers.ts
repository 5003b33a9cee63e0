import { parseWorkers } from '../../core/worker-store';
import { notFound } from '../../core/errors';
import { workerView } from '../../core/schemas/worker';
import { readWorkersStatus } from '../../core/worker-status';
import { parseRegistryEntry } from '../../core/worker-type-view';
import type { ApiDeps } from '../deps';
import { addRoute, createRouter, type Router } from '../openapi/router';
import { getWorkerRoute, workersStatusRoute, workerTypesRoute } from './workers-spec';

export function workerRoutes(deps: ApiDeps): Router {
  const app = createRouter();
  addRoute(app, workersStatusRoute, async (c) => c.json(await readWorkersStatus(deps.redis, deps.store, deps.now())));
  addRoute(app, workerTypesRoute, async (c) => {
    // cleaned again on the way out: an entry an older spawner wrote may still hold env values
    const types = await deps.redis.hgetall(deps.keys.types());
    const out = Object.entries(types).flatMap(([name, json]) => {
      const view = parseRegistryEntry(json);
      return view ? [[name, view] as const] : [];
    });
    return c.json({ types: Object.fromEntries(out) });
  });
  addRoute(app, getWorkerRoute, async (c) => {
    const id = c.req.param('id');
    const [w] = parseWorkers([await deps.redis.hgetall(deps.keys.worker(id))]);
    if (!w) throw notFound('WORKER_NOT_FOUND', `no worker ${id}; a worker's record is kept for an hour after it exits`);
    return c.json(workerView(w));
  });
  return app;
}
