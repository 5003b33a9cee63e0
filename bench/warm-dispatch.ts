/**
 * Warm dispatch: Kiln vs BullMQ on the same redis-server (started here on a free port).
 *
 * 1. Latency: one idle, warm worker per system (Kiln: a `node` worker with max_jobs 1
 *    forked by the spawner; BullMQ: one Worker with concurrency 1 in a forked process).
 *    One job at a time; the time from just before submit until the handler's first line
 *    runs. The handler (bench/warm-functions.mjs, the same code on both) reads
 *    process.hrtime (CLOCK_MONOTONIC, one clock for every process on the host) and
 *    sends it to this process over UDP. Kiln is submitted three ways: the real path
 *    (POST /jobs on the in-process API app: validation, enqueue script, then the spawner
 *    ensure call), the same without the ensure call (diagnostic), and the core path
 *    (JobStore.enqueue, no API), which is like for like with BullMQ's queue.add. They are
 *    interleaved sample by sample (rotating order); after each job completes, GAP_MS of
 *    quiet, so every worker is back in its blocking wait.
 * 2. Throughput: JOBS no-op jobs, IN_FLIGHT submits at a time, one warm worker running
 *    16 at once (Kiln: a `node` type with max_jobs 16, max_workers 1; BullMQ: concurrency
 *    16); from the first submit until all completed. TPUT_ROUNDS rounds, rotating order.
 *
 *   npm run bench:warm   (SAMPLES, WARMUP, GAP_MS, JOBS, IN_FLIGHT, TPUT_ROUNDS override)
 */
import { jobRecordSettings } from '../core/config';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createIoredisPort } from '../core/ioredis-port';
import { createJobStore } from '../core/job-store';
import { createKeys } from '../core/keys';
import { startRedis } from '../tests/helpers/redis-server';
import { createTestApi } from '../tests/helpers/api';
import { startSystem, type System } from '../tests/helpers/system';
import { percentile } from './stats';
import { measureThroughput, submitPool } from './throughput';
import { bullWorkers, createEntryClock, forkBullWorker, kilnWorker, stopKilnWorkers, stopProcess, until } from './warm-support';

const SAMPLES = Number(process.env.SAMPLES ?? 200);
const WARMUP = Number(process.env.WARMUP ?? 20);
const JOBS = Number(process.env.JOBS ?? 5000);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 50);
const GAP_MS = Number(process.env.GAP_MS ?? 20);
const TPUT_ROUNDS = Number(process.env.TPUT_ROUNDS ?? 3);
const DEADLINE = Date.now() + Number(process.env.DEADLINE_MS ?? 115_000);

const FUNCTIONS = join(import.meta.dirname, 'warm-functions.mjs');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const hr = () => process.hrtime.bigint();
const msSince = (t0: bigint, t1: bigint) => Number(t1 - t0) / 1e6;
/** POST /jobs with a Content-Length, as every real HTTP request with a body has (the in-process helper sends none). */
const postJobs = (request: System['request'], body: unknown) => {
  const json = JSON.stringify(body);
  return request('POST', '/jobs', json, { 'content-length': String(Buffer.byteLength(json)) });
};

function checkDeadline(what: string): void {
  if (Date.now() > DEADLINE) throw new Error(`bench deadline passed during ${what}`);
}


// ---- report ---------------------------------------------------------------------------
interface Row { name: string; samples: number[]; claim: number[]; submit: number[] }
const f1 = (v: number) => v.toFixed(2);

function latencyTable(rows: Row[], bull: Row): void {
  const bm = percentile(bull.samples, 50);
  const bp = percentile(bull.samples, 90);
  console.log(`\nwarm dispatch latency, submit → handler entry (n=${SAMPLES} each after ${WARMUP} warm-up, ms)`);
  console.log('| path | median | p90 | min | max | mean | median ratio vs BullMQ | p90 ratio | submit call returned¹ | claim stamp² |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const m = percentile(r.samples, 50);
    const p = percentile(r.samples, 90);
    const mean = r.samples.reduce((a, b) => a + b, 0) / r.samples.length;
    console.log(`| ${r.name} | ${f1(m)} | ${f1(p)} | ${f1(Math.min(...r.samples))} | ${f1(Math.max(...r.samples))} | ${f1(mean)} | ${(m / bm).toFixed(2)}× | ${(p / bp).toFixed(2)}× | ${f1(percentile(r.submit, 50))} | ${f1(r.claim.reduce((a, b) => a + b, 0) / r.claim.length)} |`);
  }
  console.log('¹ median time until the submit call itself resolved (POST /jobs answers after its spawner ensure call)');
  console.log('² mean submit → the claim timestamp the worker stores (Kiln started_at, BullMQ processedOn); Date.now(), 1 ms resolution, so only the mean says much');
}

