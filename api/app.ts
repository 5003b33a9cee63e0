/**
 * The Hono app, built from injected dependencies so the same code runs on Node
 * (api/node.ts) and in workerd (api/workerd.ts).
 */
import { limitBody } from './body-limit';
import { requireToken } from './auth';
import { requireLoopbackHost } from './host-guard';
import { dashboardRoutes } from './dashboard/routes';
import { endBodyOfHead } from '../core/head-requests';
import { createJobStore } from '../core/job-store';
import type { ApiDeps, AppDeps } from './deps';
import { createFunctionNameCheck } from './function-names';
import { notFoundHandler, onError } from './errors';
import { apiRedisGate } from './redis-guard';
import { redisGuard, redisHealth } from '../core/redis-gate';
import { addRoute, createRouter, type Router } from './openapi/router';
import { serveApiDocs } from './routes/api-docs';
import { jobRoutes } from './routes/jobs';
import { healthRoute } from './routes/system-spec';
import { workerRoutes } from './routes/workers';

export function createApp(appDeps: AppDeps): Router {
  // the API's one JobStore, with the configured retentions (a cancel uses KILN_RETENTION_FAILED_S)
  const deps: ApiDeps = {
    ...appDeps,
    store: appDeps.store ?? createJobStore(appDeps.redis, { keys: appDeps.keys, ...appDeps.config }),
    checkFunctionName: createFunctionNameCheck(appDeps),
  };
  const app = createRouter();
  app.onError((err, c) => onError(err, c, deps.logger));
  app.notFound(notFoundHandler);
  // without a token, only loopback Host names (DNS-rebinding guard; api/host-guard.ts)
  if (!deps.config.apiToken) app.use('*', requireLoopbackHost());
  app.use('*', endBodyOfHead());
  app.use('*', limitBody(deps.config.maxBodyBytes));
  if (deps.config.apiToken) app.use('*', requireToken(deps.config.apiToken));
  const gate = apiRedisGate(deps);
  for (const data of ['/jobs/*', '/workers/*']) app.use(data, redisGuard(gate));
  app.route('/jobs', jobRoutes(deps));
  app.route('/workers', workerRoutes(deps));
  app.route('/', dashboardRoutes());
  addRoute(app, healthRoute, async (c) => {
    const [redis, spawner] = await Promise.all([redisHealth(gate, deps.config.redisTimeoutMs), deps.spawner.health()]);
    return c.json({ status: redis.ok ? (spawner === 'unreachable' ? 'degraded' : 'ok') : 'error', redis: redis.text, spawner }, redis.ok ? 200 : 503);
  });
  serveApiDocs(app);
  return app;
}
