/**
 * Fuzz of the API inside workerd (issue #9 item 10): the same generated requests as
 * on Node (tests/fuzz/api-target.ts) through api/workerd.ts's fetch, which reaches
 * Redis through the REST gateway of tests/helpers/edge-global-setup.ts. No 5xx,
 * well-formed errors, streams are streams. FUZZ_SEED / FUZZ_RUNS (passed as bindings
 * by vitest.config.ts) replay a failure.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import workerd, { type WorkerdEnv } from '../../api/workerd';
import { DASHBOARD_ASSETS } from '../../api/dashboard/assets';
import { createApp } from '../../api/app';
import { apiConfigFromEnv } from '../../api/deps';
import { createSpawnerClient } from '../../api/spawner-client';
import { createKeys } from '../../core/keys';
import { createUpstashClient, createUpstashPort } from '../../core/upstash-port';
import { apiRequestArb, apiStreams, type ApiFuzzTarget, withLiveJobs } from '../fuzz/api-target';
import { formatStats, runFuzz } from '../fuzz/property';
import { fetchSender } from '../fuzz/send';

// the REST gateway serves one prefix: the contract suite's, seeded by tests/helpers/edge-global-setup.ts
const PREFIX = 'contract';
const TOKEN = 'fuzz-edge-token';
const bindings = env as WorkerdEnv & { FUZZ_SEED?: string; FUZZ_RUNS?: string };
const base: WorkerdEnv = { ...bindings, KILN_PREFIX: PREFIX, KILN_API_TOKEN: TOKEN };
const seed = bindings.FUZZ_SEED ? Number(bindings.FUZZ_SEED) : undefined;
const runs = Number(bindings.FUZZ_RUNS || 250);
const auth = { authorization: `Bearer ${TOKEN}` };

async function submitOne(): Promise<string> {
  const res = await workerd.fetch(new Request('http://localhost/jobs', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ function: 'echo', input: { n: 1 } }) }), base);
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

/** The app api/workerd.ts builds, over the same bindings: its `routes` are what the workerd entry serves. */
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
  doc = (await (await workerd.fetch(new Request('http://localhost/openapi.json'), base)).json()) as ApiFuzzTarget['doc'];
  // a finished job, for routes that read one to its end
  done = await submitOne();
  const cancelled = await workerd.fetch(new Request(`http://localhost/jobs/${done}/cancel`, { method: 'POST', headers: auth }), base);
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
      send: withLiveJobs(fetchSender((r) => workerd.fetch(r, base)), submitOne),
      numRuns: runs,
      seed,
      secrets: [TOKEN, bindings.UPSTASH_REDIS_REST_TOKEN ?? ''],
      streams: apiStreams,
    });
    console.log(formatStats('api (workerd)', stats));
    expect(stats.requests).toBe(runs);
    expect(stats.classes['5xx']).toBe(0);
    expect(stats.classes['2xx']).toBeGreaterThan(5);
    const health = await workerd.fetch(new Request('http://localhost/health'), base);
    expect(health.status).toBe(200);
  });
});
