/**
 * The worker's job-log writer against a real Redis, a refused port and a server that
 * never answers: lines are stored, capped, expired, or dropped and counted — and a job
 * is never failed or held up by its log.
 */
import { jobRecordSettings } from '../core/config';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { readJobLogs } from '../core/job-logs';
import { createJobStore } from '../core/job-store';
import { createKeys, type Keys } from '../core/keys';
import { workerBootSchema } from '../core/schemas/ipc';
import type { FunctionRegistry } from '../worker-runtime/functions/types';
import { installJobConsole } from '../worker-runtime/job-console';
import { capLine, createJobLogWriter, type JobLogWriter, logConnectionOptions } from '../worker-runtime/job-log-writer';
import { createNodeExecutor } from '../worker-runtime/node-executor';
import { createWorker } from '../worker-runtime/worker';
import { createWorkerStore } from '../core/worker-store';
import { waitFor } from './helpers/api';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';

let server: RedisServer;
let redis: Redis;
let n = 0;
const warnings: string[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await server?.stop();
});

const fresh = () => createKeys(`logw${process.pid}x${++n}`);

function writer(keys: Keys, workerId: string, opts: Partial<Parameters<typeof createJobLogWriter>[0]> = {}, url = server.url): JobLogWriter {
  const conn = new Redis(url, logConnectionOptions(workerId));
  conn.on('error', () => {});
  return createJobLogWriter({ redis: conn, keys, workerId, log: (_l, m) => warnings.push(m), ...opts });
}

async function seedJob(keys: Keys, id: string, status = 'running'): Promise<void> {
  await redis.hset(keys.job(id), { id, seq: 1, type: 'node', kind: 'function', payload: '{}', status, priority: 0, attempts: 1, max_attempts: 1, timeout_ms: 0, created_at: Date.now() });
}

describe('the job log writer', () => {
  it('caps one line at 8 KiB (UTF-8 bytes) with a marker', () => {
    expect(capLine('short')).toBe('short');
    const long = capLine('é'.repeat(5000)); // 10,000 bytes
    const head = long.slice(0, long.indexOf('…'));
    expect(Buffer.byteLength(head)).toBe(8192);
    expect(long.endsWith('… [kiln: line truncated, 1,808 more bytes]')).toBe(true);
  });

  it('stores lines in order with their streams; a running job\'s log has a safety TTL', async () => {
    const keys = fresh();
    await seedJob(keys, 'j1');
    const w = writer(keys, 'w1');
    w.write('j1', 'stdout', 'one\ntwo\r\n');
    w.write('j1', 'info', 'three');
    await w.flush('j1');
    const page = await readJobLogs(createIoredisPort(redis), keys, 'j1', { limit: 10 });
    expect(page?.lines.map((l) => [l.stream, l.text])).toEqual([['stdout', 'one'], ['stdout', 'two'], ['stdout', ''], ['info', 'three']]);
    expect(page?.nextCursor).toBe(page?.lines.at(-1)?.id); // running: more may come
    const ttl = await redis.pttl(keys.logs('j1'));
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 * 1000);
    expect(await redis.hget(keys.job('j1'), 'log_bytes')).toBe(String('onetwothree'.length));
    expect(w.droppedLines()).toBe(0);
  });

  it('drops lines past a full buffer and counts them on the worker record; lines of a job that is gone too', async () => {
    const keys = fresh();
    await seedJob(keys, 'j2');
    await redis.hset(keys.worker('w2'), { worker_id: 'w2', status: 'busy' });
    const w = writer(keys, 'w2', { maxPendingLines: 10 });
    for (let i = 0; i < 25; i++) w.write('j2', 'stdout', `line ${i}`);
    expect(w.droppedLines()).toBe(15);
    await w.flush('j2');
    expect(await redis.xlen(keys.logs('j2'))).toBe(10);
    await waitFor('the drop count on the worker record', async () => (await redis.hget(keys.worker('w2'), 'log_lines_dropped')) === '15');
    w.write('never-existed', 'stdout', 'lost');
    await w.flush('never-existed');
    expect(w.droppedLines()).toBe(16);
    await waitFor('the second drop on the worker record', async () => (await redis.hget(keys.worker('w2'), 'log_lines_dropped')) === '16');
    expect(await redis.exists(keys.logs('never-existed'))).toBe(0);
  });
});

