/** Optional bearer-token check for the API (KILN_API_TOKEN); runs on Node and in workerd. */
import type { MiddlewareHandler } from 'hono';

function sameString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Reads that carry no data: the health check, the dashboard's page and assets, the API's description. */
const PUBLIC_PATHS = new Set(['/health', '/', '/docs', '/openapi.json']);

export function isPublicRead(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && (PUBLIC_PATHS.has(path) || path.startsWith('/ui/'));
}

/** Every data route needs `Authorization: Bearer <token>`; the public reads above do not. */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (isPublicRead(c.req.method, c.req.path)) return next();
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    if (!m || !sameString(m[1]!.trim(), token)) {
      return c.json({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token: send Authorization: Bearer <KILN_API_TOKEN>' } }, 401);
    }
    return next();
  };
}
