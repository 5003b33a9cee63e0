/**
 * GET /metrics: the spawner's Prometheus registry as text. It needs the spawner's
 * bearer token, unless KILN_METRICS_OPEN=true (for scrapers on a private network).
 */
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { tokenMatches } from './token';

export function metricsRoute(deps: { registry: Registry; token: string; open: boolean; tokenHint: string }): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    if (!deps.open && !tokenMatches(deps.token, c.req.header('authorization'))) {
      return c.json({ error: { code: 'UNAUTHORIZED', message: `GET /metrics needs the spawner's bearer token (${deps.tokenHint}), or KILN_METRICS_OPEN=true on the spawner` } }, 401);
    }
    return c.body(await deps.registry.metrics(), 200, { 'content-type': deps.registry.contentType });
  });
  return app;
}
