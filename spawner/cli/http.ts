/**
 * The CLI's HTTP client for the API and the spawner: JSON calls and event
 * streams, with errors that say what to do next (start the server, set the token).
 */
import { type ApiErrorCode, isApiErrorCode, KilnError } from '../../core/errors';
import type { Transport, TransportResponse } from './transport';

export interface Endpoint {
  /** How messages name the server. */
  name: 'Kiln API' | 'spawner';
  base: string;
  token: string | undefined;
  /** What to do when it cannot be reached. */
  startHint: string;
  /** What to do on a 401 ('' when the server's own message says it). */
  tokenHint: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function headers(ep: Endpoint, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(ep.token ? { authorization: `Bearer ${ep.token}` } : {}), ...extra };
}

function unreachable(ep: Endpoint, err: unknown): KilnError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { name?: string } };
  const timedOut = e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError';
  const why = timedOut ? 'no answer in time' : e?.code ?? e?.message ?? String(err);
  return new KilnError('UNREACHABLE', `cannot reach the ${ep.name} at ${ep.base} (${why}); ${ep.startHint}`, { status: 503, cause: err });
}

async function answerError(ep: Endpoint, res: TransportResponse): Promise<KilnError> {
  const text = await res.text().catch(() => '');
  let code: ApiErrorCode = 'HTTP_ERROR';
  let message = text.trim().slice(0, 300) || 'no detail';
  let field: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; field?: unknown } };
    if (isApiErrorCode(body.error?.code)) code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.field === 'string') field = body.error.field;
  } catch {
    // not JSON: keep the text
  }
  const hint = res.status === 401 && ep.tokenHint ? `; ${ep.tokenHint}` : '';
  const short = ep.name === 'spawner' ? 'spawner' : 'API';
  return new KilnError(code, `${short} answered ${res.status}: ${message}${hint}`, { status: res.status, ...(field && { field }) });
}

export interface JsonAnswer {
  status: number;
  body: unknown;
}

export async function callJson(
  http: Transport,
  ep: Endpoint,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<JsonAnswer> {
  let res: TransportResponse;
  let text: string;
  try {
    res = await http(`${ep.base}${path}`, {
      method,
      headers: headers(ep, { ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers }),
      ...(opts.body === undefined ? {} : { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (res.status < 200 || res.status > 299) throw await answerError(ep, res);
    text = await res.text();
  } catch (err) {
    throw err instanceof KilnError ? err : unreachable(ep, err);
  }
  try {
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as unknown) };
  } catch {
    throw new KilnError('BAD_ANSWER', `the ${ep.name} at ${ep.base} answered ${res.status} with something other than JSON; is --api-url / --url pointing at Kiln?`, { status: 502 });
  }
}

/** Opens a Server-Sent Events stream; the caller reads `body` (see sse.ts) and aborts through `signal`. */
export async function openEventStream(http: Transport, ep: Endpoint, path: string, signal: AbortSignal, lastEventId?: string): Promise<AsyncIterable<Uint8Array>> {
  let res: TransportResponse;
  try {
    res = await http(`${ep.base}${path}`, {
      method: 'GET',
      headers: headers(ep, { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }),
      signal,
    });
  } catch (err) {
    throw unreachable(ep, err);
  }
  if (res.status < 200 || res.status > 299) throw await answerError(ep, res);
  if (!res.contentType.includes('text/event-stream')) {
    res.cancel();
    throw new KilnError('NOT_AN_EVENT_STREAM', `${ep.base}${path} did not answer with an event stream`, { status: 502 });
  }
  return res.body;
}
