/**
 * The Hono app, built from injected dependencies so the same code runs on Node
 * (api/node.ts) and in workerd (api/worker.ts).
 */
import { Hono } from 'hono';
import { limitBody } from './body-limit';
import { requireToken } from './auth';
import { dashboardRoutes } from './dashboard/routes';
import { redisHealth } from '../core/health';
import type { AppDeps } from './deps';
import { notFoundHandler, onError } from './errors';
import { jobRoutes } from './routes/jobs';
import { workerRoutes } from './routes/workers';

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError((err, c) => onError(err, c, deps.logger));
  app.notFound(notFoundHandler);
  app.use('*', limitBody(deps.config.maxBodyBytes));
  if (deps.config.apiToken) app.use('*', requireToken(deps.config.apiToken));
  app.route('/jobs', jobRoutes(deps));
  app.route('/workers', workerRoutes(deps));
  app.route('/', dashboardRoutes());
  app.get('/health', async (c) => {
    const [redis, spawner] = await Promise.all([redisHealth(() => deps.redis.ping()), deps.spawner.health()]);
    const healthy = redis === 'ok';
    return c.json({ status: healthy ? (spawner === 'unreachable' ? 'degraded' : 'ok') : 'error', redis, spawner }, healthy ? 200 : 503);
  });
  return app;
}
