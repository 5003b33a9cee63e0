/**
 * RedisPort over @upstash/redis (HTTP), for workerd. It talks to a managed Redis
 * that speaks the Upstash REST protocol, or locally to the spawner's gateway.
 *
 * The client is imported from '@upstash/redis/cloudflare': the package root is its
 * Node build, which reads `process.env` and passes `cache: 'no-store'` to fetch —
 * an option workerd rejects before compatibility date 2024-11-11.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { KilnError } from './errors';
import { DEFAULT_REDIS_TIMEOUT_MS } from './redis-gate';
import { flatToRecord, type LuaScript, type RedisArg, type RedisPort, type StreamEntry } from './redis-port';

export type UpstashClient = Redis;

export interface UpstashClientOptions {
  url: string;
  token: string;
  /**
   * Network-error retries. Default: one retry after 50 ms, which covers a reused
   * keep-alive socket the server had just closed. A retried request may have run
   * already, which Kiln's at-least-once delivery tolerates; pass `false` to fail
   * at once (the SDK's own default waits ~4 s before giving up).
   */
  retry?: false | { retries: number; backoff: (retryCount: number) => number };
  /**
   * Deadline of one request, retries included (KILN_REDIS_TIMEOUT_MS; default
   * 1000 ms): past it the call fails with a TimeoutError, a 503 for the client,
   * instead of waiting on a gateway or managed Redis that does not answer.
   */
  timeoutMs?: number;
}

/** An @upstash/redis client configured the way createUpstashPort needs it. */
export function createUpstashClient(opts: UpstashClientOptions): UpstashClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  return new Redis({
    url: opts.url,
    token: opts.token,
    // Keep strings as strings: by default "123" comes back as 123 and "null" as null.
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: opts.retry ?? { retries: 1, backoff: () => 50 },
    // A function: a fresh deadline per request (the SDK calls it for each one).
    signal: () => AbortSignal.timeout(timeoutMs),
  });
}

/**
 * NOSCRIPT arrives wrapped by the SDK: "NOSCRIPT …, command was: …" from POST /,
 * "Command failed: NOSCRIPT …" through auto-pipelining, "Command 1 [ evalsha ]
 * failed: NOSCRIPT …" from an explicit pipeline.
 */
const isNoScript = (err: unknown): boolean => err instanceof Error && /(?:^|: )NOSCRIPT\b/.test(err.message);

function assertRawReplies(client: UpstashClient): void {
  // `opts` is the SDK's (protected) record of the constructor's options.
  const opts = (client as unknown as { opts?: { automaticDeserialization?: boolean } }).opts;
  if (opts?.automaticDeserialization !== false) {
    throw new KilnError(
      'UPSTASH_CLIENT_MISCONFIGURED',
      'the @upstash/redis client must be created with automaticDeserialization: false (use createUpstashClient); otherwise string values such as "123" or "null" come back as numbers and null',
    );
  }
}

const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : []);

function toStreamEntries(rows: unknown): StreamEntry[] {
  if (!Array.isArray(rows)) return [];
  return rows.map((row): StreamEntry => {
    const [id, flat] = Array.isArray(row) ? (row as unknown[]) : [];
    return { id: String(id), fields: flatToRecord(flat) };
  });
}

/**
 * Replies from this port have the same shapes as the ioredis port's: strings stay
 * strings, integers are numbers, nil (and Lua false) is null, hashes are objects.
 */
export function createUpstashPort(client: UpstashClient): RedisPort {
  assertRawReplies(client);
  return {
    async runScript(script: LuaScript, keys: string[], args: RedisArg[]) {
      try {
        return await client.evalsha(script.sha, keys, args);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return client.eval(script.source, keys, args);
      }
    },
    async hgetall(key) {
      // Raw reply: a flat [field, value, …] array; [] for a missing key.
      return flatToRecord(await client.hgetall(key));
    },
    async hgetallMany(keys) {
      if (keys.length === 0) return [];
      const pipe = client.pipeline();
      for (const k of keys) pipe.hgetall(k);
      const rows: unknown[] = await pipe.exec();
      return rows.map((flat) => flatToRecord(flat));
    },
    async smembers(key) {
      return asStrings(await client.smembers(key));
    },
    async zcard(key) {
      return Number(await client.zcard(key));
    },
    async xrangeAfter(key, afterId, count) {
      // Raw reply: [[id, [field, value, …]], …].
      return toStreamEntries(await client.xrange(key, `(${afterId}`, '+', count));
    },
    async ping() {
      await client.ping();
    },
  };
}
