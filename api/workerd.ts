/**
 * workerd entry of the API (wrangler dev, or deployed to Cloudflare's workerd runtime): builds the app's
 * dependencies from the env bindings — a RedisPort over @upstash/redis (HTTP: a
 * managed Redis that speaks the Upstash REST protocol, or locally the spawner's
 * gateway at /redis) and a spawner client over `fetch` — once per isolate.
 *
 * Only web-standard types here, so this file also type-checks under Node's.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { type Env, keyPrefix } from '../core/config';
import { KilnError } from '../core/errors';
import { createKeys } from '../core/keys';
import { createLogger, logSettingsFromEnv } from '../core/logger';
import { createUpstashClient, createUpstashPort } from '../core/upstash-port';
import { createApp } from './app';
import { apiConfigFromEnv } from './deps';
import { createSpawnerClient } from './spawner-client';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** The bindings that connect the API; its knobs (KILN_*) go through apiConfigFromEnv as on Node. */
export const workerdEnvSchema = z.object({
  UPSTASH_REDIS_REST_URL: z.url({ message: 'UPSTASH_REDIS_REST_URL must be the http(s) URL of the Redis REST endpoint' }),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1, 'UPSTASH_REDIS_REST_TOKEN must be set (a secret: .dev.vars locally, `wrangler secret put` when deployed)'),
  /** Spawner control API for the fast-path ensure call; unset = rely on the spawners' own loops. */
  WORKER_MANAGER_URL: z.preprocess(blankToUndefined, z.url({ message: 'WORKER_MANAGER_URL must be an http(s) URL' }).optional()),
  SPAWNER_TOKEN: z.preprocess(blankToUndefined, z.string().optional()),
});

/** What wrangler.toml's [vars] and the secrets provide; checked on first use. */
export interface WorkerdEnv {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  WORKER_MANAGER_URL?: string;
  SPAWNER_TOKEN?: string;
  KILN_PREFIX?: string;
  /** Any other knob of apiConfigFromEnv (KILN_API_TOKEN, KILN_SSE_POLL_MS, …); [vars] may hold numbers. */
  [knob: string]: unknown;
}

/** Bindings as the environment-variable record core/config reads (strings only; objects are not knobs). */
function asEnvRecord(env: object): Env {
  const out: Env = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

function buildApp(bindings: object): Hono {
  const parsed = workerdEnvSchema.safeParse(bindings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KilnError('BAD_CONFIG', `workerd binding ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`, { status: 500 });
  }
  const conn = parsed.data;
  const env = asEnvRecord(bindings);
  // LOG_LEVEL / LOG_FORMAT as on Node; workerd's console carries the lines (wrangler tail, the dashboard)
  const logger = createLogger({
    component: 'api', ...logSettingsFromEnv(env), now: Date.now,
    write: (line, level) => (level === 'error' || level === 'warn' ? console.error(line) : console.log(line)),
  });
  // SSE polls at 100 ms or slower here too: apiConfigFromEnv enforces the floor.
  const config = apiConfigFromEnv(env);
  const client = createUpstashClient({ url: conn.UPSTASH_REDIS_REST_URL, token: conn.UPSTASH_REDIS_REST_TOKEN, timeoutMs: config.redisTimeoutMs });
  return createApp({
    logger,
    redis: createUpstashPort(client),
    keys: createKeys(keyPrefix(env)),
    spawner: createSpawnerClient({ url: conn.WORKER_MANAGER_URL, token: conn.SPAWNER_TOKEN, logger }),
    config,
    now: Date.now,
    newId: () => crypto.randomUUID(),
  });
}

/** One app per isolate and env object: the Redis client and its connections are reused across requests. */
const apps = new WeakMap<object, Hono>();

function appFor(env: object): Hono {
  let app = apps.get(env);
  if (!app) {
    app = buildApp(env);
    apps.set(env, app);
  }
  return app;
}

/** A misconfigured workerd entry answers every request with the reason, as JSON. */
function configErrorResponse(err: unknown): Response {
  const body = err instanceof KilnError ? err.toJSON() : { code: 'INTERNAL', message: 'the API could not start; the workerd log has the details' };
  if (!(err instanceof KilnError)) console.error(`${new Date().toISOString()} error [api] startup failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return Response.json({ error: body }, { status: 500 });
}

export default {
  async fetch(request: Request, env: WorkerdEnv, ctx?: unknown): Promise<Response> {
    let app: Hono;
    try {
      app = appFor(env);
    } catch (err) {
      return configErrorResponse(err);
    }
    return app.fetch(request, env, ctx as Parameters<Hono['fetch']>[2]);
  },
};
