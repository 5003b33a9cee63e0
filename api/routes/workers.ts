import { Hono } from 'hono';
import { parseWorkers } from '../../core/worker-store';
import { notFound } from '../../core/errors';
import { workerView } from '../../core/schemas/worker';
import { readWorkersStatus } from '../../core/worker-status';
import type { AppDeps } from '../deps';

export function workerRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/status', async (c) => c.json(await readWorkersStatus(deps.redis, deps.keys, deps.now())));
  app.get('/types', async (c) => {
    const types = await deps.redis.hgetall(deps.keys.types());
    const out: Record<string, unknown> = {};
    for (const [name, json] of Object.entries(types)) out[name] = JSON.parse(json) as unknown;
    return c.json({ types: out });
  });
  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    const [w] = parseWorkers([await deps.redis.hgetall(deps.keys.worker(id))]);
    if (!w) throw notFound('WORKER_NOT_FOUND', `no worker ${id}; a worker's record is kept for an hour after it exits`);
    return c.json(workerView(w));
  });
  return app;
}
