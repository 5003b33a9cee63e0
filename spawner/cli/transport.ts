/**
 * The CLI's HTTP transport, on node:http(s) rather than fetch: fetch loads
 * undici, whose WebAssembly parser V8 keeps compiling in the background and
 * finishes at exit — about 40 ms more to the first output and 100 ms more to
 * the exit of every one-shot command (measured: see bench/cli-start.ts).
 */
import type { IncomingMessage } from 'node:http';

export interface TransportResponse {
  status: number;
  contentType: string;
  /** The body as chunks (an event stream is read this way). */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  /** Drops the rest of the body and its connection. */
  cancel(): void;
}

export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export type Transport = (url: string, req: TransportRequest) => Promise<TransportResponse>;

function wrap(res: IncomingMessage): TransportResponse {
  return {
    status: res.statusCode ?? 0,
    contentType: String(res.headers['content-type'] ?? ''),
    body: res,
    async text() {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    cancel: () => res.destroy(),
  };
}

export const nodeTransport: Transport = async (url, req) => {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise<TransportResponse>((resolve, reject) => {
    const r = request(url, { method: req.method, headers: req.headers, signal: req.signal }, (res) => resolve(wrap(res)));
    r.once('error', reject);
    r.end(req.body);
  });
};
