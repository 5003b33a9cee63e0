/**
 * The Upstash-compatible REST gateway's protocol against a real redis-server,
 * driven by the real @upstash/redis client and by raw HTTP, and the Upstash
 * RedisPort over it. Only the commands the API uses pass (see
 * tests/security-gateway.test.ts for what is refused), so these tests speak them.
 */
import { jobRecordSettings } from '../core/config';
import { randomUUID } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Redis as UpstashRedis } from '@upstash/redis/cloudflare';
import { Hono } from 'hono';
import { Redis as IoRedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { readJobLogs } from '../core/job-logs';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import * as lua from '../core/lua/scripts';
import type { RedisPort } from '../core/redis-port';
import { createUpstashClient, createUpstashPort, type UpstashClient } from '../core/upstash-port';
import { createRedisGateway, type RedisGateway } from '../spawner/redis-gateway';
import { freePort, type RedisServer, startRedis } from './helpers/redis-server';

const TOKEN = `tok-${randomUUID()}`;
const PREFIX = 'gw';
let server: RedisServer;
let io: IoRedis;
let http: ServerType;
let baseUrl: string;
let client: UpstashClient;
let port: RedisPort;
const gateways: RedisGateway[] = [];

const k = (name: string) => `{${PREFIX}}:${randomUUID()}:${name}`;

/** One raw request to the mounted gateway. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function gateway(opts: { maxBodyBytes?: number; connect?: () => IoRedis } = {}): RedisGateway {
  const g = createRedisGateway({ connect: opts.connect ?? (() => new IoRedis(server.url, { protocol: 2 })), token: TOKEN, prefix: PREFIX, ...(opts.maxBodyBytes && { maxBodyBytes: opts.maxBodyBytes }) });
  gateways.push(g);
  return g;
}

beforeAll(async () => {
  server = await startRedis();
  io = new IoRedis({ port: server.port, host: '127.0.0.1', protocol: 2 });
  const app = new Hono();
  app.route('/redis', gateway().app);
  app.route('/small', gateway({ maxBodyBytes: 64 }).app);
  const httpPort = await freePort();
  await new Promise<void>((resolve) => {
    http = serve({ fetch: app.fetch, port: httpPort, hostname: '127.0.0.1' }, () => resolve());
  });
  baseUrl = `http://127.0.0.1:${httpPort}/redis`;
  client = createUpstashClient({ url: baseUrl, token: TOKEN, retry: false });
  port = createUpstashPort(client);
});

afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  for (const g of gateways) g.close();
  io?.disconnect();
  await server?.stop();
});

const tricky = ['test', 'user', 'abcd', '123', 'true', 'null', 'OK', 'T0s=', '', 'héllo ✓ 🚀', '{"a":1}', '1e400'];

describe('values through @upstash/redis and the port', () => {
  it('hgetall: strings that look like base64, numbers or JSON come back unchanged; the raw client sees a flat array, the port an object', async () => {
    const key = k('hash');
    const fields = Object.fromEntries(tricky.map((v, i) => [`f${i}`, v]));
    await io.hset(key, fields);
    const flat = (await client.hgetall(key)) as unknown;
    expect(Array.isArray(flat)).toBe(true);
    expect(await port.hgetall(key)).toEqual(fields);
    expect(await port.hgetall(k('missing'))).toEqual({});
    expect(await port.hgetallMany([key, k('missing')])).toEqual([fields, {}]);
    expect(await port.hgetallMany([])).toEqual([]);
  });

  it('smembers and ping', async () => {
    const set = k('set');
    await io.sadd(set, '1', 'abcd', 'null');
    expect((await port.smembers(set)).sort()).toEqual(['1', 'abcd', 'null']);
    await expect(port.ping()).resolves.toBeUndefined();
    expect(await client.ping()).toBe('PONG');
    for (const v of tricky) expect(await client.ping([v])).toBe(v);
  });

  it('gateway replies are raw: hgetall is a flat base64 array, integers stay numbers, nested arrays stay nested', async () => {
    const key = k('raw');
    await io.hset(key, 'a', 'test');
    const enc = await post('', ['hgetall', key], { 'upstash-encoding': 'base64' });
    expect(enc).toEqual({ status: 200, body: { result: [b64('a'), b64('test')] } });
    const plain = await post('', ['hgetall', key]);
    expect(plain.body).toEqual({ result: ['a', 'test'] });
    expect((await post('', ['ping'], { 'upstash-encoding': 'base64' })).body).toEqual({ result: b64('PONG') });
    // JSON numbers and booleans become strings
    expect((await post('', ['ping', 42.5])).body).toEqual({ result: '42.5' });
    expect((await post('', ['ping', true])).body).toEqual({ result: 'true' });
    // a Kiln script's reply: strings, integers and nested arrays (type-counts)
    const keys = createKeys(PREFIX);
    await io.hset(keys.types(), 'node', '{}');
    await io.script('LOAD', lua.typeCounts.source);
    const again = await post('', ['evalsha', lua.typeCounts.sha, 2, keys.types(), keys.delayed(), keys.queue(''), keys.workersOfType(''), keys.active(''), keys.jobPrefix, 10], { 'upstash-encoding': 'base64' });
    expect(again).toEqual({ status: 200, body: { result: [b64('node'), 0, 0, 0] } });
    const job = k('job');
    await io.hset(job, 'status', 'running');
    const logs = k('logs');
    await io.xadd(logs, '1-1', 's', 'stdout', 't', 'abcd');
    await io.script('LOAD', lua.readJobLogs.source);
    expect((await post('', ['evalsha', lua.readJobLogs.sha, 2, job, logs, '0-0', 10])).body).toEqual({ result: ['running', '0', ['1-1', ['s', 'stdout', 't', 'abcd']]] });
  });
});

describe('pipeline and multi-exec', () => {
  it('a pipeline answers every entry in order, errors per entry', async () => {
    const str = k('s');
    await io.set(str, 'x');
    const hash = k('h');
    await io.hset(hash, 'f', 'abcd');
    const p = client.pipeline();
    p.hgetall(str); // WRONGTYPE
    p.ping(['abcd']);
    p.hgetall(hash);
    const res = await p.exec({ keepErrors: true });
    expect(res.map((r) => r.result)).toEqual([undefined, 'abcd', ['f', 'abcd']]);
    expect(res.map((r) => r.error)).toEqual([expect.stringMatching(/^WRONGTYPE/), undefined, undefined]);

    expect(await post('/pipeline', [['ping', 'a'], ['hgetall', str], ['smembers', k('none')]])).toEqual({
      status: 200,
      body: [{ result: 'a' }, { error: expect.stringMatching(/^WRONGTYPE/) }, { result: [] }],
    });
    expect(await post('/pipeline', [])).toEqual({ status: 200, body: [] });
  });

  it('auto-pipelined commands of one tick share one request', async () => {
    const counter = () => (client as unknown as { pipelineCounter: number }).pipelineCounter;
    await client.ping();
    const before = counter();
    const got = await Promise.all(['a', 'b', 'c'].map((v) => client.ping([v])));
    expect(got).toEqual(['a', 'b', 'c']);
    expect(counter() - before).toBe(1);
  });

  it('multi-exec runs as one transaction; a runtime error fails only its entry', async () => {
    const hash = k('tx');
    await io.hset(hash, 'n', '1');
    const tx = client.multi();
    tx.hgetall(hash);
    tx.ping(['x']);
    expect(await tx.exec()).toEqual([['n', '1'], 'x']);

    const str = k('txs');
    await io.set(str, 'a');
    const mixed = await post('/multi-exec', [['ping', 'a'], ['hgetall', str], ['hgetall', hash]]);
    expect(mixed).toEqual({ status: 200, body: [{ result: 'a' }, { error: expect.stringMatching(/^WRONGTYPE/) }, { result: ['n', '1'] }] });
    expect(await post('/multi-exec', [])).toEqual({ status: 200, body: [] });
  });
});

describe('request errors', () => {
  it('Redis errors come back as 400 with the Redis message, which the port reads (NOSCRIPT)', async () => {
    const key = k('wrong');
    await io.set(key, 'x');
    expect(await post('', ['hgetall', key])).toEqual({ status: 400, body: { error: expect.stringMatching(/^WRONGTYPE/), code: 'REDIS_ERROR' } });
    await io.script('FLUSH');
    const keys = createKeys(PREFIX);
    expect(await post('', ['evalsha', lua.readJobLogs.sha, 2, keys.job('x'), keys.logs('x'), '0-0', 1])).toEqual({
      status: 400, body: { error: expect.stringMatching(/^NOSCRIPT/), code: 'REDIS_ERROR' },
    });
  });

  it('requires the bearer token', async () => {
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of variants) {
      const res = await fetch(`${baseUrl}/pipeline`, { method: 'POST', headers, body: '[["ping"]]' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: expect.stringContaining('Bearer'), code: 'UNAUTHORIZED' });
    }
    const bad = createUpstashClient({ url: baseUrl, token: 'nope', retry: false });
    await expect(bad.ping()).rejects.toThrow(/Unauthorized/);
  });

  it('other paths and methods are 404 naming what it serves', async () => {
    for (const [method, path] of [['GET', ''], ['POST', '/nope'], ['PUT', '/pipeline'], ['GET', '/set/a/b']] as const) {
      const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: expect.stringContaining('POST /pipeline'), code: 'NOT_FOUND' });
    }
  });

  it('answers bad bodies with 400 and big ones with 413', async () => {
    const badReq = (text: string) => ({ status: 400, body: { error: expect.stringContaining(text), code: 'BAD_REQUEST' } });
    expect(await post('', '{not json')).toEqual(badReq('not valid JSON'));
    expect(await post('', { cmd: 'ping' })).toEqual(badReq('JSON array'));
    expect(await post('', [])).toEqual(badReq('non-empty'));
    expect(await post('', [['ping']])).toEqual(badReq('/pipeline'));
    expect(await post('', ['ping', { a: 1 }])).toEqual(badReq('strings, numbers or booleans'));
    expect(await post('', ['ping', null])).toEqual(badReq('strings, numbers or booleans'));
    expect(await post('/pipeline', ['ping', 'a'])).toEqual(badReq('command 1'));
    expect(await post('/multi-exec', 'null')).toEqual(badReq('JSON array of commands'));

    // declared Content-Length, chunked over HTTP, and a stream without a length (app.request)
    const big = JSON.stringify(['ping', 'x'.repeat(100)]);
    const smallUrl = baseUrl.replace(/\/redis$/, '/small');
    const auth = { authorization: `Bearer ${TOKEN}` };
    const chunked = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let i = 0; i < text.length; i += 16) ctl.enqueue(new TextEncoder().encode(text.slice(i, i + 16)));
          ctl.close();
        },
      });
    const tooLarge = { error: expect.stringContaining('limit of 64 bytes'), code: 'BODY_TOO_LARGE' };
    const viaLength = await fetch(smallUrl, { method: 'POST', headers: auth, body: big });
    expect({ status: viaLength.status, body: await viaLength.json() }).toEqual({ status: 413, body: tooLarge });
    const viaChunks = await fetch(smallUrl, { method: 'POST', headers: auth, body: chunked(big), duplex: 'half' } as RequestInit);
    expect({ status: viaChunks.status, body: await viaChunks.json() }).toEqual({ status: 413, body: tooLarge });
    const okChunks = await fetch(smallUrl, { method: 'POST', headers: auth, body: chunked('["ping","a chunked body of 41 bytes"]'), duplex: 'half' } as RequestInit);
    expect(await okChunks.json()).toEqual({ result: 'a chunked body of 41 bytes' });

    const small = gateway({ maxBodyBytes: 64 });
    const res = await small.app.request('/', { method: 'POST', headers: auth, body: big });
    expect(res.status).toBe(413);
    // standalone (not mounted), the same app serves POST /
    const ok = await small.app.request('/', { method: 'POST', headers: auth, body: '["ping"]' });
    expect(await ok.json()).toEqual({ result: 'PONG' });
  });

  it('says 503 when Redis cannot be reached, per entry in a pipeline, without Redis internals', async () => {
    const deadPort = await freePort();
    const gw = gateway({ connect: () => new IoRedis({ port: deadPort, host: '127.0.0.1', protocol: 2, lazyConnect: true, enableOfflineQueue: false }) });
    const call = async (path: string, body: unknown) => {
      const res = await gw.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const message = expect.stringMatching(/^ERR the gateway could not get an answer from Redis; the spawner log has the details$/);
    expect(await call('/', ['ping'])).toEqual({ status: 503, body: { error: message, code: 'REDIS_UNAVAILABLE' } });
    expect(await call('/pipeline', [['ping'], ['ping']])).toEqual({ status: 200, body: [{ error: message }, { error: message }] });
    expect(await call('/multi-exec', [['ping']])).toEqual({ status: 503, body: { error: message, code: 'REDIS_UNAVAILABLE' } });
  });

  it('refuses to start without a token or with a RESP3 connection', () => {
    expect(() => createRedisGateway({ connect: () => new IoRedis(server.url, { protocol: 2, lazyConnect: true }), token: '', prefix: PREFIX })).toThrow(/token/);
    expect(() => createRedisGateway({ connect: () => new IoRedis(server.url, { lazyConnect: true }), token: TOKEN, prefix: PREFIX })).toThrow(/protocol: 2/);
  });
});

describe('the Upstash port', () => {
  it('runScript uses EVALSHA and falls back to EVAL on NOSCRIPT, for a Kiln script', async () => {
    const keys = createKeys(PREFIX);
    await io.hset(keys.job('logs-1'), 'status', 'succeeded', 'log_cut', '2');
    await io.script('FLUSH');
    expect(await io.script('EXISTS', lua.readJobLogs.sha)).toEqual([0]);
    const want = ['succeeded', '2'];
    expect(await port.runScript(lua.readJobLogs, [keys.job('logs-1'), keys.logs('logs-1')], ['0-0', 10])).toEqual(want);
    expect(await io.script('EXISTS', lua.readJobLogs.sha)).toEqual([1]); // EVAL cached it
    expect(await port.runScript(lua.readJobLogs, [keys.job('logs-1'), keys.logs('logs-1')], ['0-0', 10])).toEqual(want);
  });

  it('xrangeAfter is exclusive of afterId and honours count', async () => {
    const key = k('events');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(String(await io.xadd(key, '*', 'n', String(i), 'v', 'null')));
    const after = await port.xrangeAfter(key, ids[0]!, 2);
    expect(after).toEqual([
      { id: ids[1], fields: { n: '1', v: 'null' } },
      { id: ids[2], fields: { n: '2', v: 'null' } },
    ]);
    expect(await port.xrangeAfter(key, ids[3]!, 10)).toEqual([]);
    expect(await port.xrangeAfter(k('nostream'), '0-0', 10)).toEqual([]);
  });

  it('refuses a client that deserializes replies', () => {
    const auto = new UpstashRedis({ url: baseUrl, token: TOKEN, enableTelemetry: false });
    expect(() => createUpstashPort(auto)).toThrow(/automaticDeserialization: false/);
  });

  it("the API's job-store and log reads work over it (workers' writes go over TCP)", async () => {
    const keys = createKeys(PREFIX);
    const store = createJobStore(port, { keys, ...jobRecordSettings({}) });
    const worker = createJobStore(createIoredisPort(io), { keys, ...jobRecordSettings({}) });
    const now = Date.now();
    await io.hset(keys.types(), 'node', '{}');
    const base = { type: 'node', kind: 'function' as const, priority: 0, maxAttempts: 3, timeoutMs: 60_000, now, typeCheck: 'default' as const };
    const a = await store.enqueue({ ...base, id: 'job-a', payload: { input: 'test', n: '123' } });
    const b = await store.enqueue({ ...base, id: 'job-b', payload: null, priority: 5 });
    expect(a).toMatchObject({ created: true, id: 'job-a', seq: 1 });
    expect(b).toMatchObject({ created: true, id: 'job-b', seq: 2 });

    const got = await store.get('job-a');
    expect(got).toMatchObject({ id: 'job-a', status: 'queued', payload: { input: 'test', n: '123' }, attempts: 0 });
    expect(await store.get('nope')).toBeNull();

    const page = await store.list({ limit: 10 });
    expect(page.jobs.map((j) => j.id)).toEqual(['job-b', 'job-a']);
    expect((await store.list({ status: 'queued', limit: 1 })).nextCursor).toBe('2');
    expect(await store.typeCounts()).toEqual({ node: { queued: 2, running: 0, delayed: 0 } });

    const [claimed] = await worker.claim('node', 'w1', now + 1);
    expect(claimed).toMatchObject({ id: 'job-b' });
    expect(await store.get('job-b')).toMatchObject({ status: 'running', worker_id: 'w1', attempts: 1 });
    expect(await store.typeCounts()).toEqual({ node: { queued: 1, running: 0, delayed: 0 } }); // w1 is no live worker of the type
    expect(await readJobLogs(port, keys, 'job-b', { limit: 10 })).toMatchObject({ lines: [] });

    expect(await store.cancel({ id: 'job-a', type: 'node' }, 'test', now + 2)).toEqual({ outcome: 'cancelled' });
    expect(await store.get('job-a')).toMatchObject({ status: 'cancelled' });
    expect(await store.cancel({ id: 'job-b', type: 'node' }, 'test', now + 3)).toEqual({ outcome: 'cancelling', detail: 'w1' });
  });
});
