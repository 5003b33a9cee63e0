/**
 * Sends a generated request over real HTTP on loopback with node:http (keep-alive),
 * exactly as generated: any method, a body on any method, any Host header. An event
 * stream is read for a moment and the connection then dropped, as a client leaving.
 */
import { Agent, request } from 'node:http';
import type { FuzzAnswer } from '../tests/fuzz/check';
import type { FuzzRequest } from '../tests/fuzz/http-arb';
import type { Sender } from '../tests/fuzz/send';

export function httpSender(base: string, opts: { streamMs?: number; timeoutMs?: number } = {}): Sender & { close(): void } {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const streamMs = opts.streamMs ?? 150;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const send = (req: FuzzRequest) =>
    new Promise<FuzzAnswer>((resolve, reject) => {
      const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
      const headers: Record<string, string> = { ...req.headers, ...(body && { 'content-length': String(body.length) }) };
      const r = request({ host: url.hostname, port: url.port, method: req.method, path: url.pathname.replace(/\/$/, '') + req.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        const answer = (cut: boolean): FuzzAnswer => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
          return { status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8'), cut };
        };
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => resolve(answer(true)));
        if (/^text\/event-stream/i.test(String(res.headers['content-type'] ?? ''))) {
          const t = setTimeout(() => {
            resolve(answer(true));
            r.destroy();
          }, streamMs);
          res.on('end', () => {
            clearTimeout(t);
            resolve(answer(false));
          });
          return;
        }
        res.on('end', () => resolve(answer(false)));
      });
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      r.on('error', reject);
      r.end(body);
    });
  return Object.assign(send, { close: () => agent.destroy() });
}
