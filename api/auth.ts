/** Optional bearer-token check for the API (KILN_API_TOKEN); runs on Node and in workerd. */
import type { MiddlewareHandler } from 'hono';

function sameString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** GET paths that carry no data, open without the token. */
const OPEN_PATHS = new Set(['/health', '/openapi.json', '/docs']);

/** Every route but those of OPEN_PATHS needs `Authorization: Bearer <token>`. */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && OPEN_PATHS.has(c.req.path)) return next();
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    if (!m || !sameString(m[1]!.trim(), token)) {
      return c.json({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token: send Authorization: Bearer <KILN_API_TOKEN>' } }, 401);
    }
    return next();
  };
}
