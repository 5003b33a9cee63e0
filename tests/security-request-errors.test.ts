/**
 * Requests the Node adapter cannot turn into a web Request — a Host header a URL
 * cannot hold, a backslash in the path — never reach the app; the API's and the
 * spawner's servers still answer them with Kiln's JSON error (found by the fuzz:
 * they were empty 400s). Raw sockets, so the request goes out exactly as written.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../api/node';
import { createLogger } from '../core/logger';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';

let server: RedisServer;
let api: ReturnType<typeof startApiServer>;
let port: number;

beforeAll(async () => {
  server = await startRedis();
  port = await freePort();
  api = startApiServer(
    { REDIS_URL: server.url, KILN_PREFIX: 'reqerr', API_HOST: '127.0.0.1', API_PORT: String(port), WORKER_MANAGER_URL: 'http://127.0.0.1:9' },
    createLogger({ component: 'api', now: Date.now, write: () => {} }),
  );
  await api.listening;
});
afterAll(async () => {
  await api?.close();
  await server?.stop();
});

/** One raw HTTP/1.1 request; the answer's status, content type and body. */
function raw(head: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const [headers = '', ...rest] = data.split('\r\n\r\n');
      resolve({
        status: Number(headers.slice(9, 12)),
        type: /\r\ncontent-type:\s*([^\r]*)/i.exec(headers)?.[1] ?? '',
        body: rest.join('\r\n\r\n'),
      });
    });
  });
}

describe('requests the adapter refuses', () => {
  it.each([
    ['a Host with characters a URL cannot hold', 'GET /health HTTP/1.1\r\nHost: a|b'],
    ['a Host with a space', 'GET /jobs HTTP/1.1\r\nHost: local host'],
    ['a backslash in the path', 'GET /jobs\\x HTTP/1.1\r\nHost: localhost'],
  ])('%s: a JSON 400 in the error shape', async (_what, head) => {
    const res = await raw(head);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/json/);
    const body = JSON.parse(res.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n$/g, '')) as { error: { code: string; message: string } };
    expect(body).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringContaining('the request could not be read') } });
  });

  it('an ordinary request still reaches the app', async () => {
    const res = await raw('GET /nope HTTP/1.1\r\nHost: localhost');
    expect(res.status).toBe(404);
    expect(res.body).toContain('NOT_FOUND');
  });
});