/** A TCP server that accepts connections and never answers: Redis hung. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const srv: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}

describe('an unreachable log store', () => {
  const functions: FunctionRegistry = {
    async chatter(_input, ctx) {
      for (let i = 0; i < 20; i++) {
        console.log(`chatter ${i}`);
        ctx.log('info', `ctx ${i}`);
        await new Promise((r) => setTimeout(r, 1));
      }
      return { ok: true };
    },
  };

  async function runWithLogStore(url: string, writerOpts: Partial<Parameters<typeof createJobLogWriter>[0]>) {
    const keys = fresh();
    const store = createJobStore(createIoredisPort(redis), { keys, ...jobRecordSettings({}) });
    const boot = workerBootSchema.parse({
      worker_id: `wk${n}`, worker_type: 'node', redis_url: server.url, prefix: keys.prefix, max_jobs: 4, framework: 'node', version: '20',
      version_policy: 'warn', default_timeout_ms: 60_000, heartbeat_ms: 1000, lease_ms: 10_000, cancel_grace_ms: 1000,
      data_root: '/tmp', artifact_root: '/tmp', backoff: { base_ms: 0, max_ms: 0 }, succeeded_retention_ms: 60_000, failed_retention_ms: 60_000,
    });
    await redis.hset(keys.worker(boot.worker_id), { worker_id: boot.worker_id, status: 'idle' });
    const logs = writer(keys, boot.worker_id, writerOpts, url);
    const blocking = server.client();
    const worker = createWorker({
      boot, redis, blocking, store, workerStore: createWorkerStore(createIoredisPort(redis), { keys }), logs, executor: createNodeExecutor(functions, installJobConsole()), now: Date.now,
      log: () => {}, abandon: () => {}, abandonAfterMs: 1000,
    });
    const loop = worker.start();
    const ids = ['a', 'b', 'c'].map((x) => `${x}${n}`);
    const submitted = Date.now();
    for (const id of ids) {
      await store.enqueue({ id, type: 'node', kind: 'function', payload: { function: 'chatter' }, priority: 0, maxAttempts: 1, timeoutMs: 60_000, now: Date.now(), typeCheck: 'default' });
    }
    const jobs = await waitFor('the jobs to finish', async () => {
      const all = await Promise.all(ids.map((id) => store.get(id)));
      return all.every((j) => j && ['succeeded', 'failed'].includes(j.status)) && all;
    }, 20_000);
    const elapsed = Date.now() - submitted;
    const droppedWhenDone = logs.droppedLines();
    const drained = worker.drain();
    blocking.disconnect();
    await drained;
    await loop;
    return { jobs, elapsed, droppedWhenDone, logs, keys };
  }

  it('a refused connection: jobs succeed, their lines are dropped and counted', async () => {
    const r = await runWithLogStore(`redis://127.0.0.1:${await freePort()}`, {});
    for (const j of r.jobs) expect(j?.status).toBe('succeeded');
    await waitFor('the dropped lines to be counted', async () => r.logs.droppedLines() === 3 * 40);
    for (const j of r.jobs) expect(await redis.exists(r.keys.logs(j!.id))).toBe(0);
  });

  it('a server that never answers: jobs finish without waiting for it, then the lines count as dropped', async () => {
    const hole = await blackHole();
    try {
      // the writer gives up on a reply after 4 s; a job waits for its lines at most 300 ms
      const r = await runWithLogStore(hole.url, { flushWaitMs: 300, callTimeoutMs: 4000 });
      for (const j of r.jobs) expect(j?.status).toBe('succeeded');
      expect(r.droppedWhenDone).toBe(0); // the jobs were recorded before the writer gave up
      expect(r.elapsed).toBeLessThan(4000);
      await waitFor('the dropped lines to be counted', async () => r.logs.droppedLines() === 3 * 40, 15_000);
      expect(warnings.some((m) => m.includes('lines not stored'))).toBe(true);
    } finally {
      await hole.close();
    }
  });
});
