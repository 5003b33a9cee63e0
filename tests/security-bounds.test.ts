/**
 * Bounded work per request (issue #9, item 4) and the browser guards (item 5) on
 * Node: the HTTP servers' timeouts and connection cap, aborted requests, the bind
 * refusal without a token, SSE stream caps, lifetimes and their reads of the
 * events stream, and a payload too deep for any runner. The API contract suite
 * (both runtimes) covers 415, JSON_TOO_DEEP, summaries and the Host guard.
 */
import { jobRecordSettings } from '../core/config';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { DEFAULT_API_CONFIG } from '../api/deps';
import { startApiServer } from '../api/node';
import { createSpawnerClient } from '../api/spawner-client';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { jsonTextDepth, jsonValueDepth } from '../core/json-depth';
import { createKeys } from '../core/keys';
import { createLogger } from '../core/logger';
import type { RedisPort } from '../core/redis-port';
import { createRedisGateway } from '../spawner/redis-gateway';
import { waitFor } from './helpers/api';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem } from './helpers/system';

let redis: RedisServer;
let prefixes = 0;
const prefix = () => `bounds${process.pid}x${++prefixes}`;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** An API server on a free port with a logger that keeps its lines. */
async function apiServer(env: Record<string, string> = {}) {
  const lines: { level: string; line: string }[] = [];
  const logger = createLogger({ component: 'api', level: 'debug', now: Date.now, write: (line, level) => lines.push({ level, line }) });
  const port = await freePort();
  const p = prefix();
  const api = startApiServer({ REDIS_URL: redis.url, API_PORT: String(port), KILN_PREFIX: p, WORKER_MANAGER_URL: '', ...env }, logger);
  await api.listening;
  return { ...api, port, lines, prefix: p };
}

/** Sockets that send part of a request's headers and then nothing. */
function idleSockets(port: number, n: number): { sockets: Socket[]; closed: () => number } {
  let closed = 0;
  const sockets = Array.from({ length: n }, () => {
    const s = connect(port, '127.0.0.1', () => s.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
    s.on('error', () => {});
    s.on('close', () => closed++);
    s.resume(); // read what the server sends (a 408), so its close is seen
    return s;
  });
  return { sockets, closed: () => closed };
}

async function healthOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.status === 200 || res.status === 503;
  } catch {
    return false;
  }
}

const SLOW_CLIENT_KNOBS = {
  KILN_HTTP_HEADERS_TIMEOUT_MS: '400', KILN_HTTP_REQUEST_TIMEOUT_MS: '800', KILN_HTTP_KEEPALIVE_TIMEOUT_MS: '300', KILN_HTTP_MAX_CONNECTIONS: '20',
};