// ---- the bench --------------------------------------------------------------------------
const clock = await createEntryClock();
const udpPort = clock.port;
const entryOf = clock.entryOf;
const redis = await startRedis();
let sys: System | undefined;
let queue: Queue | undefined;
let tputQueue: Queue | undefined;
let client: Redis | undefined;
try {
  sys = await startSystem(redis, {
    types: {
      // latency: one job at a time, like BullMQ concurrency 1
      node: { framework: 'node', version: '20', idle_timeout: 600, max_jobs: 1, max_workers: 1 },
      // throughput
      node16: { framework: 'node', version: '20', idle_timeout: 600, max_jobs: 16, max_workers: 1 },
    },
    env: { KILN_FUNCTIONS_MODULE: FUNCTIONS },
    // the production defaults (startSystem's test values are faster loops)
    spawner: { reconcileMs: 500, heartbeatMs: 2000 },
  });
  const s = sys;
  client = redis.client();
  const c = client;
  const keys = createKeys(s.prefix);
  const store = createJobStore(createIoredisPort(s.redis), { keys, ...jobRecordSettings({}) });
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  queue = new Queue('lat', { connection });
  await queue.waitUntilReady();
  const q = queue;

  console.log(`redis-server ${redis.port}; Kiln prefix ${s.prefix}; cores: ${(await import('node:os')).availableParallelism()}`);
  await kilnWorker(s, 'node');
  const bullLat = await forkBullWorker(redis.port, 'lat', 1);

  let seq = 0;
  const input = () => ({ port: udpPort, tag: `s${++seq}` });

  const kilnDone = (id: string) => until(`Kiln job ${id}`, async () => (await c.hget(keys.job(id), 'status')) === 'succeeded', 10_000);
  const claimStamp = async (key: string, field: string, t0ms: number) => Number(await c.hget(key, field)) - t0ms;

  type Sampler = () => Promise<{ lat: number; claim: number; submit: number }>;
  // diagnostic: the same API app with no spawner URL, so POST /jobs skips its ensure call
  const apiNoEnsure = createTestApi({ redis: s.redis, prefix: s.prefix, spawnerUrl: undefined });
  const viaApi = (request: System['request']): Sampler => async () => {
    const inp = input();
    const t0ms = Date.now();
    const t0 = hr();
    const r = await postJobs(request, { function: 'stamp', input: inp });
    const submit = msSince(t0, hr());
    if (r.status !== 202) throw new Error(`POST /jobs: ${r.status} ${JSON.stringify(r.body)}`);
    const lat = msSince(t0, await entryOf(inp.tag));
    await kilnDone(r.body.job_id);
    return { lat, submit, claim: await claimStamp(keys.job(r.body.job_id), 'started_at', t0ms) };
  };
  const kilnApi = viaApi(s.request);
  const kilnApiNoEnsure = viaApi(apiNoEnsure.request);
  const kilnCore: Sampler = async () => {
    const inp = input();
    const t0ms = Date.now();
    const t0 = hr();
    const res = await store.enqueue({
      id: crypto.randomUUID(), type: 'node', kind: 'function', payload: { function: 'stamp', input: inp },
      priority: 0, maxAttempts: undefined, timeoutMs: 0, now: Date.now(), typeCheck: 'default',
    });
    const submit = msSince(t0, hr());
    const lat = msSince(t0, await entryOf(inp.tag));
    await kilnDone(res.id);
    return { lat, submit, claim: await claimStamp(keys.job(res.id), 'started_at', t0ms) };
  };
  const bull: Sampler = async () => {
    const inp = input();
    const t0ms = Date.now();
    const t0 = hr();
    const job = await q.add('stamp', inp);
    const submit = msSince(t0, hr());
    const lat = msSince(t0, await entryOf(inp.tag));
    const key = `bull:lat:${job.id}`;
    await until(`BullMQ job ${job.id}`, async () => (await c.hexists(key, 'finishedOn')) === 1, 10_000);
    return { lat, submit, claim: await claimStamp(key, 'processedOn', t0ms) };
  };

  const row = (name: string): Row => ({ name, samples: [], claim: [], submit: [] });
  const rows: Row[] = [
    row('Kiln, `POST /jobs` (in-process API → enqueue script; then its spawner ensure call)'),
    row('Kiln, `POST /jobs` without the ensure call (diagnostic: API given no spawner URL)'),
    row('Kiln, core `JobStore.enqueue` (no API)'),
    row('BullMQ 6.7.0, `queue.add`'),
  ];
  const samplers = [kilnApi, kilnApiNoEnsure, kilnCore, bull];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    checkDeadline('latency');
    for (let k = 0; k < samplers.length; k++) {
      const j = (i + k) % samplers.length; // rotate the order: no path always runs first
      const r = await samplers[j]!();
      if (i >= WARMUP) {
        rows[j]!.samples.push(r.lat);
        rows[j]!.claim.push(r.claim);
        rows[j]!.submit.push(r.submit);
      }
      await sleep(GAP_MS);
    }
  }
  latencyTable(rows, rows[3]!);

  // ---- throughput ----
  await stopProcess(bullLat);
  await stopKilnWorkers(s, 'node');
  await kilnWorker(s, 'node16');
  tputQueue = new Queue('tput', { connection });
  await tputQueue.waitUntilReady();
  const tq = tputQueue;
  const bullTput = await forkBullWorker(redis.port, 'tput', 16);

  const submitKilnApi = async () => {
    const r = await postJobs(s.request, { function: 'noop', worker_type: 'node16' });
    if (r.status !== 202) throw new Error(`POST /jobs: ${r.status} ${JSON.stringify(r.body)}`);
  };
  const submitKilnCore = async () => {
    await store.enqueue({
      id: crypto.randomUUID(), type: 'node16', kind: 'function', payload: { function: 'noop', input: null },
      priority: 0, maxAttempts: undefined, timeoutMs: 0, now: Date.now(), typeCheck: 'default',
    });
  };
  const submitBull = async () => {
    await tq.add('noop', {});
  };
  const kilnCompleted = () => c.zcard(keys.byStatus('succeeded'));
  const bullCompleted = () => c.zcard('bull:tput:completed');

  const throughput = (n: number, submit: () => Promise<void>, completed: () => Promise<number>) => {
    checkDeadline('throughput');
    return measureThroughput(n, submitPool(n, IN_FLIGHT, submit), completed, Math.max(1000, DEADLINE - Date.now()));
  };

  const notify = keys.notify('node16');
  const paths = [
    { name: 'Kiln, `POST /jobs` (in-process API, with its ensure call)', submit: submitKilnApi, completed: kilnCompleted, kiln: true },
    { name: 'Kiln, core `JobStore.enqueue`', submit: submitKilnCore, completed: kilnCompleted, kiln: true },
    { name: 'BullMQ 6.7.0, `queue.add`', submit: submitBull, completed: bullCompleted, kiln: false },
  ];
  const results = paths.map(() => [] as Array<Awaited<ReturnType<typeof throughput>>>);
  const stale: Array<{ tokens: number; drainMs: number }> = [];
  for (const p of paths) await throughput(300, p.submit, p.completed); // warm-up
  for (let round = 0; round < TPUT_ROUNDS; round++) {
    for (let k = 0; k < paths.length; k++) {
      const j = (round + k) % paths.length;
      const p = paths[j]!;
      await sleep(200);
      results[j]!.push(await throughput(JOBS, p.submit, p.completed));
      if (p.kiln) {
        // Every enqueue pushes a wake-up token; the worker, busy claiming, leaves most of them.
        // Each stale one later costs it a BLPOP and an empty claim: wait until it has eaten them.
        const tokens = await c.llen(notify);
        const t0 = hr();
        await until('the stale wake-up tokens to drain', async () => (await c.llen(notify)) === 0, 20_000, 5);
        stale.push({ tokens, drainMs: msSince(t0, hr()) });
      }
    }
  }
  const med = (xs: number[]) => percentile(xs, 50);
  const bullRate = med(results[2]!.map((r) => r.rate));
  console.log(`\nthroughput: ${JOBS} no-op jobs, ${IN_FLIGHT} submits in flight, one warm worker running 16 at once; ${TPUT_ROUNDS} rounds (median; every round in brackets)`);
  console.log('| path | jobs/s completed | ratio vs BullMQ | submits/s |');
  console.log('| --- | --- | --- | --- |');
  paths.forEach((p, j) => {
    const rates = results[j]!.map((r) => r.rate);
    const subs = results[j]!.map((r) => r.submitRate);
    console.log(`| ${p.name} | ${med(rates).toFixed(0)} [${rates.map((x) => x.toFixed(0)).join(', ')}] | ${(med(rates) / bullRate).toFixed(2)}× | ${med(subs).toFixed(0)} [${subs.map((x) => x.toFixed(0)).join(', ')}] |`);
  });
  console.log(`  stale Kiln wake-up tokens after each Kiln run: ${stale.map((x) => `${x.tokens} (drained in ${x.drainMs.toFixed(0)} ms)`).join(', ')}`);
  await stopProcess(bullTput);
} finally {
  for (const child of [...bullWorkers]) await stopProcess(child).catch(() => {});
  await queue?.close().catch(() => {});
  await tputQueue?.close().catch(() => {});
  client?.disconnect();
  await sys?.stop().catch((e: unknown) => console.error(`stopping Kiln: ${String(e)}`));
  await redis.stop();
  clock.close();
}
