/**
 * Fuzz of the API on Node (issue #9 item 10): generated requests to every route the
 * app serves (read from `app.routes`), with valid-ish and hostile bodies, headers,
 * paths and methods, against a real redis-server. No answer is a 5xx, every error is
 * `{"error":{"code","message","field"?}}` as JSON, streams are streams, nothing is
 * logged at error level, no promise is left rejected, and afterwards the API still
 * works and no event stream keeps polling Redis. FUZZ_SEED=<seed> replays a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { DEFAULT_API_CONFIG } from '../api/deps';
import { DASHBOARD_ASSETS } from '../api/dashboard/assets';
import { createSpawnerClient } from '../api/spawner-client';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys } from '../core/keys';
import { createLogger } from '../core/logger';
import { apiRequestArb, apiStreams, type ApiFuzzTarget, withLiveJobs } from './fuzz/api-target';
import { fetchSender } from './fuzz/send';
import { formatStats } from './fuzz/property';
import { CONTRACT_METRICS_JOB, LOG_JOBS, seedContractRedis } from './helpers/contract-seed';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { runFuzzInNode } from './fuzz/unhandled';

const PREFIX = 'fuzz-api';
const TOKEN = 'fuzz-api-token';
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = Number(process.env.FUZZ_RUNS ?? 500);

let server: RedisServer;
let app: ReturnType<typeof createApp>;
const errorLines: string[] = [];
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  server = await startRedis();
  const redis = server.client();
  await seedContractRedis(redis, PREFIX);
  const keys = createKeys(PREFIX);
  const now = Date.now();
  await redis.sadd(keys.workers(), 'node-fuzz0001');
  await redis.hset(keys.worker('node-fuzz0001'), {
    worker_id: 'node-fuzz0001', worker_type: 'node', process_id: 4242, status: 'idle', created_at: now, last_activity: now,
    job_count: 0, max_jobs: 16, working_directory: '/tmp', host: 'h1', rss_bytes: 50_000_000, last_heartbeat: now,
  });
  app = createApp({
    redis: createIoredisPort(redis),
    keys,
    spawner: createSpawnerClient({ url: undefined, token: undefined }),
    config: { ...DEFAULT_API_CONFIG, apiToken: TOKEN },
    now: Date.now,
    newId: () => crypto.randomUUID(),
    logger: createLogger({ component: 'api', now: Date.now, write: (line, level) => level === 'error' && errorLines.push(line) }),
  });
});
afterAll(async () => {
  await server?.stop();
});

async function submitOne(): Promise<string> {
  const res = await app.request('/jobs', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ function: 'echo', input: { n: 1 } }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

/** Commands Redis has served so far (INFO stats). */
async function commandsServed(): Promise<number> {
  const info = await server.client().info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

describe('API fuzz on Node (every route, generated input)', () => {
  it('answers every generated request without a 5xx, with well-formed errors and streams', async () => {
    const queued = await submitOne();
    const doc = (await (await app.request('/openapi.json')).json()) as ApiFuzzTarget['doc'];
    let seenErrors = 0;
    const { stats, late } = await runFuzzInNode({
      arb: apiRequestArb({
        app, doc, jobIds: [queued, LOG_JOBS.done, LOG_JOBS.running, CONTRACT_METRICS_JOB], workerIds: ['node-fuzz0001'],
        assetNames: Object.keys(DASHBOARD_ASSETS), goodAuth: [auth.authorization], maxBodyChars: DEFAULT_API_CONFIG.maxBodyBytes / 4, framingWithoutBody: true,
      }),
      send: withLiveJobs(fetchSender((r) => app.request(r)), submitOne),
      numRuns: runs,
      seed,
      secrets: [TOKEN],
      streams: apiStreams,
      after: () => {
        const fresh = errorLines.slice(seenErrors);
        seenErrors = errorLines.length;
        return fresh.length ? [`logged at error level: ${fresh.join(' | ').slice(0, 500)}`] : [];
      },
    });
    console.log(formatStats('api (node)', stats));
    expect(stats.requests).toBe(runs);
    expect(stats.classes['5xx']).toBe(0);
    // the run reached the handlers, not only the guards in front of them
    expect(stats.classes['2xx']).toBeGreaterThan(10);
    expect(late).toEqual([]);
  });

  it('still serves ordinary requests afterwards, and no abandoned event stream keeps polling Redis', async () => {
    const id = await submitOne();
    const job = await app.request(`/jobs/${id}`, { headers: auth });
    expect(job.status).toBe(200);
    expect(((await app.request('/health')).status)).toBe(200);
    // streams the fuzz left (including HEAD requests, whose stream nobody reads) have stopped reading Redis
    await new Promise((r) => setTimeout(r, 300));
    const before = await commandsServed();
    await new Promise((r) => setTimeout(r, 500));
    const after = await commandsServed();
    expect(after - before - 1, 'Redis commands issued while the API was idle').toBeLessThan(3);
  });

  it('HEAD on a streaming route answers the stream headers and leaves nothing polling', async () => {
    const id = await submitOne();
    for (const path of [`/jobs/${id}/events`, `/jobs/${id}/logs?follow=true`]) {
      const res = await app.request(path, { method: 'HEAD', headers: auth });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/event-stream/);
      expect(await res.text(), path).toBe('');
    }
    await new Promise((r) => setTimeout(r, 300));
    const before = await commandsServed();
    await new Promise((r) => setTimeout(r, 500));
    // each abandoned stream polled ~20 times a second before the fix
    expect((await commandsServed()) - before - 1, 'Redis commands after two HEAD requests').toBeLessThan(3);
  });
});
