/**
 * Sends a generated request through a fetch-shaped function (Hono's `app.request`,
 * a workerd entry's `fetch`, or global `fetch` over loopback) and reads the answer;
 * an event stream is read for a moment and then cancelled, as a client that leaves.
 * A submit that asks to wait (`?wait=`, up to 60 s) is left the same way: its request's
 * signal aborts after the same moment, and the answer (then a 202) must still be well formed.
 */
import type { FuzzAnswer } from './check';
import type { FuzzRequest } from './http-arb';

export type FetchLike = (request: Request) => Response | Promise<Response>;
export type Sender = (req: FuzzRequest) => Promise<FuzzAnswer>;

export interface SenderOptions {
  /** Origin the path is appended to (default http://localhost). */
  base?: string;
  /** How long an event stream is read before the client leaves (default 150 ms). */
  streamMs?: number;
}

export function fetchSender(fetchFn: FetchLike, opts: SenderOptions = {}): Sender {
  const base = opts.base ?? 'http://localhost';
  const streamMs = opts.streamMs ?? 150;
  return async (req) => {
    const leave = /[?&]wait=/.test(req.path) ? AbortSignal.timeout(streamMs) : undefined;
    const request = new Request(`${base}${req.path}`, {
      method: req.method,
      ...(leave && { signal: leave }),
      headers: req.headers,
      // bytes, not a string: a string body would get a text/plain content type the request did not ask for
      ...(req.body !== undefined && { body: new TextEncoder().encode(req.body) }),
    });
    const res = await fetchFn(request);
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    if (/^text\/event-stream/i.test(headers['content-type'] ?? '') && res.body) {
      const { text, cut } = await readFor(res.body, streamMs);
      return { status: res.status, headers, body: text, cut };
    }
    return { status: res.status, headers, body: await res.text() };
  };
}

/** Reads a stream for `ms` (or to its end), then cancels it. */
async function readFor(body: ReadableStream<Uint8Array>, ms: number): Promise<{ text: string; cut: boolean }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) break;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), left);
    });
    const next = await Promise.race([reader.read(), timeout]);
    clearTimeout(timer);
    if (next === 'timeout') break;
    if (next.done) return { text: text + decoder.decode(), cut: false };
    text += decoder.decode(next.value, { stream: true });
  }
  await reader.cancel();
  return { text, cut: true };
}
