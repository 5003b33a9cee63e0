/**
 * Issue #9, the REST gateway is no root shell: off unless asked for, its own token,
 * only the commands and Lua scripts the API uses, keys under the configured prefix,
 * one database, and a per-request timeout. Real redis-server, real spawner.
 */
import { createHash, randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { Redis as IoRedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../core/keys';
import * as lua from '../core/lua/scripts';
import type { LuaScript } from '../core/redis-port';
import { createUpstashClient, createUpstashPort } from '../core/upstash-port';
import { loadSpawnerConfig } from '../spawner/config';
import { createRedisGateway, type RedisGateway } from '../spawner/redis-gateway';
import { GATEWAY_COMMANDS, GATEWAY_SCRIPTS } from '../spawner/redis-gateway-allow-list';
import { mountRedisGateway } from '../spawner/redis-gateway-mount';
import { freePort, type RedisServer, startRedis } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const TOKEN = `gw-${randomUUID()}`;
const PREFIX = 'sec';
const keys = createKeys(PREFIX);
let redis: RedisServer;
let io: IoRedis;
let gw: RedisGateway;
const closers: (() => unknown)[] = [];

async function call(path: string, body: unknown, g: RedisGateway = gw) {
  const res = await g.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { error?: string; code?: string } & unknown };
}

/** Arguments of enqueue-job for a job with this id (as core/job-store.ts builds them). */
function enqueueArgs(id: string, key = keys.job(id)): (string | number)[] {
  const k = [key, keys.queue('node'), keys.notify('node'), keys.all(), keys.byStatus('queued'), keys.seq(), keys.types(), keys.events(), keys.idempotency('-'), keys.workersOfType('node'), keys.expiring()];
  const a = [id, 'node', 'function', 'null', Date.now(), '{"maxlen":1000,"default_max_attempts":3,"default_ttl_ms":0}', 'timeout_ms', '60000'];
  return [k.length, ...k, ...a];
}

beforeAll(async () => {
  redis = await startRedis();
  io = new IoRedis(redis.url, { protocol: 2 });
  gw = createRedisGateway({ connect: () => new IoRedis(redis.url, { protocol: 2 }), token: TOKEN, prefix: PREFIX });
  closers.push(() => gw.close());
  for (const s of GATEWAY_SCRIPTS) await io.script('LOAD', s.script.source);
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  io?.disconnect();
  await redis?.stop();
});

describe('the allow-list', () => {
  it('is the commands and scripts of the API, written down once', () => {
    expect(GATEWAY_COMMANDS).toEqual(['eval', 'evalsha', 'hgetall', 'ping', 'smembers', 'xrange']);
    expect(GATEWAY_SCRIPTS.map((s) => s.script.name).sort()).toEqual(['cancel-job', 'enqueue-job', 'events-tail', 'list-jobs', 'probe-write', 'read-job-logs', 'type-counts']);
  });

  it("knows every ARGV of the API's scripts that names a key or channel prefix (from the scripts' headers)", () => {
    for (const { script, argvPrefixes } of GATEWAY_SCRIPTS) {
      // the header's ARGV section: one '  name  description' line per ARGV[i], in order
      const section = /\nARGV:(?: none)?\n((?: {2}[^\n]*\n)*)/.exec(script.source)?.[1] ?? '';
      const entries = section.split('\n').filter((line) => /^ {2}\S/.test(line));
      const documented = entries.flatMap((line, i) => (/prefix/i.test(line) ? [i + 1] : []));
      expect({ script: script.name, argvPrefixes: [...argvPrefixes] }).toEqual({ script: script.name, argvPrefixes: documented });
    }
  });
});

describe('refusals: 4xx naming what was refused, nothing run', () => {
  const outside = '{other}:x';
  const cases: [body: unknown[], status: number, code: string, names: string][] = [
    [['eval', "return redis.call('flushall')", 0], 403, 'SCRIPT_NOT_ALLOWED', "command 'eval'"],
    [['eval', `${lua.enqueueJob.source} `, ...enqueueArgs('x')], 403, 'SCRIPT_NOT_ALLOWED', "command 'eval'"],
    [['evalsha', 'f'.repeat(40), 0], 403, 'SCRIPT_NOT_ALLOWED', "command 'evalsha'"],
    [['evalsha', lua.claimJob.sha, 0], 403, 'SCRIPT_NOT_ALLOWED', "command 'evalsha'"], // Kiln's, but not the API's
    [['flushall'], 403, 'COMMAND_NOT_ALLOWED', "command 'flushall'"],
    [['FLUSHALL', 'ASYNC'], 403, 'COMMAND_NOT_ALLOWED', "command 'flushall'"],
    [['flushdb'], 403, 'COMMAND_NOT_ALLOWED', "command 'flushdb'"],
    [['config', 'set', 'maxmemory', '1'], 403, 'COMMAND_NOT_ALLOWED', "command 'config'"],
    [['keys', '*'], 403, 'COMMAND_NOT_ALLOWED', "command 'keys'"],
    [['scan', 0], 403, 'COMMAND_NOT_ALLOWED', "command 'scan'"],
    [['select', 1], 403, 'COMMAND_NOT_ALLOWED', "command 'select'"],
    [['swapdb', 0, 1], 403, 'COMMAND_NOT_ALLOWED', "command 'swapdb'"],
    [['move', keys.types(), 1], 403, 'COMMAND_NOT_ALLOWED', "command 'move'"],
    [['blpop', keys.notify('node'), 0], 403, 'COMMAND_NOT_ALLOWED', "command 'blpop'"],
    [['xread', 'BLOCK', 0, 'STREAMS', keys.events(), '$'], 403, 'COMMAND_NOT_ALLOWED', "command 'xread'"],
    [['debug', 'sleep', 0], 403, 'COMMAND_NOT_ALLOWED', "command 'debug'"],
    [['script', 'flush'], 403, 'COMMAND_NOT_ALLOWED', "command 'script'"],
    [['client', 'kill', 'type', 'normal'], 403, 'COMMAND_NOT_ALLOWED', "command 'client'"],
    [['multi'], 403, 'COMMAND_NOT_ALLOWED', "command 'multi'"],
    [['subscribe', 'ch'], 403, 'COMMAND_NOT_ALLOWED', "command 'subscribe'"],
    [['shutdown'], 403, 'COMMAND_NOT_ALLOWED', "command 'shutdown'"],
    [['set', keys.types(), 'x'], 403, 'COMMAND_NOT_ALLOWED', "command 'set'"],
    [['del', keys.types()], 403, 'COMMAND_NOT_ALLOWED', "command 'del'"],
    [['hgetall', outside], 403, 'KEY_NOT_ALLOWED', `key "${outside}" of command 'hgetall'`],
    [['hgetall', '{sec2}:types'], 403, 'KEY_NOT_ALLOWED', 'key "{sec2}:types"'],
    [['smembers', 'sec:workers'], 403, 'KEY_NOT_ALLOWED', 'key "sec:workers"'],
    [['xrange', outside, '-', '+', 'COUNT', 1], 403, 'KEY_NOT_ALLOWED', `key "${outside}" of command 'xrange'`],
    [['evalsha', lua.enqueueJob.sha, ...enqueueArgs('x', outside)], 403, 'KEY_NOT_ALLOWED', `key "${outside}" of command 'evalsha'`],
    [['eval', lua.enqueueJob.source, ...enqueueArgs('x', outside)], 403, 'KEY_NOT_ALLOWED', `key "${outside}" of command 'eval'`],
    // list-jobs reads job hashes at ARGV[4] .. id: a prefix there is a key too
    [['evalsha', lua.listJobs.sha, 1, keys.all(), '+inf', 10, '', '{other}:job:'], 403, 'KEY_NOT_ALLOWED', 'key "{other}:job:"'],
    [['evalsha', lua.listJobs.sha, 1, keys.all(), '+inf', 10, ''], 403, 'KEY_NOT_ALLOWED', 'key ""'],
    [['evalsha', lua.listJobs.sha, '-1', keys.all()], 400, 'BAD_COMMAND', 'numkeys'],
    [['evalsha', lua.listJobs.sha, 5, keys.all()], 400, 'BAD_COMMAND', 'numkeys'],
    [['xrange', keys.events(), '-', '+'], 400, 'BAD_COMMAND', 'xrange'],
    [['xrange', keys.events(), '-', '+', 'COUNT', 1_000_000], 400, 'BAD_COMMAND', 'xrange'],
    [['hgetall', keys.types(), outside], 400, 'BAD_COMMAND', "'hgetall'"],
  ];

  const labelled = cases.map((c) => [JSON.stringify(c[0]).slice(0, 70), ...c] as const);
  it.each(labelled)('%s → %i %s', async (_label, body, status, code, names) => {
    const res = await call('/', body);
    expect(res).toEqual({ status, body: { error: expect.stringContaining(names), code } });
    expect(res.body.error).toMatch(/^ERR .*(KILN_PREFIX|directly|numkeys|COUNT n|the Kiln API sends)/);
  });

  it('left Redis as it was: data, config and database', async () => {
    await io.set('canary', '1');
    const before = { size: await io.dbsize(), maxmemory: await io.config('GET', 'maxmemory') };
    for (const [body] of cases) await call('/', body);
    expect({ size: await io.dbsize(), maxmemory: await io.config('GET', 'maxmemory') }).toEqual(before);
    expect(await io.get('canary')).toBe('1');
    expect(await io.exists(keys.job('x'))).toBe(0);
  });

  it('a pipeline or transaction with one refused command is refused whole, before any of it runs', async () => {
    for (const path of ['/pipeline', '/multi-exec']) {
      const id = `whole-${randomUUID()}`;
      const res = await call(path, [['evalsha', lua.enqueueJob.sha, ...enqueueArgs(id)], ['flushall']]);
      expect(res).toEqual({ status: 403, body: { error: expect.stringContaining("command 2: command 'flushall' is not allowed"), code: 'COMMAND_NOT_ALLOWED' } });
      const outside = await call(path, [['ping'], ['evalsha', lua.enqueueJob.sha, ...enqueueArgs(id)], ['hgetall', 'elsewhere']]);
      expect(outside).toEqual({ status: 403, body: { error: expect.stringContaining('command 3: key "elsewhere"'), code: 'KEY_NOT_ALLOWED' } });
      expect(await io.exists(keys.job(id))).toBe(0);
      // the same batch without the refused command runs
      expect((await call(path, [['evalsha', lua.enqueueJob.sha, ...enqueueArgs(id)], ['ping']])).status).toBe(200);
      expect(await io.hget(keys.job(id), 'status')).toBe('queued');
    }
  });

  it('through @upstash/redis and the port: an arbitrary script is refused, not retried as EVAL', async () => {
    // a real HTTP server: the SDK speaks fetch
    const app = new Hono().route('/redis', gw.app);
    const httpPort = await freePort();
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: httpPort });
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const real = createUpstashPort(createUpstashClient({ url: `http://127.0.0.1:${httpPort}/redis`, token: TOKEN, retry: false }));
    const source = `redis.call('set', KEYS[1], 'pwned') return 1 -- ${randomUUID()}`;
    const rogue: LuaScript = { name: 'rogue', sha: 'a'.repeat(40), source };
    await expect(real.runScript(rogue, [keys.job('rogue')], [])).rejects.toThrow(/command 'evalsha' of script "a{40}" is not allowed/);
    const rogueSha: LuaScript = { name: 'rogue', sha: createHash('sha1').update(source).digest('hex'), source };
    await expect(real.runScript(rogueSha, [keys.job('rogue')], [])).rejects.toThrow(/not allowed through the REST gateway/);
    expect(await io.exists(keys.job('rogue'))).toBe(0);
    expect(await real.hgetall(keys.job('missing'))).toEqual({}); // and it still serves the API
  });
});

