/**
 * The Upstash-compatible REST gateway against a real redis-server, driven by the
 * real @upstash/redis client and by raw HTTP, and the Upstash RedisPort over it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Redis as UpstashRedis } from '@upstash/redis/cloudflare';
import { Hono } from 'hono';
import { Redis as IoRedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import type { LuaScript, RedisPort } from '../core/redis-port';
import { createUpstashClient, createUpstashPort, type UpstashClient } from '../core/upstash-port';
import { createRedisGateway } from '../spawner/redis-gateway';
import { freePort, type RedisServer, startRedis } from './helpers/redis-server';

const TOKEN = `tok-${randomUUID()}`;
let server: RedisServer;
let io: IoRedis;
let http: ServerType;
let baseUrl: string;
let client: UpstashClient;
let port: RedisPort;

const k = (name: string) => `gw-test:${randomUUID()}:${name}`;

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

beforeAll(async () => {
  server = await startRedis();
  io = new IoRedis({ port: server.port, host: '127.0.0.1', protocol: 2 });
  const app = new Hono();
  app.route('/redis', createRedisGateway({ redis: io, token: TOKEN }));
  app.route('/small', createRedisGateway({ redis: io, token: TOKEN, maxBodyBytes: 64 }));
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
  io?.disconnect();
  await server?.stop();
});

describe('values through @upstash/redis and the port', () => {
  const tricky = ['test', 'user', 'abcd', '123', 'true', 'null', 'OK', 'T0s=', '', 'héllo ✓ 🚀', '{"a":1}', '1e400'];

  it('strings that look like base64, numbers or JSON round-trip unchanged', async () => {
    for (const v of tricky) {
      const key = k('str');
      expect(await client.set(key, v)).toBe('OK');
      expect(await client.get(key)).toBe(v);
      expect(await io.get(key)).toBe(v);
    }
  });

  it('hset/hgetall: the raw client sees a flat array, the port an object of strings', async () => {
    const key = k('hash');
    const fields = Object.fromEntries(tricky.map((v, i) => [`f${i}`, v]));
    expect(await client.hset(key, fields)).toBe(tricky.length);
    const flat = (await client.hgetall(key)) as unknown;
    expect(Array.isArray(flat)).toBe(true);
    expect(await port.hgetall(key)).toEqual(fields);
    expect(await port.hgetall(k('missing'))).toEqual({});
    expect(await port.hgetallMany([key, k('missing')])).toEqual([fields, {}]);
    expect(await port.hgetallMany([])).toEqual([]);
  });

  it('smembers, zcard and ping', async () => {
    const set = k('set');
    await io.sadd(set, '1', 'abcd', 'null');
    expect((await port.smembers(set)).sort()).toEqual(['1', 'abcd', 'null']);
    const zset = k('zset');
    await io.zadd(zset, 1, 'a', 2, 'b');
    expect(await port.zcard(zset)).toBe(2);
    expect(await port.zcard(k('nozset'))).toBe(0);
    await expect(port.ping()).resolves.toBeUndefined();
    expect(await client.ping()).toBe('PONG');
  });

  it('gateway replies are raw: hgetall is a flat base64 array, integers stay numbers, nil is null', async () => {
    const key = k('raw');
    await io.hset(key, 'a', 'test');
    const enc = await post('', ['hgetall', key], { 'upstash-encoding': 'base64' });
    expect(enc).toEqual({ status: 200, body: { result: [b64('a'), b64('test')] } });
    const plain = await post('', ['hgetall', key]);
    expect(plain.body).toEqual({ result: ['a', 'test'] });
    expect((await post('', ['hlen', key], { 'upstash-encoding': 'base64' })).body).toEqual({ result: 1 });
    expect((await post('', ['get', k('none')], { 'upstash-encoding': 'base64' })).body).toEqual({ result: null });
    expect((await post('', ['ping'], { 'upstash-encoding': 'base64' })).body).toEqual({ result: b64('PONG') });
    // JSON numbers and booleans become strings
    expect((await post('', ['set', key + 'n', 42.5])).body).toEqual({ result: 'OK' });
    expect(await io.get(key + 'n')).toBe('42.5');
  });
});

describe('pipeline and multi-exec', () => {
  it('a pipeline answers every entry in order, errors per entry', async () => {
    const str = k('s');
    const p = client.pipeline();
    p.set(str, 'abcd');
    p.incr(k('counter'));
    p.hgetall(str); // WRONGTYPE
    p.get(str);
    const res = await p.exec({ keepErrors: true });
    expect(res.map((r) => r.result)).toEqual(['OK', 1, undefined, 'abcd']);
    expect(res.map((r) => r.error)).toEqual([undefined, undefined, expect.stringMatching(/^WRONGTYPE/), undefined]);

    const raw = await post('/pipeline', [['set', str, 'x'], ['blpop', str, 0], ['lpush', str, 'y'], ['get', str]]);
    expect(raw.status).toBe(200);
    expect(raw.body).toEqual([
      { result: 'OK' },
      { error: expect.stringContaining("ERR command 'blpop' is not allowed through the REST gateway") },
      { error: expect.stringMatching(/^WRONGTYPE/) },
      { result: 'x' },
    ]);
  });

  it('auto-pipelined commands of one tick share one request', async () => {
    const keys = [k('a'), k('b'), k('c')];
    await Promise.all(keys.map((key, i) => client.set(key, `v${i}`)));
    const counter = () => (client as unknown as { pipelineCounter: number }).pipelineCounter;
    const before = counter();
    const got = await Promise.all(keys.map((key) => client.get(key)));
    expect(got).toEqual(['v0', 'v1', 'v2']);
    expect(counter() - before).toBe(1);
  });

  it('multi-exec runs as one transaction', async () => {
    const key = k('tx');
    const tx = client.multi();
    tx.set(key, '1');
    tx.incr(key);
    tx.get(key);
    expect(await tx.exec()).toEqual(['OK', 2, '2']);

    // a runtime error fails only its entry; a queueing error aborts the whole
    const str = k('txs');
    const mixed = await post('/multi-exec', [['set', str, 'a'], ['lpush', str, 'b'], ['append', str, 'c']]);
    expect(mixed.status).toBe(200);
    expect(mixed.body).toEqual([{ result: 'OK' }, { error: expect.stringMatching(/^WRONGTYPE/) }, { result: 2 }]);
    const abort = await post('/multi-exec', [['set', key, 'z'], ['set', key]]);
    expect(abort.status).toBe(400);
    expect(abort.body).toEqual({ error: expect.stringMatching(/^EXECABORT .*wrong number of arguments/) });
    expect(await io.get(key)).toBe('2');
    // a refused command refuses the transaction: nothing ran
    const refused = await post('/multi-exec', [['set', key, 'y'], ['select', 1]]);
    expect(refused).toEqual({ status: 400, body: { error: expect.stringContaining("command 'select' is not allowed") } });
    expect(await io.get(key)).toBe('2');
  });
});

describe('refusals and request errors', () => {
  it('blocking, connection-state and admin commands are refused; xread without BLOCK is served', async () => {
    for (const cmd of [['blpop', 'q', 0], ['BRPOP', 'q', 1], ['subscribe', 'ch'], ['select', 1], ['multi'], ['monitor'], ['flushall'], ['xread', 'BLOCK', 0, 'STREAMS', 's', '$']]) {
      const res = await post('', cmd);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: expect.stringMatching(new RegExp(`^ERR command '${String(cmd[0]).toLowerCase()}' is not allowed through the REST gateway: .+`)) });
    }
    const stream = k('stream');
    await io.xadd(stream, '1-1', 'f', 'v');
    const res = await post('', ['xread', 'COUNT', 1, 'STREAMS', stream, '0']);
    expect(res).toEqual({ status: 200, body: { result: [[stream, [['1-1', ['f', 'v']]]]] } });
    // a key named "block" after STREAMS is not the BLOCK option
    expect((await post('', ['xread', 'STREAMS', 'block', '0'])).status).toBe(200);
    await expect(client.exec(['blpop', 'q', '0'])).rejects.toThrow(/not allowed through the REST gateway/);
  });

  it('redis errors come back as 400 with the redis message', async () => {
    const key = k('wrong');
    await io.set(key, 'x');
    expect(await post('', ['lpush', key, 'y'])).toEqual({ status: 400, body: { error: expect.stringMatching(/^WRONGTYPE/) } });
    expect(await post('', ['evalsha', 'f'.repeat(40), 0])).toEqual({ status: 400, body: { error: expect.stringMatching(/^NOSCRIPT/) } });
  });

  it('requires the bearer token', async () => {
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of variants) {
      const res = await fetch(`${baseUrl}/pipeline`, { method: 'POST', headers, body: '[["ping"]]' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: expect.stringContaining('Bearer') });
    }
    const bad = createUpstashClient({ url: baseUrl, token: 'nope', retry: false });
    await expect(bad.get('x')).rejects.toThrow(/Unauthorized/);
  });

  it('answers bad bodies with 400 and big ones with 413', async () => {
    expect(await post('', '{not json')).toEqual({ status: 400, body: { error: expect.stringContaining('not valid JSON') } });
    expect(await post('', { cmd: 'get' })).toEqual({ status: 400, body: { error: expect.stringContaining('JSON array') } });
    expect(await post('', [])).toEqual({ status: 400, body: { error: expect.stringContaining('non-empty') } });
    expect(await post('', [['get', 'a']])).toEqual({ status: 400, body: { error: expect.stringContaining('/pipeline') } });
    expect(await post('/pipeline', ['get', 'a'])).toEqual({ status: 400, body: { error: expect.stringContaining('command 1') } });
    expect(await post('/multi-exec', 'null')).toEqual({ status: 400, body: { error: expect.stringContaining('JSON array of commands') } });

    // declared Content-Length, chunked over HTTP, and a stream without a length (app.request)
    const big = JSON.stringify(['set', 'k', 'x'.repeat(100)]);
    const smallUrl = baseUrl.replace(/\/redis$/, '/small');
    const auth = { authorization: `Bearer ${TOKEN}` };
    const chunked = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let i = 0; i < text.length; i += 16) ctl.enqueue(new TextEncoder().encode(text.slice(i, i + 16)));
          ctl.close();
        },
      });
    const tooLarge = { error: expect.stringContaining('limit of 64 bytes') };
    const viaLength = await fetch(smallUrl, { method: 'POST', headers: auth, body: big });
    expect({ status: viaLength.status, body: await viaLength.json() }).toEqual({ status: 413, body: tooLarge });
    const viaChunks = await fetch(smallUrl, { method: 'POST', headers: auth, body: chunked(big), duplex: 'half' } as RequestInit);
    expect({ status: viaChunks.status, body: await viaChunks.json() }).toEqual({ status: 413, body: tooLarge });
    const okChunks = await fetch(smallUrl, { method: 'POST', headers: auth, body: chunked('["echo","a chunked body of 41 bytes"]'), duplex: 'half' } as RequestInit);
    expect(await okChunks.json()).toEqual({ result: 'a chunked body of 41 bytes' });

    const small = createRedisGateway({ redis: io, token: TOKEN, maxBodyBytes: 64 });
    const res = await small.request('/', { method: 'POST', headers: auth, body: big });
    expect(res.status).toBe(413);
    // standalone (not mounted), the same app serves POST /
    const ok = await small.request('/', { method: 'POST', headers: auth, body: '["ping"]' });
    expect(await ok.json()).toEqual({ result: 'PONG' });
  });

  it('says 503 when Redis cannot be reached, per entry in a pipeline', async () => {
    const dead = new IoRedis({ port: await freePort(), host: '127.0.0.1', protocol: 2, lazyConnect: true, enableOfflineQueue: false });
    const gw = createRedisGateway({ redis: dead, token: TOKEN });
    const call = async (path: string, body: unknown) => {
      const res = await gw.request(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const unreachable = { error: expect.stringContaining('could not get an answer from Redis') };
    expect(await call('/', ['get', 'a'])).toEqual({ status: 503, body: unreachable });
    expect(await call('/pipeline', [['get', 'a'], ['get', 'b']])).toEqual({ status: 200, body: [unreachable, unreachable] });
    expect(await call('/multi-exec', [['get', 'a']])).toEqual({ status: 503, body: unreachable });
    dead.disconnect();
  });

  it('refuses to start without a token or with a RESP3 connection', () => {
    expect(() => createRedisGateway({ redis: io, token: '' })).toThrow(/token/);
    const resp3 = new IoRedis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
    expect(() => createRedisGateway({ redis: resp3, token: TOKEN })).toThrow(/protocol: 2/);
    resp3.disconnect();
  });
});

describe('the Upstash port', () => {
  it('runScript uses EVALSHA and falls back to EVAL on NOSCRIPT', async () => {
    const source = `-- ${randomUUID()}\nreturn {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1, false, {ARGV[3]}}`;
    const script: LuaScript = { name: 'probe', sha: createHash('sha1').update(source).digest('hex'), source };
    expect(await io.script('EXISTS', script.sha)).toEqual([0]);
    const want = ['k1', 'abcd', 42, null, ['123']];
    expect(await port.runScript(script, ['k1'], ['abcd', 41, '123'])).toEqual(want);
    expect(await io.script('EXISTS', script.sha)).toEqual([1]); // EVAL cached it
    expect(await port.runScript(script, ['k1'], ['abcd', 41, '123'])).toEqual(want);
    const broken: LuaScript = { name: 'broken', sha: 'f'.repeat(40), source: 'return redis.call("lpush")' };
    await expect(port.runScript(broken, [], [])).rejects.toThrow(/Wrong number of args/i);
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

  it('the job store works over it', async () => {
    const keys = createKeys(`t${randomUUID().slice(0, 8)}`);
    const store = createJobStore(port, { keys });
    const now = Date.now();
    const base = { type: 'node', kind: 'function' as const, priority: 0, maxAttempts: 3, timeoutMs: 60_000, now, typeCheck: 'default' as const };
    const a = await store.enqueue({ ...base, id: 'job-a', payload: { input: 'test', n: '123' } });
    const b = await store.enqueue({ ...base, id: 'job-b', payload: null, priority: 5 });
    expect(a).toEqual({ created: true, id: 'job-a', seq: 1, workers: 0 });
    expect(b).toEqual({ created: true, id: 'job-b', seq: 2, workers: 0 });

    const got = await store.get('job-a');
    expect(got).toMatchObject({ id: 'job-a', status: 'queued', payload: { input: 'test', n: '123' }, attempts: 0 });
    expect(await store.get('nope')).toBeNull();

    const page = await store.list({ limit: 10 });
    expect(page.jobs.map((j) => j.id)).toEqual(['job-b', 'job-a']);
    expect((await store.list({ status: 'queued', limit: 1 })).nextCursor).toBe('2');

    const [claimed] = await store.claim('node', 'w1', now + 1);
    expect(claimed).toMatchObject({ id: 'job-b', status: 'running', worker_id: 'w1', attempts: 1 });
    expect(await store.complete('job-b', 'w1', { ok: 'true' }, now + 2)).toBe(true);
    expect(await store.get('job-b')).toMatchObject({ status: 'succeeded', result: { ok: 'true' } });
    expect(await store.complete('job-b', 'w1', null, now + 3)).toBe(false);

    expect(await store.claim('node', 'w1', now + 4, 5)).toMatchObject([{ id: 'job-a' }]);
    expect(await store.claim('node', 'w1', now + 5)).toEqual([]);
  });
});
