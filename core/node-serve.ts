/**
 * `serve` of @hono/node-server, but a request the adapter cannot turn into a web
 * Request (a Host header with characters a URL cannot hold, a backslash in the
 * path, no Host at all) is answered with Kiln's JSON error instead of an empty 400
 * the app never sees. Node only: the API's and the spawner's servers.
 */
import { getRequestListener, RequestError } from '@hono/node-server';
import { createServer, type Server, type ServerOptions } from 'node:http';

export interface NodeServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  hostname: string;
  port: number;
  serverOptions?: ServerOptions;
}

/** The answer for a request that never reached the app. */
export function requestErrorResponse(err: unknown): Response {
  if (err instanceof RequestError) {
    return Response.json(
      { error: { code: 'BAD_REQUEST', message: `the request could not be read (${err.message}); send a plain host name in Host and a path of URL characters` } },
      { status: 400 },
    );
  }
  return Response.json({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } }, { status: 500 });
}

export function serveWithJsonErrors(o: NodeServeOptions): Server {
  const listener = getRequestListener(o.fetch, { hostname: o.hostname, errorHandler: requestErrorResponse });
  const server = createServer(o.serverOptions ?? {}, listener);
  server.listen(o.port, o.hostname);
  return server;
}