describe('Node HTTP servers: timeouts and a connection cap', () => {
  it('the API drops connections past its cap at once and half-sent ones after the headers timeout; clients get in', async () => {
    const api = await apiServer(SLOW_CLIENT_KNOBS);
    const idle = idleSockets(api.port, 40);
    try {
      // past the cap of 20: closed by the server at once, not held open
      await waitFor('the connections past the cap to be dropped', async () => idle.closed() >= 20, 3000);
      // the rest never finish their headers: closed after the 400 ms headers timeout
      await waitFor('every half-sent connection to be closed', async () => idle.closed() === 40, 5000);
      await waitFor('a normal request to succeed', () => healthOk(api.url), 5000);
    } finally {
      for (const s of idle.sockets) s.destroy();
      await api.close();
    }
  });

  it('the spawner holds the same limits (KILN_HTTP_*)', async () => {
    const sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20' } }, env: SLOW_CLIENT_KNOBS });
    try {
      expect(sys.config.http).toEqual({ headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300, maxConnections: 20 });
      const port = Number(new URL(sys.spawner.url).port);
      const idle = idleSockets(port, 40);
      try {
        await waitFor('every idle connection to the spawner to be closed', async () => idle.closed() === 40, 6000);
        await waitFor('a normal request to the spawner to succeed', () => healthOk(sys.spawner.url), 5000);
      } finally {
        for (const s of idle.sockets) s.destroy();
      }
    } finally {
      await sys.stop();
    }
  });

  it('an aborted request is logged at debug, not as an error', async () => {
    const api = await apiServer();
    try {
      const s = connect(api.port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write('POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"function":');
      await new Promise((r) => setTimeout(r, 100)); // the API reads the body when the client goes
      s.destroy();
      await waitFor('the abort to be logged', async () => api.lines.some((l) => l.line.includes('request aborted by the client')), 5000);
      expect(api.lines.filter((l) => l.level === 'error').map((l) => l.line)).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

describe('binding without a token', () => {
  it('refuses a non-loopback API_HOST without KILN_API_TOKEN, with a clear error; a token allows it', async () => {
    expect(() => startApiServer({ REDIS_URL: redis.url, API_HOST: '0.0.0.0', API_PORT: '1' })).toThrow(/API_HOST=0\.0\.0\.0 is not a loopback address.*KILN_API_TOKEN/);
    expect(() => startApiServer({ REDIS_URL: redis.url, API_HOST: '192.0.2.1', API_PORT: '1' })).toThrow(/KILN_API_TOKEN/);
    // with a token the guard lets it through (192.0.2.1 is TEST-NET: the bind itself fails, nothing listens outside loopback)
    const withToken = startApiServer({ REDIS_URL: redis.url, API_HOST: '192.0.2.1', API_PORT: String(await freePort()), KILN_API_TOKEN: 't0ken' });
    await expect(withToken.listening).rejects.toThrow(/EADDRNOTAVAIL|address/i);
    await withToken.close().catch(() => undefined);
    // the entry prints one line and exits 1
    const run = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'api.mjs')], {
      env: { PATH: process.env.PATH, REDIS_URL: redis.url, API_HOST: '0.0.0.0', API_PORT: '1' }, encoding: 'utf8', timeout: 10_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^kiln api: API_HOST=0\.0\.0\.0 is not a loopback address/);
  });
});

describe('SSE: a cap, a lifetime, and reads near the job', () => {
  /** Reads an SSE response until it ends, or until `stop` says so. */
  type Sse = { event: string; id?: string; data: string };
  /** Reads an SSE response until it ends; `events` fills as they come. */
  async function readEvents(res: Response, events: Sse[] = []) {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const id = field('id');
        events.push({ event: field('event') ?? 'message', ...(id !== undefined && { id }), data: field('data') ?? '' });
      }
    }
    return events;
  }

  it('past KILN_SSE_MAX_STREAMS a stream is 429 with Retry-After; a closed stream frees its slot', async () => {
    const api = await apiServer({ KILN_SSE_MAX_STREAMS: '2' });
    try {
      const post = (body: unknown) => fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const id = ((await (await post({ worker_type: 'tensorflow', payload: {} })).json()) as { job_id: string }).job_id;
      const a = new AbortController();
      const b = new AbortController();
      const first = await fetch(`${api.url}/jobs/${id}/events`, { signal: a.signal });
      const second = await fetch(`${api.url}/jobs/${id}/logs?follow=true`, { signal: b.signal });
      expect([first.status, second.status]).toEqual([200, 200]);
      const third = await fetch(`${api.url}/jobs/${id}/events`);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('5');
      expect(((await third.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'TOO_MANY_STREAMS', message: expect.stringContaining('KILN_SSE_MAX_STREAMS') });
      expect((await fetch(`${api.url}/jobs/${id}/logs?follow=true`)).status).toBe(429);
      expect((await fetch(`${api.url}/jobs/${id}/logs`)).status).toBe(200); // a page of logs is no stream
      a.abort();
      await waitFor('the slot to be freed', async () => {
        const again = await fetch(`${api.url}/jobs/${id}/events`);
        await again.body?.cancel();
        return again.status === 200;
      }, 5000);
      b.abort();
    } finally {
      await api.close();
    }
  });

  it('a stream ends after KILN_SSE_MAX_LIFETIME_S with a reconnect event; Last-Event-ID goes on from there', async () => {
    const api = await apiServer({ KILN_SSE_MAX_LIFETIME_S: '1' });
    const store = createJobStore(createIoredisPort(redis.client()), { keys: createKeys(api.prefix), ...jobRecordSettings({}) });
    try {
      const res = await fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ worker_type: 'tensorflow', payload: {} }) });
      const id = ((await res.json()) as { job_id: string }).job_id;
      const t0 = Date.now();
      const first = await readEvents(await fetch(`${api.url}/jobs/${id}/events`));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(first.map((e) => e.event)).toEqual(['status', 'reconnect']);
      const reconnect = first.at(-1)!;
      expect(reconnect.id).toMatch(/^\d+-\d+$/);
      expect(JSON.parse(reconnect.data)).toMatchObject({ job_id: id, reason: expect.stringContaining('Last-Event-ID') });
      // the job ends while nobody listens; the resumed stream sends that, not the past again
      const job = await store.get(id);
      await store.cancel(job!, 'cancelled by the test', Date.now());
      const resumed = await readEvents(await fetch(`${api.url}/jobs/${id}/events`, { headers: { 'last-event-id': reconnect.id! } }));
      expect(resumed.map((e) => [e.event, e.event === 'status' ? JSON.parse(e.data).status : undefined])).toEqual([['status', 'cancelled'], ['end', undefined]]);
      // the log follow ends the same way
      const logs = await readEvents(await fetch(`${api.url}/jobs/${(await store.enqueue({ id: `log-${id}`, type: 'tensorflow', kind: 'generic', payload: {}, priority: 0, maxAttempts: 1, timeoutMs: 0, now: Date.now(), typeCheck: 'default' }) as { id: string }).id}/logs?follow=true`));
      expect(logs.map((e) => e.event)).toEqual(['reconnect']);
    } finally {
      await api.close();
    }
  });

  it("reads at most ~1,000 entries of the events stream for an old job, none for a finished one, and follows the job's new events", async () => {
    const p = prefix();
    const keys = createKeys(p);
    const client = redis.client();
    const real = createIoredisPort(client);
    let entriesRead = 0;
    const counting: RedisPort = {
      ...real,
      async xrangeAfter(key, after, count) {
        const rows = await real.xrangeAfter(key, after, count);
        entriesRead += rows.length;
        return rows;
      },
    };
    const app = createApp({
      redis: counting, keys, spawner: createSpawnerClient({ url: undefined, token: undefined }), config: { ...DEFAULT_API_CONFIG, ssePollMs: 100 }, now: Date.now, newId: () => crypto.randomUUID(),
    });
    const store = createJobStore(real, { keys, ...jobRecordSettings({}) });
    const enqueue = (id: string) => store.enqueue({ id, type: 'tensorflow', kind: 'generic', payload: {}, priority: 0, maxAttempts: 1, timeoutMs: 0, now: Date.now() - 60_000, typeCheck: 'default' });
    await enqueue('old-job');
    await enqueue('old-done');
    // the stream fills with other jobs' events after them
    const tx = client.multi();
    for (let i = 0; i < 5000; i++) tx.xadd(keys.events(), '*', 'job', `other-${i}`, 'status', 'queued', 'ts', String(Date.now()));
    await tx.exec();
    await store.cancel((await store.get('old-done'))!, 'done', Date.now());

    entriesRead = 0;
    const finished = await (await app.request('/jobs/old-done/events')).text();
    expect(finished).toContain('"status":"cancelled"');
    expect(finished).toContain('event: end');
    expect(entriesRead).toBe(0);

    entriesRead = 0;
    const res = await app.request('/jobs/old-job/events');
    const got: Sse[] = [];
    const reading = readEvents(res, got);
    // its own queued event from the stream, then (the rest lying too far back) its record
    await waitFor('the stream to start from the record', async () => got.length >= 2);
    await store.cancel((await store.get('old-job'))!, 'cancelled by the test', Date.now());
    await reading;
    expect(got.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status)).toEqual(['queued', 'queued', 'cancelled']);
    expect(got.at(-1)?.event).toBe('end');
    expect(entriesRead).toBeLessThan(1100); // of 5,000+: never the whole stream
  });
});