describe('per-request timeout', () => {
  it('a command held by Redis answers 504 within ~2 s, and the requests after it do not wait behind it', async () => {
    const admin = new IoRedis(redis.url);
    closers.push(() => admin.disconnect());
    const id = `slow-${randomUUID()}`;
    // Writes (scripts included) wait for 5 s; reads from other connections are served.
    await admin.call('CLIENT', 'PAUSE', '5000', 'WRITE');
    try {
      const t0 = performance.now();
      const slow = await call('/', ['evalsha', lua.enqueueJob.sha, ...enqueueArgs(id)]);
      const slowMs = performance.now() - t0;
      expect(slow).toEqual({ status: 504, body: { error: expect.stringMatching(/^ERR command 'evalsha' got no reply from Redis within 2000 ms/), code: 'REDIS_TIMEOUT' } });
      expect(slowMs).toBeGreaterThanOrEqual(1900);
      expect(slowMs).toBeLessThan(3500); // the pause lasts 5 s

      // The shared connection still holds the paused script; the gateway moved on to a new one.
      const t1 = performance.now();
      const read = await call('/', ['hgetall', keys.job(id)]);
      expect(read).toEqual({ status: 200, body: { result: [] } });
      expect(performance.now() - t1).toBeLessThan(1500);
      const pipe = await call('/pipeline', [['ping'], ['smembers', keys.workers()]]);
      expect(pipe).toEqual({ status: 200, body: [{ result: 'PONG' }, { result: [] }] });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
    // A timed-out command may still run: the paused script ran once Redis resumed.
    const until = Date.now() + 5000;
    while ((await io.exists(keys.job(id))) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await io.hget(keys.job(id), 'status')).toBe('queued');
  });
});

describe('configuration: KILN_REDIS_GATEWAY, its token, one database', () => {
  const base = () => ({ REDIS_URL: redis.url, KILN_PREFIX: PREFIX, KILN_STATE_DIR: join(redis.dir, `state-${randomUUID()}`) });

  it('is off by default and on with KILN_REDIS_GATEWAY=on; bad values are refused at start', () => {
    expect(loadSpawnerConfig(base()).redisGateway).toEqual({ enabled: false, token: undefined, timeoutMs: 1000 }); // KILN_REDIS_TIMEOUT_MS's default
    expect(loadSpawnerConfig({ ...base(), KILN_REDIS_GATEWAY: 'on', KILN_REDIS_GATEWAY_TIMEOUT_MS: '500' }).redisGateway).toEqual({ enabled: true, token: undefined, timeoutMs: 500 });
    expect(() => loadSpawnerConfig({ ...base(), KILN_REDIS_GATEWAY: 'maybe' })).toThrow(/KILN_REDIS_GATEWAY=maybe/);
    expect(() => loadSpawnerConfig({ ...base(), KILN_REDIS_GATEWAY: 'on', KILN_REDIS_GATEWAY_TOKEN: 'same', SPAWNER_TOKEN: 'same' })).toThrow(/KILN_REDIS_GATEWAY_TOKEN must differ from SPAWNER_TOKEN/);
    expect(() => loadSpawnerConfig({ ...base(), KILN_REDIS_GATEWAY_TIMEOUT_MS: '0' })).toThrow(/KILN_REDIS_GATEWAY_TIMEOUT_MS/);
  });

  it('KILN_REDIS_GATEWAY_TOKEN is its token; the database is the one REDIS_URL names, no other', async () => {
    await io.select(3);
    await io.hset(keys.types(), 'in-db-3', '{}');
    await io.select(0);
    await io.hset(keys.types(), 'in-db-0', '{}');
    const config = loadSpawnerConfig({ ...base(), REDIS_URL: `${redis.url}/3`, KILN_REDIS_GATEWAY: 'on', KILN_REDIS_GATEWAY_TOKEN: TOKEN });
    const app = new Hono();
    const mounted = mountRedisGateway(app, config, { log: () => {}, spawnerToken: 'spawner' });
    closers.push(() => mounted.close());
    expect(mounted.token).toBe(TOKEN);
    expect(existsSync(join(config.stateDir, 'redis-gateway.token'))).toBe(false);
    const res = await app.request('/redis', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(['hgetall', keys.types()]) });
    expect(await res.json()).toEqual({ result: ['in-db-3', '{}'] });
    const select = await app.request('/redis/pipeline', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify([['select', 0], ['hgetall', keys.types()]]) });
    expect(select.status).toBe(403);
    expect(() => mountRedisGateway(new Hono(), config, { log: () => {}, spawnerToken: TOKEN })).toThrow(/must differ from the spawner token/);
  });
});

