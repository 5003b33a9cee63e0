/**
 * The DNS-rebinding guard: without KILN_API_TOKEN the API answers only requests
 * addressed to a loopback name, so a web page whose host name was re-pointed at
 * 127.0.0.1 cannot read or submit jobs through the operator's browser. Runs on
 * Node and in workerd (a deployed Worker has a token; `wrangler dev` is localhost).
 */
import type { MiddlewareHandler } from 'hono';

/** `localhost`, `*.localhost`, `127.x.y.z`, `[::1]`: names that can only mean this machine. */
export function isLoopbackHostName(name: string): boolean {
  const host = name.toLowerCase().replace(/\.$/, '');
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`); null when malformed. */
export function hostNameOf(hostHeader: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::\d{1,5})?$/.exec(hostHeader.trim());
  return m ? m[1]! : null;
}

export function requireLoopbackHost(): MiddlewareHandler {
  // Host values already found to be loopback names: a client sends the same one on every
  // request, and this skips the parse for it (bounded: only accepted values are kept)
  const accepted = new Set<string>();
  return (c, next) => {
    const raw = c.req.header('host');
    if (raw !== undefined && accepted.has(raw)) return next();
    // Node fills the URL from the Host header; a Request built in code (workerd, tests) may carry none
    const header = raw ?? new URL(c.req.url).host;
    const name = hostNameOf(header);
    if (name !== null && isLoopbackHostName(name)) {
      if (raw !== undefined && accepted.size < 64) accepted.add(raw);
      return next();
    }
    return Promise.resolve(c.json({
      error: {
        code: 'HOST_NOT_ALLOWED',
        message: `Host ${JSON.stringify(header.slice(0, 100))} is not a loopback name: without KILN_API_TOKEN this API answers only localhost, 127.0.0.1, [::1] and *.localhost (a guard against DNS rebinding); use one of those, or set KILN_API_TOKEN to serve other host names`,
        field: 'Host',
      },
    }, 403));
  };
}
