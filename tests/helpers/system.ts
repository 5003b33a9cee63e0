/**
 * A whole Kiln for one test file: a real redis-server on a free port, the
 * spawner daemon (forking the built dist/worker.mjs) and the API app, each with
 * a unique key prefix and state folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { createApp } from '../../api/app';
import type { ApiConfig } from '../../api/deps';
import { ioredisJobEndWatch } from '../../api/node';
import { createIoredisPort } from '../../core/ioredis-port';
import { createKeys } from '../../core/keys';
import { createLogger } from '../../core/logger';
import type { WorkerTypeInput } from '../../core/schemas/worker-type';
import { workerTypeConfigSchema, withTypeDefaults } from '../../core/schemas/worker-type';
import { loadSpawnerConfig, type SpawnerConfig } from '../../spawner/config';
import { startSpawner, type SpawnerHandle } from '../../spawner/daemon';
import { createTestApi, waitFor } from './api';
import type { RedisServer } from './redis-server';

let counter = 0;

export interface System {
  spawner: SpawnerHandle;
  config: SpawnerConfig;
  redis: Redis;
  prefix: string;
  api: ReturnType<typeof createApp>;
  stateDir: string;
  logs: string[];
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
  job(id: string): Promise<any>;
  stop(): Promise<void>;
}

export async function startSystem(redisServer: RedisServer, opts: {
  types?: Record<string, WorkerTypeInput>;
  env?: Record<string, string>;
  spawner?: Partial<SpawnerConfig>;
  api?: Partial<ApiConfig>;
  spawnerUrl?: string | null;
  /** Wake ?wait= submits with a JobEndWatch over a blocking connection, as the Node API does. */
  watchJobEnds?: boolean;
} = {}): Promise<System> {
  const prefix = `t${process.pid}x${++counter}x${Date.now() % 100000}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'kiln-state-'));
  const base = loadSpawnerConfig({ REDIS_URL: redisServer.url, KILN_PREFIX: prefix, KILN_STATE_DIR: stateDir, SPAWNER_PORT: '0', ...opts.env });
  const types = opts.types
    ? Object.fromEntries(Object.entries(opts.types).map(([k, v]) => [k, withTypeDefaults(workerTypeConfigSchema.parse(v))]))
    : base.types;
  const config: SpawnerConfig = { ...base, types, reconcileMs: 100, heartbeatMs: 500, killGraceMs: 1000, drainGraceMs: 5000, hostId: `test-${prefix}`, ...opts.spawner };
  const logs: string[] = [];
  const spawner = await startSpawner(config, (level, m, fields) => logs.push(`${level} ${m}${fields ? ` ${JSON.stringify(fields)}` : ''}`));
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 3 });
  redis.on('error', () => {});
  const blocking = opts.watchJobEnds ? new Redis(redisServer.url, { maxRetriesPerRequest: 1 }) : undefined;
  blocking?.on('error', () => {});
  const jobEnds = blocking && ioredisJobEndWatch({
    blocking, port: createIoredisPort(redis), keys: createKeys(prefix),
    logger: createLogger({ component: 'api', level: 'warn', format: 'text', now: Date.now, write: (line) => logs.push(line) }),
  });
  const api = createTestApi({
    redis, prefix, spawnerUrl: opts.spawnerUrl === null ? undefined : opts.spawnerUrl ?? spawner.url, token: spawner.token, ...(opts.api && { config: opts.api }), jobEnds,
  });
  const sys: System = {
    spawner, config, redis, prefix, api: api.app, stateDir, logs,
    request: api.request,
    job: api.job,
    waitFor: (what, fn, timeoutMs) => waitFor(what, fn, timeoutMs, () => logs),
    async stop() {
      await spawner.stop(2000);
      jobEnds?.stop();
      blocking?.disconnect();
      redis.disconnect();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return sys;
}
