/**
 * workerd entry of the API (wrangler dev, Cloudflare Workers): builds the app's
 * dependencies from the env bindings — a RedisPort over @upstash/redis (HTTP: a
 * managed Redis that speaks the Upstash REST protocol, or locally the spawner's
 * gateway at /redis) and a spawner client over `fetch` — once per isolate.
 *
 * Only web-standard types here, so this file also type-checks under Node's.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { keyPrefix } from '../core/config';
import { KilnError } from '../core/errors';
import { createKeys } from '../core/keys';
import { createUpstashClient, createUpstashPort } from '../core/upstash-port';
import { createApp } from './app';
import { DEFAULT_API_CONFIG } from './deps';
import { createSpawnerClient } from './spawner-client';

/** SSE reads the event stream at this interval or slower under workerd (each read is a subrequest). */
const MIN_SSE_POLL_MS = 100;

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = z.preprocess(blankToUndefined, z.string().trim().optional());
/** wrangler.toml vars may be numbers or strings. */
const optionalNumber = z.preprocess(blankToUndefined, z.coerce.number().positive().optional());

/** The bindings the API reads; anything else in `env` is ignored. */
export const workerEnvSchema = z.object({
  UPSTASH_REDIS_REST_URL: z.url({ message: 'UPSTASH_REDIS_REST_URL must be the http(s) URL of the Redis REST endpoint' }),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1, 'UPSTASH_REDIS_REST_TOKEN must be set (a secret: .dev.vars locally, `wrangler secret put` when deployed)'),
  /** Spawner control API for the fast-path ensure call; unset = rely on the spawner's own loop. */
  WORKER_MANAGER_URL: z.preprocess(blankToUndefined, z.url({ message: 'WORKER_MANAGER_URL must be an http(s) URL' }).optional()),
  SPAWNER_TOKEN: optional,
  KILN_PREFIX: optional,
  KILN_DEFAULT_TIMEOUT_S: optionalNumber,
  KILN_SSE_POLL_MS: optionalNumber,
});

/** What wrangler.toml's [vars] and the secrets provide; checked by workerEnvSchema on first use. */
export interface WorkerEnv {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  WORKER_MANAGER_URL?: string;
  SPAWNER_TOKEN?: string;
  KILN_PREFIX?: string;
  KILN_DEFAULT_TIMEOUT_S?: string | number;
  KILN_SSE_POLL_MS?: string | number;
}

function buildApp(rawEnv: unknown): Hono {
  const parsed = workerEnvSchema.safeParse(rawEnv);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KilnError('BAD_CONFIG', `worker binding ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`, { status: 500 });
  }
  const env = parsed.data;
  const redis = createUpstashPort(createUpstashClient({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }));
  return createApp({
    redis,
    keys: createKeys(keyPrefix({ KILN_PREFIX: env.KILN_PREFIX })),
    spawner: createSpawnerClient({ url: env.WORKER_MANAGER_URL, token: env.SPAWNER_TOKEN }),
    config: {
      ...DEFAULT_API_CONFIG,
      defaultTimeoutS: env.KILN_DEFAULT_TIMEOUT_S ?? DEFAULT_API_CONFIG.defaultTimeoutS,
      ssePollMs: Math.max(MIN_SSE_POLL_MS, env.KILN_SSE_POLL_MS ?? DEFAULT_API_CONFIG.ssePollMs),
    },
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

/** A misconfigured worker answers every request with the reason, as JSON. */
function configErrorResponse(err: unknown): Response {
  const body = err instanceof KilnError ? err.toJSON() : { code: 'INTERNAL', message: 'the API could not start; the worker log has the details' };
  if (!(err instanceof KilnError)) console.error('[kiln-api] startup failed', err);
  return Response.json({ error: body }, { status: 500 });
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx?: unknown): Promise<Response> {
    let app: Hono;
    try {
      app = appFor(env);
    } catch (err) {
      return configErrorResponse(err);
    }
    return app.fetch(request, env, ctx as Parameters<Hono['fetch']>[2]);
  },
};
