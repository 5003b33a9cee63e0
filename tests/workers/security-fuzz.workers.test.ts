/**
 * Fuzz of the API inside workerd (issue #9 item 10): the same generated requests as
 * on Node (tests/fuzz/api-target.ts) through api/worker.ts's fetch, which reaches
 * Redis through the REST gateway of tests/helpers/edge-global-setup.ts. No 5xx,
 * well-formed errors, streams are streams. FUZZ_SEED / FUZZ_RUNS (passed as bindings
 * by vitest.config.ts) replay a failure.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker, { type WorkerEnv } from '../../api/worker';
import { DASHBOARD_ASSETS } from '../../api/dashboard/assets';
import { createApp } from '../../api/app';
import { apiConfigFromEnv } from '../../api/deps';
import { createSpawnerClient } from '../../api/spawner-client';
import { createKeys } from '../../core/keys';
import { createUpstashClient, createUpstashPort } from '../../core/upstash-port';
import { apiRequestArb, apiStreams, type ApiFuzzTarget, withLiveJobs } from '../fuzz/api-target';
import { formatStats, runFuzz } from '../fuzz/property';
import { fetchSender } from '../fuzz/send';

const PREFIX = 'fuzz-edge';
const TOKEN = 'fuzz-edge-token';
const bindings = env as WorkerEnv & { FUZZ_SEED?: string; FUZZ_RUNS?: string };
const base: WorkerEnv = { ...bindings, KILN_PREFIX: PREFIX, KILN_API_TOKEN: TOKEN };
const seed = bindings.FUZZ_SEED ? Number(bindings.FUZZ_SEED) : undefined;
const runs = Number(bindings.FUZZ_RUNS || 250);
const auth = { authorization: `Bearer ${TOKEN}` };

/** Redis commands through the gateway the worker itself uses (setup only). */
async function redis(commands: unknown[][]): Promise<void> {
  const res = await fetch(`${bindings.UPSTASH_REDIS_REST_URL}/pipeline`, {
    method: 'POST', headers: { authorization: `Bearer ${bindings.UPSTASH_REDIS_REST_TOKEN}` }, body: JSON.stringify(commands),
  });
  expect(res.status).toBe(200);
}

async function submitOne(): Promise<string> {
  const res = await worker.fetch(new Request('http://localhost/jobs', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ function: 'echo', input: { n: 1 } }) }), base);
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

/** The app api/worker.ts builds, over the same bindings: its `routes` are what the worker serves. */
function routesApp() {
  return createApp({
    redis: createUpstashPort(createUpstashClient({ url: bindings.UPSTASH_REDIS_REST_URL!, token: bindings.UPSTASH_REDIS_REST_TOKEN! })),
    keys: createKeys(PREFIX),
    spawner: createSpawnerClient({ url: undefined, token: undefined }),
    config: apiConfigFromEnv({ KILN_API_TOKEN: TOKEN }),
    now: Date.now,
    newId: () => crypto.randomUUID(),
  });
}

let doc: ApiFuzzTarget['doc'];
let done: string;

beforeAll(async () => {
  const keys = createKeys(PREFIX);
  const now = Date.now();
  await redis([
    ['hset', keys.types(), 'node', '{}', 'sklearn', '{}', 'pytorch-2.1', '{}', 'pytorch-2.1-gpu', '{}', 'tensorflow', '{}'],
    ['hset', keys.hosts(), 'gpu-host', JSON.stringify({ gpus: 1, gpus_free: 1, heartbeat: now + 3_600_000 })],
    ['sadd', keys.workers(), 'node-edge0001'],
    ['hset', keys.worker('node-edge0001'), 'worker_id', 'node-edge0001', 'worker_type', 'node', 'process_id', '4242', 'status', 'idle', 'created_at', String(now),
      'last_activity', String(now), 'job_count', '0', 'max_jobs', '16', 'working_directory', '/tmp', 'host', 'h1', 'rss_bytes', '50000000', 'last_heartbeat', String(now)],
  ]);
  doc = (await (await worker.fetch(new Request('http://localhost/openapi.json'), base)).json()) as ApiFuzzTarget['doc'];
  // a finished job, for routes that read one to its end
  done = await submitOne();
  const cancelled = await worker.fetch(new Request(`http://localhost/jobs/${done}/cancel`, { method: 'POST', headers: auth }), base);
  expect(cancelled.status).toBe(200);
});

describe('API fuzz in workerd (every route, generated input)', () => {
  it('answers every generated request without a 5xx, with well-formed errors and streams', async () => {
    const queued = await submitOne();
    const stats = await runFuzz({
      arb: apiRequestArb({
        app: routesApp(),
        doc, jobIds: [queued, done], workerIds: ['node-edge0001'], assetNames: Object.keys(DASHBOARD_ASSETS), goodAuth: [auth.authorization],
        maxBodyChars: 256 * 1024,
        framingWithoutBody: true,
      }),
      send: withLiveJobs(fetchSender((r) => worker.fetch(r, base)), submitOne),
      numRuns: runs,
      seed,
      secrets: [TOKEN, bindings.UPSTASH_REDIS_REST_TOKEN ?? ''],
      streams: apiStreams,
    });
    console.log(formatStats('api (workerd)', stats));
    expect(stats.requests).toBe(runs);
    expect(stats.classes['5xx']).toBe(0);
    expect(stats.classes['2xx']).toBeGreaterThan(5);
    const health = await worker.fetch(new Request('http://localhost/health'), base);
    expect(health.status).toBe(200);
  });
});
