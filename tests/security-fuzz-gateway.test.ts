/**
 * Fuzz of the Redis REST gateway (issue #9 item 10) against a redis-server of its own:
 * generated commands, pipelines, transactions and hostile bodies. No 5xx (Redis is up),
 * errors are Upstash's `{"error":"…"}` as JSON, successes speak the protocol, and the
 * shared connection still answers afterwards. FUZZ_SEED replays a failure.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisGateway } from '../spawner/redis-gateway';
import { gatewayEndpoints, gatewayRequestArb, gatewaySuccessProblems } from './fuzz/gateway-target';
import { printable } from './fuzz/http-arb';
import { formatStats } from './fuzz/property';
import { fetchSender } from './fuzz/send';
import { runFuzzInNode } from './fuzz/unhandled';
import { startRedis, type RedisServer } from './helpers/redis-server';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = Number(process.env.FUZZ_RUNS ?? 500);
const TOKEN = 'fuzz-gateway-token';

let server: RedisServer;
let redis: Redis;
let gateway: ReturnType<typeof createRedisGateway>;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { protocol: 2, maxRetriesPerRequest: 1 });
  gateway = createRedisGateway({ connect: () => new Redis(server.url, { protocol: 2, maxRetriesPerRequest: 1 }), token: TOKEN, prefix: 'fuzz' });
});
afterAll(async () => {
  redis?.disconnect();
  await gateway?.close();
  await server?.stop();
});

describe('Redis REST gateway fuzz', () => {
  it('answers every generated command and body without a 5xx, in the Upstash protocol', async () => {
    const { stats, late } = await runFuzzInNode({
      arb: gatewayRequestArb({ endpoints: gatewayEndpoints(gateway.app, ''), tokens: [TOKEN], mount: '' }),
      send: fetchSender((r) => gateway.app.request(r)),
      numRuns: runs,
      seed,
      secrets: [TOKEN],
      errorShapes: () => ['gateway'],
      after: (req, ans) => gatewaySuccessProblems(req, ans, ''),
    });
    console.log(formatStats('gateway', stats));
    expect(gatewayEndpoints(gateway.app, '')).toEqual(expect.arrayContaining(['/', '/pipeline', '/multi-exec']));
    expect(stats.requests).toBe(runs);
    expect(stats.classes['5xx']).toBe(0);
    expect(stats.classes['2xx']).toBeGreaterThan(10);
    expect(late).toEqual([]);
    // the one shared connection is still usable: nothing blocked it or changed its state
    const res = await gateway.app.request('/', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(['ping']) });
    expect(await res.json()).toEqual({ result: 'PONG' });
  });

  it('refuses a command named __proto__ with a 400 (it crashed the process through ioredis)', async () => {
    const post = (path: string, body: unknown) =>
      gateway.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    const { stats, late } = await runFuzzInNode({
      arb: fc.constantFrom(['/', ['__proto__']], ['/', ['__PROTO__', 'x']], ['/pipeline', [['__proto__'], ['ping']]], ['/multi-exec', [['ping'], ['__proto__']]])
        .map(([path, body]) => printable({ route: `POST ${String(path)}`, method: 'POST', path: String(path), headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) })),
      send: fetchSender((r) => gateway.app.request(r)),
      numRuns: 8,
      errorShapes: () => ['gateway'],
    });
    expect(stats.statuses).toEqual({ 400: 8 });
    expect(late).toEqual([]);
    expect(await (await post('/', ['__proto__'])).json()).toEqual({ error: expect.stringContaining('is not a command name'), code: 'BAD_REQUEST' });
    expect(await (await post('/', ['ping'])).json()).toEqual({ result: 'PONG' });
  });
});
