/**
 * How a route file declares a route: one `createRoute` (method, path, request
 * and response schemas) and one `addRoute(app, route, handler)`. The route is
 * then both served and in GET /openapi.json, from the same object, so the two
 * cannot drift apart; tests/openapi.test.ts fails for any route served without.
 *
 * The handler parses its own input with the schemas the route names (the
 * `readJson` + `parse` of api/routes/jobs.ts): @hono/zod-openapi's validators
 * would answer other error codes (415 for a body without a JSON content type, a
 * bare 400 for bad JSON), cannot pick POST /jobs's schema by its distinguishing
 * field, and cost ~15 µs a request.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { BlankEnv, Handler } from 'hono/types';
import { validationError } from '../errors';
import { StaticRouteCache } from './static-routes';

export type DocumentedRoute = RouteConfig & { getRoutingPath(): string };
export type Router = OpenAPIHono<BlankEnv>;

/**
 * A router whose routes carry their OpenAPI description. Its defaultHook keeps
 * the error format for a route registered the library's way
 * (`app.openapi(route, handler)`, which validates): a 400 with code, message and field.
 */
export function createRouter(): Router {
  return new OpenAPIHono<BlankEnv>({
    router: new StaticRouteCache(),
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
}

/** Serves `handler` at the route's method and path, and puts the route in the document. */
export function addRoute<R extends DocumentedRoute>(app: Router, route: R, handler: Handler<BlankEnv, ReturnType<R['getRoutingPath']>>): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), route.getRoutingPath(), handler);
}
