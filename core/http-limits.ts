/**
 * Limits of the Node HTTP servers (the API and the spawner), so that idle or
 * half-sent connections cannot pile up until no client gets in: how long a client
 * may take to send its headers and its whole request, how long an idle keep-alive
 * connection stays open, and how many connections one process holds at once.
 * Pure data and a structural server type: no `node:` import, so core/ stays edge-safe.
 */
import { DEFAULTS, type Env, intEnv } from './config';
import { KilnError } from './errors';

export interface HttpLimits {
  /** KILN_HTTP_HEADERS_TIMEOUT_MS: a connection that has not sent full headers by then is closed (408). */
  headersTimeoutMs: number;
  /** KILN_HTTP_REQUEST_TIMEOUT_MS: the whole request (headers and body) must arrive within this (not the answer: streams go on). */
  requestTimeoutMs: number;
  /** KILN_HTTP_KEEPALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** KILN_HTTP_MAX_CONNECTIONS: connections past this are closed at once. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: DEFAULTS.KILN_HTTP_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: DEFAULTS.KILN_HTTP_REQUEST_TIMEOUT_MS,
  keepAliveTimeoutMs: DEFAULTS.KILN_HTTP_KEEPALIVE_TIMEOUT_MS,
  maxConnections: DEFAULTS.KILN_HTTP_MAX_CONNECTIONS,
};

export function httpLimitsFromEnv(env: Env): HttpLimits {
  const d = DEFAULT_HTTP_LIMITS;
  const positive = (name: string, fallback: number) => {
    const v = intEnv(env, name, fallback);
    if (!Number.isInteger(v) || v < 1) throw new KilnError('BAD_CONFIG', `${name}=${env[name]} must be a positive whole number`, { status: 500 });
    return v;
  };
  const limits: HttpLimits = {
    headersTimeoutMs: positive('KILN_HTTP_HEADERS_TIMEOUT_MS', d.headersTimeoutMs),
    requestTimeoutMs: positive('KILN_HTTP_REQUEST_TIMEOUT_MS', d.requestTimeoutMs),
    keepAliveTimeoutMs: positive('KILN_HTTP_KEEPALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs),
    maxConnections: positive('KILN_HTTP_MAX_CONNECTIONS', d.maxConnections),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new KilnError('BAD_CONFIG', `KILN_HTTP_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not be above KILN_HTTP_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs})`, { status: 500 });
  }
  return limits;
}

/**
 * Options for `http.createServer`: the timeouts, and how often Node looks for connections
 * that passed them (its default, 30 s, would let a 10 s limit run to 40 s).
 */
export function httpServerOptions(limits: HttpLimits): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** The parts of a Node `http.Server` set after it is created. */
export interface LimitableServer {
  keepAliveTimeout: number;
  maxConnections: number;
}

export function applyHttpLimits(server: LimitableServer, limits: HttpLimits): void {
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}
