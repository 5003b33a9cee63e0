/**
 * The spawner's HTTP control API (the seed's endpoints and shapes). Every route
 * but GET /health needs the bearer token, reads too (they show what runs on the
 * host); a request can only name configured worker types.
 */
import { type ErrorHandler, Hono, type NotFoundHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Redis } from 'ioredis';
import { KilnError } from '../core/errors';
import { type RedisGate, redisGuard, redisHealth } from '../core/redis-gate';
import type { Keys } from '../core/keys';
import type { LogFn } from '../core/logger';
import { createIoredisPort } from '../core/ioredis-port';
import type { JobStore } from '../core/job-store';
import { readWorkersStatus } from '../core/worker-status';
import type { SpawnerConfig } from './config';
import { redisErrorResponse } from './redis-trouble';
import type { Ensure } from './ensure';
import type { Supervisor } from './supervisor';
import type { TemplateStatus } from './templates';
import { registryEntry } from '../core/worker-type-view';
import { tokenMatches, unauthorized } from './token';
import { createWorkerLogsApi } from './worker-logs-api';
import type { WorkerLogs } from './worker-logs';

export interface ControlDeps {
  config: SpawnerConfig;
  token: string;
  redis: Redis;
  /** Whether Redis can take requests now (core/redis-gate.ts). */
  redisGate: RedisGate;
  keys: Keys;
  /** The spawner's one JobStore (daemon.ts builds it from the config). */
  store: JobStore;
  supervisor: Supervisor;
  /** POST /workers/ensure/{type} (spawner/ensure.ts). */
  ensure: Ensure;
  startedAt: number;
  now(): number;
  log?: LogFn;
  /** Serves GET /workers/:id/logs when given. */
  workerLogs?: WorkerLogs;
  /** This host's Python templates (GET /workers/templates). */
  templates?: () => TemplateStatus[];
}

/** Errors as `{ "error": { code, message } }`; anything unexpected is logged and answered without detail. */
export function spawnerOnError(log: LogFn | undefined): ErrorHandler {
  return (err, c) => {
    // as the API's: a 5xx carries no internal detail (paths, Redis error text); the log has it
    if (err instanceof KilnError) {
      if (err.status >= 500) log?.('error', `${err.code} in ${c.req.method} ${c.req.path}: ${err.message}${err.cause === undefined ? '' : ` (${String(err.cause)})`}`);
      return c.json({ error: err.toJSON() }, err.status as ContentfulStatusCode);
    }
    const redisDown = redisErrorResponse(err, c, log);
    if (redisDown) return redisDown;
    if (log) log('error', `unhandled error in ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    else console.error('[kiln-spawner] unhandled', err);
    return c.json({ error: { code: 'INTERNAL', message: 'internal error; see the spawner log' } }, 500);
  };
}

/**
 * A path no route serves. Set on the daemon's top-level app too: a sub-app's
 * notFound does not apply once it is mounted with `app.route`.
 */
export const spawnerNotFound: NotFoundHandler = (c) =>
  c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}; GET /health answers without a token, the README lists the others` } }, 404);

/** The longest delay setTimeout keeps (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createControlApi(deps: ControlDeps): Hono {
  const { supervisor } = deps;
  const app = new Hono();
  app.onError(spawnerOnError(deps.log));
  app.notFound(spawnerNotFound);
  app.use('/workers/*', async (c, next) => {
    if (!tokenMatches(deps.token, c.req.header('authorization'))) return unauthorized(c);
    return next();
  });

  // After the token check: routes that need Redis answer 503 at once while it is in trouble (the types list does not).
  const guard = redisGuard(deps.redisGate);
  const local = ['/workers/types', '/workers/templates'];
  app.use('/workers/*', async (c, next) => (local.includes(c.req.path) ? next() : guard(c, next)));

  app.get('/health', async (c) => {
    const redis = await redisHealth(deps.redisGate, deps.config.redisTimeoutMs);
    return c.json({
      status: redis.ok ? 'healthy' : 'degraded', redis: redis.text, host: deps.config.hostId,
      uptime_s: Math.round((deps.now() - deps.startedAt) / 1000), workers: supervisor.workers.size,
    }, redis.ok ? 200 : 503);
  });

  if (deps.workerLogs) {
    const { config, token, redis, keys, workerLogs } = deps;
    app.route('/', createWorkerLogsApi({ token, hostId: config.hostId, redis, keys, workerLogs, isLive: (id) => supervisor.workers.has(id) }));
  }

  const port = createIoredisPort(deps.redis);
  app.get('/workers/status', async (c) => c.json(await readWorkersStatus(port, deps.store, deps.now())));

  // the same shape as the registry and the API's GET /workers/types: env names only, no interpreter
  app.get('/workers/types', (c) => c.json({ types: Object.fromEntries(Object.entries(deps.config.types).map(([name, cfg]) => [name, JSON.parse(registryEntry(cfg, deps.config.hostId)) as unknown])) }));

  // this host's Python templates: state, pid, RSS, forks (no Redis)
  app.get('/workers/templates', (c) => c.json({ host: deps.config.hostId, templates: deps.templates?.() ?? [] }));

  app.post('/workers/start/:type', (c) => {
    const w = supervisor.start(c.req.param('type'));
    return c.json({ worker_id: w.id, worker_type: w.type, process_id: w.proc.pid, status: w.state }, 201);
  });

  app.post('/workers/ensure/:type', async (c) => {
    // ?wait=1: answer once the worker it starts is ready, or with why it failed to start
    const wait = ['1', 'true'].includes(c.req.query('wait') ?? '');
    const r = await deps.ensure(c.req.param('type'), { wait });
    return c.json({ worker_type: c.req.param('type'), ...r }, r.action === 'started' ? 201 : 200);
  });

  app.post('/workers/stop/:id', async (c) => {
    const w = supervisor.find(c.req.param('id'));
    const graceMs = Number(c.req.query('grace_ms') ?? 0);
    // a timer holds at most 2^31-1 ms; past that Node fires it at once (grace_ms=1e308 stopped the worker without a grace)
    const grace = Number.isFinite(graceMs) && graceMs >= 0 ? Math.min(graceMs, MAX_TIMER_MS) : 0;
    await supervisor.stop(w, { graceMs: grace, reason: { kind: 'stopped', by: 'POST /workers/stop' } });
    return c.json({ worker_id: w.id, status: 'stopped' });
  });

  return app;
}
