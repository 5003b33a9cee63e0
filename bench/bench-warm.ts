/**
 * `npm run bench`, warm rows: latency (submit → handler's first line) and throughput
 * (n no-op jobs, inFlight submits at a time, one worker process running 16 at once),
 * Kiln core (JobStore.enqueue) and Kiln API (POST /jobs over real HTTP to the Node API
 * server, with its spawner ensure call) against BullMQ 6 (queue.add; a Worker in its own
 * process; completion counted in its completed set, the latency through the same UDP
 * entry clock as Kiln's). Samples interleave (rotating order) so drift hits all paths alike.
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { startApiServer } from '../api/node';
import { jobRecordSettings } from '../core/config';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { freePort, type RedisServer } from '../tests/helpers/redis-server';
import { startSystem } from '../tests/helpers/system';
import { startLoadClient } from './http-load-client';
import { until } from './processes';
import type { Row } from './report';
import { percentile } from './stats';
import { measureThroughput, submitPool, type ThroughputResult } from './throughput';
import { createEntryClock, forkBullWorker, kilnWorker, stopKilnWorkers, stopProcess } from './warm-support';

export interface WarmSettings {
  latencySamples: number;
  latencyWarmup: number;
  gapMs: number;
  jobs: number;
  inFlight: number;
  rounds: number;
  deadline: number;
}

const FUNCTIONS = join(import.meta.dirname, 'warm-functions.mjs');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const hr = () => process.hrtime.bigint();
const median = (xs: number[]) => percentile(xs, 50);

/** One POST over a keep-alive node:http agent: a lighter client than fetch, so the API's own time dominates. */
function httpPost(agent: Agent, url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function warmRows(redis: RedisServer, s: WarmSettings): Promise<Row[]> {
  const left = (what: string) => {
    const ms = s.deadline - Date.now();
    if (ms <= 0) throw new Error(`bench deadline passed during ${what}`);
    return ms;
  };
  const clock = await createEntryClock();
  const sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', idle_timeout: 600, max_jobs: 1, max_workers: 1 },
      node16: { framework: 'node', version: '20', idle_timeout: 600, max_jobs: 16, max_workers: 1 },
    },
    env: { KILN_FUNCTIONS_MODULE: FUNCTIONS },
    spawner: { reconcileMs: 500, heartbeatMs: 2000 },
  });
  const api = startApiServer({
    REDIS_URL: redis.url, API_HOST: '127.0.0.1', API_PORT: String(await freePort()), KILN_PREFIX: sys.prefix,
    WORKER_MANAGER_URL: sys.spawner.url, SPAWNER_TOKEN: sys.spawner.token, LOG_LEVEL: 'warn',
  });
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const queues = [new Queue('lat', { connection }), new Queue('tput', { connection })] as const;
  const c = redis.client();
  const load = await startLoadClient();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const children: Array<Awaited<ReturnType<typeof forkBullWorker>>> = [];
  try {
    await api.listening;
    await Promise.all(queues.map((q) => q.waitUntilReady()));
    const keys = createKeys(sys.prefix);
    const store = createJobStore(createIoredisPort(sys.redis), { keys, ...jobRecordSettings({}) });
    const enqueue = (type: string, fn: string, input: unknown) => store.enqueue({
      id: crypto.randomUUID(), type, kind: 'function', payload: { function: fn, input },
      priority: 0, maxAttempts: undefined, timeoutMs: 0, now: Date.now(), typeCheck: 'default',
    });
    const postJobs = async (body: unknown): Promise<string> => {
      const res = await httpPost(agent, `${api.url}/jobs`, JSON.stringify(body));
      const answer = JSON.parse(res.body) as { job_id?: string };
      if (res.status !== 202 || !answer.job_id) throw new Error(`POST /jobs: ${res.status} ${res.body}`);
      return answer.job_id;
    };

    // ---- latency: one idle worker per system, one job at a time ----
    await kilnWorker(sys, 'node');
    const bullLat = await forkBullWorker(redis.port, 'lat', 1);
    children.push(bullLat);
    let seq = 0;
    const kilnDone = (id: string) => until(`Kiln job ${id}`, async () => (await c.hget(keys.job(id), 'status')) === 'succeeded', 10_000);
    const sampler = (submit: (input: { port: number; tag: string }) => Promise<() => Promise<void>>) => async () => {
      const input = { port: clock.port, tag: `s${++seq}` };
      const t0 = hr();
      const done = await submit(input);
      const ms = Number((await clock.entryOf(input.tag)) - t0) / 1e6;
      await done();
      return ms;
    };
    const latPaths = [
      sampler(async (input) => {
        const { id } = await enqueue('node', 'stamp', input);
        return () => kilnDone(id);
      }),
      sampler(async (input) => {
        const id = await postJobs({ function: 'stamp', input });
        return () => kilnDone(id);
      }),
      sampler(async (input) => {
        const job = await queues[0].add('stamp', input);
        const key = `bull:lat:${job.id}`;
        return () => until(`BullMQ job ${job.id}`, async () => (await c.hexists(key, 'finishedOn')) === 1, 10_000);
      }),
    ];
    const lat = latPaths.map(() => [] as number[]);
    for (let i = 0; i < s.latencyWarmup + s.latencySamples; i++) {
      left('latency');
      for (let k = 0; k < latPaths.length; k++) {
        const j = (i + k) % latPaths.length;
        const ms = await latPaths[j]!();
        if (i >= s.latencyWarmup) lat[j]!.push(ms);
        await sleep(s.gapMs);
      }
    }
    await stopProcess(bullLat);
    await stopKilnWorkers(sys, 'node');

    // ---- throughput: one worker process running 16 at once ----
    await kilnWorker(sys, 'node16');
    children.push(await forkBullWorker(redis.port, 'tput', 16));
    const kilnCompleted = () => c.zcard(keys.byStatus('succeeded'));
    const notify = keys.notify('node16');
    const apiUrl = new URL(api.url);
    const body = JSON.stringify({ function: 'noop', worker_type: 'node16' });
    const submitApi = (n: number) => async () => {
      const r = await load.run({ host: apiUrl.hostname, port: Number(apiUrl.port), method: 'POST', path: '/jobs', body, connections: s.inFlight, durationMs: left('throughput'), count: n });
      if ((r.statuses['202'] ?? 0) !== n || r.errors) throw new Error(`POST /jobs under load: ${JSON.stringify(r.statuses)}, socket errors ${r.errors}`);
    };
    const paths = [
      { kiln: true, run: (n: number) => measureThroughput(n, submitPool(n, s.inFlight, async () => void (await enqueue('node16', 'noop', null))), kilnCompleted, left('throughput')) },
      { kiln: true, run: (n: number) => measureThroughput(n, submitApi(n), kilnCompleted, left('throughput')) },
      { kiln: false, run: (n: number) => measureThroughput(n, submitPool(n, s.inFlight, async () => void (await queues[1].add('noop', {}))), () => c.zcard('bull:tput:completed'), left('throughput')) },
    ];
    const results = paths.map(() => [] as ThroughputResult[]);
    const settle = async (kiln: boolean) => {
      // every Kiln enqueue leaves a wake-up token; let the worker eat the stale ones before the next run
      if (kiln) await until('the stale wake-up tokens to drain', async () => (await c.llen(notify)) === 0, Math.min(20_000, left('throughput')), 5);
      await sleep(200);
    };
    for (const p of paths) {
      await p.run(Math.min(300, s.jobs));
      await settle(p.kiln);
    }
    for (let round = 0; round < s.rounds; round++) {
      for (let k = 0; k < paths.length; k++) {
        const j = (round + k) % paths.length;
        results[j]!.push(await paths[j]!.run(s.jobs));
        await settle(paths[j]!.kiln);
      }
    }
    const rate = (j: number) => median(results[j]!.map((r) => r.rate));
    const bull = 'BullMQ 6 `queue.add`';
    return [
      { measure: `Throughput, core \`JobStore.enqueue\` (${s.jobs} no-op jobs, ${s.inFlight} in flight, 1 worker × 16)`, figure: rate(0), unit: 'jobs/s', counterpart: bull, counterpartFigure: rate(2), target: { op: '>=', ratio: 1.5 } },
      { measure: 'Throughput, `POST /jobs` over HTTP (same load)', figure: rate(1), unit: 'jobs/s', counterpart: bull, counterpartFigure: rate(2), target: { op: '>=', ratio: 1.0 } },
      { measure: 'Warm latency p50, core (submit → handler\'s first line)', figure: median(lat[0]!), unit: 'ms', counterpart: bull, counterpartFigure: median(lat[2]!), target: { op: '<=', ratio: 0.8 } },
      { measure: 'Warm latency p50, `POST /jobs` over HTTP', figure: median(lat[1]!), unit: 'ms', counterpart: bull, counterpartFigure: median(lat[2]!), target: { op: '<=', ratio: 1.0 } },
    ];
  } finally {
    for (const child of children) await stopProcess(child).catch(() => {});
    await load.stop();
    agent.destroy();
    await Promise.all(queues.map((q) => q.close().catch(() => {})));
    await api.close();
    await sys.stop().catch((e: unknown) => console.error(`stopping Kiln: ${String(e)}`));
    clock.close();
  }
}
