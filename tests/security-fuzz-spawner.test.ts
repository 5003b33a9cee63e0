/**
 * Fuzz of the spawner's HTTP server (issue #9 item 10): the real daemon (startSpawner)
 * over loopback HTTP, every route its app serves (control API, worker logs, metrics,
 * the REST gateway under /redis), generated input. No 5xx, well-formed errors, log
 * follows are streams, no error logged by a route, and the daemon still answers.
 * Starts are bounded: the one worker type has max_workers 1. FUZZ_SEED replays.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerTypeConfigSchema } from '../core/schemas/worker-type';
import { loadSpawnerConfig } from '../spawner/config';
import { startSpawner, type SpawnerHandle } from '../spawner/daemon';
import fc from 'fast-check';
import { printable } from './fuzz/http-arb';
import { formatStats } from './fuzz/property';
import { fetchSender } from './fuzz/send';
import { spawnerErrorShapes, spawnerRequestArb, spawnerStreams, withLiveWorker } from './fuzz/spawner-target';
import { runFuzzInNode } from './fuzz/unhandled';
import { waitFor } from './helpers/api';
import { startRedis, type RedisServer } from './helpers/redis-server';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = Number(process.env.FUZZ_RUNS ?? 200);
const GATEWAY_TOKEN = 'fuzz-gateway-token';

let server: RedisServer;
let spawner: SpawnerHandle;
let stateDir: string;
const logs: string[] = [];

beforeAll(async () => {
  server = await startRedis();
  stateDir = mkdtempSync(join(tmpdir(), 'kiln-fuzz-spawner-'));
  const base = loadSpawnerConfig({
    REDIS_URL: server.url, KILN_PREFIX: 'fuzz-spawner', KILN_STATE_DIR: stateDir, SPAWNER_PORT: '0', KILN_GPUS: 'none',
    // the gateway's own switch and token (issue #9 item 3), where the daemon knows them
    KILN_REDIS_GATEWAY: 'on', KILN_REDIS_GATEWAY_TOKEN: GATEWAY_TOKEN,
  });
  const types = { node: workerTypeConfigSchema.parse({ framework: 'node', version: '20', max_workers: 1, max_jobs: 4, idle_timeout: 2 }) };
  spawner = await startSpawner({ ...base, types, reconcileMs: 200, heartbeatMs: 500, killGraceMs: 500, drainGraceMs: 1000, hostId: 'fuzz-host' }, (level, m) => logs.push(`${level} ${m}`));
}, 30_000);
afterAll(async () => {
  await spawner?.stop(1000);
  await server?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('spawner fuzz (control API, worker logs, metrics, gateway mount)', () => {
  it('answers every generated request without a 5xx, with well-formed errors and streams', async () => {
    // a worker that runs, so that stop, logs and follow meet a live one
    const started = await fetch(`${spawner.url}/workers/start/node`, { method: 'POST', headers: { authorization: `Bearer ${spawner.token}` } });
    expect(started.status).toBe(201);
    let seenLogs = logs.length;
    const { stats, late } = await runFuzzInNode({
      arb: spawnerRequestArb({
        app: spawner.app, token: spawner.token, types: ['node'], workerIds: ['node-00000000'],
        framingWithoutBody: false, maxBodyChars: 256 * 1024,
      }),
      send: withLiveWorker(fetchSender(fetch, { base: spawner.url }), () => [...spawner.supervisor.workers.keys()][0]),
      numRuns: runs,
      seed,
      secrets: [spawner.token],
      errorShapes: spawnerErrorShapes,
      streams: spawnerStreams,
      after: () => {
        const fresh = logs.slice(seenLogs).filter((l) => l.startsWith('error') && /unhandled/.test(l));
        seenLogs = logs.length;
        return fresh.length ? [`the spawner logged: ${fresh.join(' | ').slice(0, 500)}`] : [];
      },
    });
    console.log(formatStats('spawner', stats));
    expect(stats.requests).toBe(runs);
    expect(stats.classes['5xx']).toBe(0);
    expect(stats.classes['2xx']).toBeGreaterThan(5);
    expect(late).toEqual([]);
    const health = await fetch(`${spawner.url}/health`);
    expect(health.status).toBe(200);
  });

  it('answers unknown paths with a JSON 404, HEAD on a log follow leaves no follower, and a worker record of type "constructor" does not break /workers/status', async () => {
    const token = { authorization: `Bearer ${spawner.token}` };
    const unknown = await fetch(`${spawner.url}/no/such/path`, { headers: token });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('no route GET /no/such/path') } });

    const live = [...spawner.supervisor.workers.keys()][0] ?? (await (await fetch(`${spawner.url}/workers/start/node`, { method: 'POST', headers: token })).json() as { worker_id: string }).worker_id;
    const head = await fetch(`${spawner.url}/workers/${live}/logs?follow=true`, { method: 'HEAD', headers: token });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor('the HEAD request to leave no log follower', async () => spawner.workerLogs.following.size === 0, 5000);

    const keys = spawner.keys;
    const now = Date.now();
    await spawner.redis.sadd(keys.workers(), 'constructor-0001');
    await spawner.redis.hset(keys.worker('constructor-0001'), {
      worker_id: 'constructor-0001', worker_type: 'constructor', process_id: 1, status: 'starting', created_at: now, last_activity: now,
      job_count: 0, max_jobs: 1, working_directory: '/tmp', host: 'elsewhere', last_heartbeat: now,
    });
    const status = await fetch(`${spawner.url}/workers/status`, { headers: token });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { workers_by_type: Record<string, number> }).workers_by_type.constructor).toBeGreaterThanOrEqual(1); // the fuzz may have started one (issue #9 item 8)
  });

  it('POST /workers/stop with a grace_ms past what a timer holds still drains (no timer overflow)', async () => {
    const token = { authorization: `Bearer ${spawner.token}` };
    const live = [...spawner.supervisor.workers.keys()][0] ?? ((await (await fetch(`${spawner.url}/workers/start/node`, { method: 'POST', headers: token })).json()) as { worker_id: string }).worker_id;
    const { stats, late } = await runFuzzInNode({
      arb: fc.constant(printable({ route: 'POST /workers/stop/:id', method: 'POST', path: `/workers/stop/${live}?grace_ms=1e308`, headers: token })),
      send: fetchSender(fetch, { base: spawner.url }),
      numRuns: 1,
    });
    expect(stats.statuses).toEqual({ 200: 1 });
    expect(late).toEqual([]);
  });
});
