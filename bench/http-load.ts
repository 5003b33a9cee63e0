/**
 * A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each
 * sending the same request again as soon as the previous answer is complete, for
 * a fixed time. Raw sockets, so the client costs far less than the server it
 * measures (node:http's client would be the bottleneck on two cores). Runs in a
 * child process (bench/http-load-child.ts) to keep off the server's event loop.
 */
import { connect, type Socket } from 'node:net';

export interface LoadOptions {
  host: string;
  port: number;
  method: string;
  path: string;
  body: string;
  connections: number;
  durationMs: number;
  /** Send at most this many requests in all (then stop, even before durationMs). */
  count?: number;
}

export interface LoadResult {
  /** Answers by status code. */
  statuses: Record<string, number>;
  errors: number;
  elapsedMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** Length of the first complete response in buf and its status, or null while incomplete. */
function completeResponse(buf: Buffer): { length: number; status: number } | null {
  const headEnd = buf.indexOf(CRLF2);
  if (headEnd < 0) return null;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const length = headEnd + 4 + Number(cl[1]);
    return buf.length >= length ? { length, status } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const end = buf.indexOf('\r\n0\r\n\r\n', headEnd + 4 - 2);
    return end < 0 ? null : { length: end + 7, status };
  }
  return { length: headEnd + 4, status };
}

export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const request = Buffer.from(
    `${opts.method} ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(opts.body)}\r\nConnection: keep-alive\r\n\r\n${opts.body}`,
  );
  const statuses: Record<string, number> = {};
  let errors = 0;
  const started = performance.now();
  const until = started + opts.durationMs;
  const sockets: Socket[] = [];
  const limit = opts.count ?? Infinity;
  let sent = 0;
  const send = (sock: Socket) => {
    if (performance.now() < until && sent < limit) {
      sent++;
      sock.write(request);
    } else sock.end();
  };

  return new Promise((resolve) => {
    let open = opts.connections;
    const closed = () => {
      if (--open === 0) resolve({ statuses, errors, elapsedMs: performance.now() - started });
    };
    for (let i = 0; i < opts.connections; i++) {
      const sock = connect({ host: opts.host, port: opts.port, noDelay: true });
      sockets.push(sock);
      let buf: Buffer = Buffer.alloc(0);
      sock.on('connect', () => send(sock));
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (let r = completeResponse(buf); r; r = completeResponse(buf)) {
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          buf = buf.subarray(r.length);
          send(sock);
        }
      });
      sock.on('error', () => errors++);
      sock.on('close', closed);
    }
  });
}
