/**
 * Generators for the parts of an HTTP request: methods, headers (content types,
 * Idempotency-Key, Authorization, Last-Event-ID, Host, framing), path segments and
 * query strings. Header values stay within what HTTP carries (tab, printable ASCII,
 * 0x80-0xff), so every generated request can be sent by fetch and by node:http.
 */
import fc from 'fast-check';
import { hugeNumber, nastyString, render } from './json-tree';

/** One generated request; `route` says which template (or generator) it came from. */
export interface FuzzRequest {
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Methods every HTTP/1.1 parser here accepts (llhttp refuses unknown tokens before the app sees them). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'PURGE', 'REPORT'] as const;

const headerChar = (c: string) => (/[\t\x20-\x7e\x80-\xff]/.test(c) ? c : 'x');
/** Any value a header may carry. */
export const headerValue: fc.Arbitrary<string> = fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => [...s].map(headerChar).join(''));

export const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=ISO-8859-1', 'application/vnd.api+json',
  'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=----x', 'application/xml', '*/*', '',
] as const;

/** Missing most of the time, else one of `values` or anything. */
const sometimes = (values: fc.Arbitrary<string>, weightMissing = 3) =>
  fc.oneof({ weight: weightMissing, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: values }, { weight: 1, arbitrary: headerValue });

export interface HeaderOptions {
  /** Authorization values that pass (e.g. `Bearer <token>`); empty: the target has no token. */
  goodAuth: readonly string[];
  /** Whether a body goes with the request (content-type then matters). */
  hasBody: boolean;
  /** Content-Length / Transfer-Encoding on a request without a body: only where no real HTTP parser frames it. */
  framingWithoutBody: boolean;
}

export function headersArb(opts: HeaderOptions): fc.Arbitrary<Record<string, string>> {
  const token = opts.goodAuth[0]?.replace(/^Bearer /, '') ?? 'none';
  const goodAuth = opts.goodAuth.length ? fc.constantFrom(...opts.goodAuth) : fc.constant(undefined);
  const badAuth = fc.constantFrom('Bearer', 'Bearer ', 'Bearer wrong-token', 'Basic dXNlcjpwYXNz', `bearer ${token}`, `Bearer ${token} extra`, `Bearer ${token}x`, `Token ${token}`);
  return fc
    .record({
      'content-type': opts.hasBody
        ? fc.oneof({ weight: 6, arbitrary: fc.constant('application/json') }, { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: headerValue })
        : sometimes(fc.constantFrom(...CONTENT_TYPES), 6),
      authorization: fc.oneof({ weight: 8, arbitrary: goodAuth }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: badAuth }, { weight: 1, arbitrary: headerValue }),
      'idempotency-key': sometimes(fc.oneof(fc.stringMatching(/^[\x21-\x7e]{1,64}$/), fc.constantFrom('', ' ', 'a b', 'k'.repeat(256), '\u00e9t\u00e9', 'fixed-key-1', 'fixed-key-2'))),
      'last-event-id': sometimes(fc.oneof(fc.constantFrom('1700000000000-0', '0-0', '0', '-1', '99999999999999999999-0', '1700000000000-18446744073709551616'), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`))),
      host: sometimes(fc.constantFrom('localhost', 'localhost:8000', '127.0.0.1', '127.0.0.1:1', '[::1]', '[::1]:8000', 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io'), 6),
      accept: sometimes(fc.constantFrom('text/event-stream', 'application/json', '*/*', 'text/html', 'application/xml')),
      ...(opts.framingWithoutBody && !opts.hasBody
        ? { 'content-length': sometimes(fc.constantFrom('0', '5', '99999999999', '-1'), 8), 'transfer-encoding': sometimes(fc.constantFrom('chunked', 'gzip, chunked'), 8) }
        : {}),
      'upstash-encoding': sometimes(fc.constantFrom('base64', 'BASE64', 'utf8'), 6),
      extra: fc.option(fc.tuple(fc.constantFrom('x-forwarded-for', 'x-forwarded-host', 'origin', 'cookie', 'referer', 'x-http-method-override', 'x-fuzz'), headerValue), { freq: 3 }),
    })
    .map(({ extra, ...h }) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
      if (extra) out[extra[0]] = extra[1];
      return out;
    });
}

/** Segments that are not plain names: dot segments, bad percent escapes, encoded slashes and NULs, very long. */
const RAW_SEGMENTS = ['..', '.', 'a\\b', '%2e%2e', '%2E%2E%2F', '%2F', 'a%2Fb', '%00', '%', '%zz', '%E0%A4%A', '%C0%AE', ';', '@', '~', ':', '%25', '', 'a'.repeat(3000)] as const;

/** A path parameter: a known good value, any string (encoded), or a raw tricky segment. */
export function paramArb(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: known.length ? 6 : 0, arbitrary: known.length ? fc.constantFrom(...known) : fc.constant('x') },
    { weight: 2, arbitrary: nastyString.map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );
}

/** encodeURIComponent, except lone surrogates (which it throws on) become U+FFFD first. */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

/** A query string from named parameters' value generators, plus unknown, duplicate and broken ones. */
export function queryArb(params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const hostileValue = fc.oneof(nastyString.map(encodeSegment), hugeNumber.map((t) => encodeSegment(render(t))), fc.constantFrom('%zz', '%', '', 'true', '1', '-1', '0', '1e308', 'NaN'));
  const known = names.map((n) => fc.option(fc.oneof({ weight: 3, arbitrary: params[n]!.map(encodeSegment) }, { weight: 1, arbitrary: hostileValue }), { freq: 2 }).map((v) => (v === null ? null : `${n}=${v}`)));
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'limit', 'cursor', 'follow', 'x'), nastyString.map(encodeSegment)), hostileValue).map(([k, v]) => `${k}=${v}`), { maxLength: 2 });
  return fc.tuple(fc.tuple(...known), extra, fc.boolean()).map(([ks, ex, bare]) => {
    const parts = [...ks.filter((k): k is string => k !== null), ...ex];
    if (parts.length === 0) return bare ? '?' : '';
    return `?${parts.join('&')}`;
  });
}

/** A path no route serves, made of tricky segments. */
export const unknownPathArb: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom('jobs', 'workers', 'redis', 'ui', 'health', 'metrics', 'admin', '.env', '..', '%2e%2e', 'pipeline', 'multi-exec'), nastyString.map(encodeSegment)), { minLength: 1, maxLength: 5 })
  .map((segs) => `/${segs.join('/')}`);

/** A request in one line, its body cut short: what a failure report shows. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : ` body(${r.body.length} chars)=${JSON.stringify(r.body.length > 300 ? `${r.body.slice(0, 300)}…` : r.body)}`;
  return `${r.method} ${r.path.length > 300 ? `${r.path.slice(0, 300)}…` : r.path} headers=${JSON.stringify(r.headers)}${body}`;
}

/** Gives a generated request a short printout in fast-check's failure reports. */
export function printable(r: FuzzRequest): FuzzRequest {
  Object.defineProperty(r, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false });
  return r;
}
