/**
 * Request body size limit. A declared Content-Length (without Transfer-Encoding)
 * is checked from the header alone — Node's HTTP parser and workerd both hold a
 * body to its declared length — and only a chunked body is counted while read,
 * by hono's bodyLimit. Touching `c.req.raw.body` for every request, as hono's
 * middleware does first, makes @hono/node-server build a full web Request and
 * stream for each one, which halved the API's submit throughput on Node.
 *
 * A GET or HEAD body is never read (no such route reads one), so it is never
 * counted either, whatever framing header the request carries: counting builds a
 * new Request with the body, which workerd refuses for GET and HEAD (that was a
 * 500 for `transfer-encoding: chunked`).
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { KilnError } from '../core/errors';

export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () =>
    new KilnError('PAYLOAD_TOO_LARGE', `request body is larger than ${maxBytes} bytes; put large inputs in a file under the data root and pass its path`, { status: 413 });
  const counted = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return (c, next) => {
    const declared = c.req.header('content-length');
    if (c.req.header('transfer-encoding') === undefined && declared !== undefined) {
      if (Number(declared) > maxBytes) return Promise.reject(tooLarge());
      return next();
    }
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return counted(c, next);
  };
}
