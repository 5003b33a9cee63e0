/**
 * The dashboard: `GET /` (one server-rendered page) and its static assets under
 * `/ui/`. Served from string modules, so it needs no disk in either runtime, and
 * carries no data: the page's script reads the JSON API with the user's token.
 */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { notFound } from '../../core/errors';
import { DASHBOARD_ASSETS } from './assets';
import { dashboardPage } from './page';

/** Strict: scripts and styles only from this origin, no inline script, data only from the API. */
const dashboardHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: 'no-referrer',
});

export function dashboardRoutes(): Hono {
  const app = new Hono();
  const page = dashboardPage();
  app.get('/', dashboardHeaders, (c) => {
    c.header('cache-control', 'no-cache');
    return c.html(page);
  });
  app.get('/ui/:file', dashboardHeaders, (c) => {
    const name = c.req.param('file');
    const asset = Object.hasOwn(DASHBOARD_ASSETS, name) ? DASHBOARD_ASSETS[name] : undefined;
    if (!asset) throw notFound('NOT_FOUND', `no dashboard asset ${name}`);
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
  });
  return app;
}