describe('JSON depth', () => {
  it('counts nesting outside strings, iteratively, and stops past the limit', () => {
    expect(jsonTextDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonTextDepth('"[[[[\\"[["')).toBe(0);
    expect(jsonTextDepth('['.repeat(1_000_000))).toBe(65);
    expect(jsonValueDepth({ a: [1, { b: [] }] })).toBe(4);
    expect(jsonValueDepth(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)))).toBe(65);
    expect(jsonValueDepth('text')).toBe(0);
  });

  it("the spawner's REST gateway refuses a body nested deeper than 64 with a 400 (before Redis sees it)", async () => {
    const gw = createRedisGateway({ connect: () => new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, protocol: 2 }), token: 'gw-token', prefix: 'bounds' });
    const post = async (path: string, body: string) => {
      const res = await gw.app.request(path, { method: 'POST', headers: { authorization: 'Bearer gw-token', 'content-type': 'application/json' }, body });
      return { status: res.status, body: (await res.json()) as { error?: string } };
    };
    for (const path of ['/', '/pipeline', '/multi-exec']) {
      const r = await post(path, `[${'['.repeat(4000)}${']'.repeat(4000)}]`);
      expect(r.status, path).toBe(400);
      expect(r.body.error, path).toContain('more than 64 levels deep');
    }
    gw.close();
  });

  it('a payload too deep for any runner fails once, not retried, and the worker goes on', async () => {
    const sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20' } } });
    try {
      const store = createJobStore(createIoredisPort(sys.redis), { keys: createKeys(sys.prefix), ...jobRecordSettings({}) });
      // written to Redis directly: no API accepts it
      const deep = JSON.parse(`{"function":"echo","input":${'['.repeat(2000)}${']'.repeat(2000)}}`) as unknown;
      await store.enqueue({ id: 'too-deep', type: 'node', kind: 'function', payload: deep, priority: 0, maxAttempts: 3, timeoutMs: 0, now: Date.now(), typeCheck: 'default' });
      const failed = await sys.waitFor('the deep job to fail', async () => {
        const j = await store.get('too-deep');
        return j?.status === 'failed' && j;
      }, 30_000);
      expect(failed.attempts).toBe(1);
      expect(failed.error).toMatchObject({ type: 'payload_too_deep', message: expect.stringContaining('64 levels') });
      const ok = (await sys.request('POST', '/jobs', { function: 'echo', input: { after: true } })).body.job_id as string;
      const done = await sys.waitFor('a normal job on the same worker', async () => {
        const j = await sys.job(ok);
        return j.status === 'succeeded' && j;
      });
      expect(done.result).toEqual({ after: true });
    } finally {
      await sys.stop();
    }
  });
});
