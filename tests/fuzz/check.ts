/**
 * What every answer to a fuzzed request must satisfy:
 *  - no status >= 500 (Redis is up in these runs, so not even a 503);
 *  - an error (>= 400) is JSON with a JSON content type, in the target's error shape:
 *    Kiln's `{"error":{"code":"UPPER_SNAKE","message":"…","field"?:"…"}}`, or on the
 *    Redis REST gateway Upstash's `{"error":"…"}` (a `"code":"UPPER_SNAKE"` beside it allowed);
 *  - any answer that says it is JSON parses;
 *  - an event stream is a 200 made of SSE lines, and a route that streams answers
 *    either a stream or a well-formed error.
 */
import type { FuzzRequest } from './http-arb';

export interface FuzzAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
  /** An event stream read for a moment and then closed by the client. */
  cut?: boolean;
}

export type ErrorShape = 'kiln' | 'gateway';

export interface CheckOptions {
  /** Error shapes accepted for this request (default: Kiln's). */
  errorShapes?(req: FuzzRequest): readonly ErrorShape[];
  /** Whether a 2xx answer to this request must be an event stream. */
  streams?(req: FuzzRequest): boolean;
  /** Strings no answer may carry (tokens); an echo of the request's own path or body is not counted. */
  secrets?: readonly string[];
  /** Strings no error may carry (the state folder, the Redis URL): issue #9 item 1. */
  internals?: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function kilnErrorProblem(v: unknown): string | null {
  if (!isObject(v) || Object.keys(v).join() !== 'error') return 'the body is not {"error":{…}} alone';
  const e = v.error;
  if (!isObject(e)) return '"error" is not an object';
  const extra = Object.keys(e).filter((k) => k !== 'code' && k !== 'message' && k !== 'field');
  if (extra.length) return `"error" has unknown fields ${extra.join(', ')}`;
  if (typeof e.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(e.code)) return `error.code ${JSON.stringify(e.code)} is not an UPPER_SNAKE string`;
  if (typeof e.message !== 'string' || e.message.trim() === '') return 'error.message is not a non-empty string';
  if (e.field !== undefined && typeof e.field !== 'string') return 'error.field is not a string';
  return null;
}

/** Upstash's `{"error":"…"}`, optionally with Kiln's machine-readable `code`. */
function gatewayErrorProblem(v: unknown): string | null {
  if (!isObject(v) || !Object.keys(v).every((k) => k === 'error' || k === 'code')) return 'the body is not {"error":"…"} (with an optional "code")';
  if (v.code !== undefined && (typeof v.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(v.code))) return `code ${JSON.stringify(v.code)} is not an UPPER_SNAKE string`;
  return typeof v.error === 'string' && v.error.trim() !== '' ? null : '"error" is not a non-empty string';
}

const SSE_LINE = /^(?:$|:|event:|data:|id:|retry:)/;

export function answerProblems(req: FuzzRequest, ans: FuzzAnswer, opts: CheckOptions = {}): string[] {
  const out: string[] = [];
  if (ans.status >= 500) out.push(`status ${ans.status} (5xx)`);
  if (ans.status < 100 || ans.status > 599) out.push(`status ${ans.status} is not an HTTP status`);
  const carried = [...(opts.secrets ?? []), ...(ans.status >= 400 ? opts.internals ?? [] : [])];
  for (const secret of carried) {
    if (secret && ans.body.includes(secret) && !`${req.path}${req.body ?? ''}`.includes(secret)) out.push(`the answer carries ${JSON.stringify(secret.length > 12 ? `${secret.slice(0, 6)}…` : secret)}`);
  }
  if (req.method === 'HEAD') return out;
  const type = ans.headers['content-type'] ?? '';
  const isJson = /^application\/json\b/i.test(type);
  const isStream = /^text\/event-stream\b/i.test(type);
  let parsed: unknown;
  let parses = false;
  if (isJson && !ans.cut) {
    try {
      parsed = JSON.parse(ans.body) as unknown;
      parses = true;
    } catch {
      out.push('content-type says JSON but the body does not parse');
    }
  }
  if (ans.status >= 400) {
    if (!isJson) out.push(`an error answered with content-type ${JSON.stringify(type)}, not JSON`);
    else if (parses) {
      const shapes = opts.errorShapes?.(req) ?? ['kiln'];
      const why = shapes.map((s) => (s === 'kiln' ? kilnErrorProblem(parsed) : gatewayErrorProblem(parsed)));
      if (!why.includes(null)) out.push(`malformed error body: ${why.join('; ')}`);
    }
  }
  if (isStream) {
    if (ans.status !== 200) out.push(`an event stream with status ${ans.status}`);
    const lines = ans.body.split(/\r\n|\r|\n/);
    if (ans.cut) lines.pop(); // the last line may be cut short
    const bad = lines.find((l) => !SSE_LINE.test(l));
    if (bad !== undefined) out.push(`event stream line ${JSON.stringify(bad.slice(0, 80))} is not SSE`);
  } else if (ans.status >= 200 && ans.status < 300 && opts.streams?.(req)) {
    out.push(`a ${ans.status} to a streaming request with content-type ${JSON.stringify(type)}, not text/event-stream`);
  }
  return out;
}
