/**
 * API submit throughput (POST /jobs) with 50 concurrent connections, ~5 s per
 * runtime, against a redis-server started here:
 *
 *   node     the Node entry (api/node.ts: @hono/node-server + ioredis), driven by
 *            a raw-socket HTTP client in a child process;
 *   workerd  api/workerd.ts bundled and run by Miniflare (not wrangler dev, whose
 *            proxy costs 3-5x), driven through `dispatchFetch`; it reaches Redis
 *            through the spawner's REST gateway (bench/gateway-child.ts), as under
 *            wrangler dev. Miniflare closes the connection after each dispatchFetch,
 *            so the client here costs more than the workerd API it drives.
 *
 * No spawner URL is configured, so a submit is the API's own work: validation
 * and the atomic enqueue script (the ensure fast path is a separate HTTP call).
 *   npm run bench:api [-- node | workerd]     env: DURATION_MS=5000 CONNECTIONS=50
 */
import { Miniflare } from 'miniflare';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../api/node';
import { freePort, startRedis } from '../tests/helpers/redis-server';
import { bundleWorkerd, type WorkerdBundle } from '../tests/helpers/workerd-bundle';
import type { LoadResult } from './http-load';
import { loadInChild } from './http-load-client';

const DURATION_MS = Number(process.env.DURATION_MS ?? 5000);
const WARMUP_MS = 1000;
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const BODY = JSON.stringify({ function: 'echo', input: { bench: true } });
/**
 * identity: else Miniflare's entry gzips every JSON answer the way Cloudflare's
 * edge would (outside the isolate) and the client here spends its time inflating.
 */
const HEADERS = { 'content-type': 'application/json', 'accept-encoding': 'identity' };

const ok = (r: LoadResult) => r.statuses['202'] ?? 0;
const describe = (r: LoadResult) =>
  `${Math.round((ok(r) * 1000) / r.elapsedMs).toLocaleString('en-US')} submits/s (${ok(r)} in ${(r.elapsedMs / 1000).toFixed(1)} s` +
  `${Object.keys(r.statuses).some((s) => s !== '202') || r.errors ? `; other answers ${JSON.stringify(r.statuses)}, socket errors ${r.errors}` : ''})`;

async function benchNode(redisUrl: string): Promise<LoadResult> {
  const port = await freePort();
  const api = startApiServer({ REDIS_URL: redisUrl, API_PORT: String(port), KILN_PREFIX: 'bench-node', WORKER_MANAGER_URL: '', KILN_MAX_QUEUED: '0' });
  await api.listening;
  try {
    const load = { host: '127.0.0.1', port, method: 'POST', path: '/jobs', body: BODY, connections: CONNECTIONS };
    await loadInChild({ ...load, durationMs: WARMUP_MS });
    return await loadInChild({ ...load, durationMs: DURATION_MS });
  } finally {
    await api.close();
  }
}

async function benchWorkerd(redisUrl: string): Promise<LoadResult> {
  // The REST gateway the workerd API reaches Redis through, in its own process as on a spawner.
  const token = crypto.randomUUID();
  const gateway = fork(fileURLToPath(new URL('./gateway-child.ts', import.meta.url)), [redisUrl, token, 'bench-workerd'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const gatewayPort = await new Promise<number>((resolve, reject) => {
    gateway.once('message', (m) => resolve((m as { port: number }).port));
    gateway.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}/redis`;

  let bundle: WorkerdBundle | undefined;
  let mf: Miniflare | undefined;
  try {
    bundle = await bundleWorkerd();
    const workerd = new Miniflare({
      modules: true, scriptPath: bundle.scriptPath, modulesRoot: bundle.modulesRoot, cf: false, compatibilityDate: '2026-04-01',
      bindings: { UPSTASH_REDIS_REST_URL: gatewayUrl, UPSTASH_REDIS_REST_TOKEN: token, KILN_PREFIX: 'bench-workerd', WORKER_MANAGER_URL: '', KILN_MAX_QUEUED: '0' },
    });
    mf = workerd;
    await workerd.ready;
    const run = async (durationMs: number): Promise<LoadResult> => {
      const statuses: Record<string, number> = {};
      let errors = 0;
      const started = performance.now();
      const until = started + durationMs;
      const loop = async () => {
        while (performance.now() < until) {
          try {
            const res = await workerd.dispatchFetch('http://localhost/jobs', { method: 'POST', headers: HEADERS, body: BODY });
            await res.arrayBuffer();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          } catch {
            errors++;
          }
        }
      };
      await Promise.all(Array.from({ length: CONNECTIONS }, loop));
      return { statuses, errors, elapsedMs: performance.now() - started };
    };
    await run(WARMUP_MS);
    return await run(DURATION_MS);
  } finally {
    await mf?.dispose();
    gateway.disconnect();
    bundle?.remove();
  }
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const runs = (name: string) => only.length === 0 || only.includes(name);

const redis = await startRedis();
try {
  console.log(`API submit throughput, POST /jobs, ${CONNECTIONS} connections, ${DURATION_MS / 1000} s each (after ${WARMUP_MS / 1000} s warm-up)`);
  if (runs('node')) console.log(`  node     (api/node.ts, ioredis):                     ${describe(await benchNode(redis.url))}`);
  if (runs('workerd')) console.log(`  workerd  (api/workerd.ts in Miniflare, REST gateway): ${describe(await benchWorkerd(redis.url))}`);
} finally {
  await redis.stop();
}
