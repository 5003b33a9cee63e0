/**
 * HEAD requests end the body their GET handler started. Hono answers HEAD by running
 * the GET route and dropping its body without cancelling it, so an event stream
 * (GET /jobs/:id/events, a log follow) kept polling Redis or a file until its job or
 * worker ended — for every HEAD request. This middleware cancels that body, which
 * runs the stream's onAbort. Used by the API (both runtimes) and the spawner.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';

export function endBodyOfHead(): MiddlewareHandler {
  // any other method goes straight on (no extra await on every request)
  return (c, next) => (c.req.method === 'HEAD' ? endHead(c, next) : next());
}

async function endHead(c: Context, next: Next): Promise<void> {
  await next();
  if (!c.res.body) return;
  await c.res.body.cancel();
  c.res = new Response(null, c.res);
}