describe('on a spawner', () => {
  let off: System;
  let on: System;
  const types = { node: { framework: 'node', version: '20', min_workers: 0, max_workers: 1 } } as const;

  beforeAll(async () => {
    off = await startSystem(redis, { types });
    on = await startSystem(redis, { types, env: { KILN_REDIS_GATEWAY: 'on' } });
  });
  afterAll(async () => {
    await off?.stop();
    await on?.stop();
  });

  const post = (url: string, token: string | undefined, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });

  it('off by default: /redis/* is 404 saying how to turn it on, whatever the token', async () => {
    expect(off.spawner.gatewayToken).toBeUndefined();
    expect(existsSync(join(off.stateDir, 'redis-gateway.token'))).toBe(false);
    for (const [path, token] of [['/redis', off.spawner.token], ['/redis/pipeline', off.spawner.token], ['/redis/multi-exec', undefined]] as const) {
      const res = await post(`${off.spawner.url}${path}`, token, [['ping']]);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: expect.stringContaining('KILN_REDIS_GATEWAY=on'), code: 'REDIS_GATEWAY_OFF' });
    }
    const get = await fetch(`${off.spawner.url}/redis/anything`);
    expect(get.status).toBe(404);
  });

  it('on: its own generated token (0600 file); the spawner token does not open it, and its token opens nothing else', async () => {
    const gatewayToken = on.spawner.gatewayToken!;
    const file = join(on.stateDir, 'redis-gateway.token');
    expect(readFileSync(file, 'utf8').trim()).toBe(gatewayToken);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(gatewayToken).not.toBe(on.spawner.token);

    const gateway = `${on.spawner.url}/redis`;
    const ok = await post(`${gateway}/pipeline`, gatewayToken, [['hgetall', createKeys(on.prefix).types()]]);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([{ result: expect.arrayContaining(['node']) }]);
    const withSpawnerToken = await post(`${gateway}/pipeline`, on.spawner.token, [['ping']]);
    expect(withSpawnerToken.status).toBe(401);
    expect(await withSpawnerToken.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    // keys of another prefix on the same Redis are out of reach
    const other = await post(gateway, gatewayToken, ['hgetall', createKeys(off.prefix).types()]);
    expect(other.status).toBe(403);

    const ensure = (token: string) => post(`${on.spawner.url}/workers/ensure/node`, token, {});
    expect((await ensure(gatewayToken)).status).toBe(401);
    const allowed = await ensure(on.spawner.token);
    expect(allowed.status).toBeLessThan(300);
    const metrics = await fetch(`${on.spawner.url}/metrics`, { headers: { authorization: `Bearer ${gatewayToken}` } });
    expect(metrics.status).toBe(401);
  });
});
