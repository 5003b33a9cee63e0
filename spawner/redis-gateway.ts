/**
 * An Upstash-REST-compatible gateway to a local Redis, so that code running in
 * workerd (no TCP sockets) reaches it with @upstash/redis. It speaks exactly what
 * @upstash/redis 1.39 sends (shared/notes/upstash-rest.md):
 *
 *   POST /            one command, a JSON array        → {"result": X} | 400 {"error"}
 *   POST /pipeline    an array of commands              → 200 [{"result"} | {"error"}, …]
 *   POST /multi-exec  the same, as one MULTI/EXEC        → 200 [{"result"} | {"error"}, …]
 *
 * Every request needs `Authorization: Bearer <token>`. Commands go to Redis raw and
 * replies come back raw (no ioredis reply transformers), so `hgetall` answers the
 * flat array Upstash answers. With `Upstash-Encoding: base64` every string in a
 * reply is base64 of its bytes; integers stay numbers, nil is null.
 *
 * All requests share one ioredis connection (the caller's, created with
 * `protocol: 2`), which is why blocking and connection-state commands are refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type ChainableCommander, Command, type Redis, ReplyError } from 'ioredis';

export interface RedisGatewayOptions {
  /** ioredis client created by the caller with `protocol: 2`; the gateway never closes it. */
  redis: Redis;
  /** Bearer token every request must carry. */
  token: string;
  /** Largest accepted request body; default 1 MiB. Larger bodies get 413. */
  maxBodyBytes?: number;
}

interface ParsedCommand {
  name: string;
  args: string[];
}

type Entry = { result: unknown } | { error: string };

/** What ioredis's pipeline and multi objects are at run time; their declared type omits sendCommand. */
interface RawBatch {
  sendCommand(command: Command): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}
const rawBatch = (c: ChainableCommander): RawBatch => c as unknown as RawBatch;

/** A command whose reply skips ioredis's reply transformers (hgetall → object …). */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

const BLOCKING = 'it blocks, and all gateway requests share one Redis connection; use the non-blocking form (lpop, lmove, zpopmin, xread without BLOCK) and poll';
const CONNECTION_STATE = 'it changes the state of the one Redis connection that all gateway requests share';
const TRANSACTION = 'a transaction must be sent as a whole to POST /multi-exec';
const PUBSUB = 'subscriptions need a dedicated connection, which the gateway does not offer';
const ADMIN = 'it administers the Redis server, which the gateway token does not grant';

/**
 * Commands the gateway refuses, with the reason it gives.
 *
 * Admin commands that reach beyond the data of this database — the server's
 * config, life, persistence, replication, other databases, other servers — are
 * refused: shutdown, config, debug, monitor (also takes the connection over),
 * flushall and swapdb (touch databases the gateway never selected), save/bgsave
 * (save stalls the server), replicaof, failover, cluster, module, acl, migrate.
 * FLUSHDB is allowed: it only deletes keys of the database the gateway serves, which
 * a token holder can already do with DEL/UNLINK, and @upstash/redis exposes it
 * (tests and dev tools use it). Read-only introspection (info, dbsize, scan, keys,
 * object, memory usage, slowlog get) is allowed; SCRIPT and FUNCTION are allowed
 * because EVALSHA's fallback and script caching depend on them.
 */
const REFUSED = new Map<string, string>([
  ...['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'wait', 'waitaof'].map(
    (c) => [c, BLOCKING] as const,
  ),
  ...['select', 'client', 'hello', 'auth', 'reset', 'quit', 'readonly', 'readwrite'].map((c) => [c, CONNECTION_STATE] as const),
  ...['multi', 'exec', 'discard', 'watch', 'unwatch'].map((c) => [c, TRANSACTION] as const),
  ...['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe'].map((c) => [c, PUBSUB] as const),
  ...[
    'shutdown', 'config', 'debug', 'monitor', 'flushall', 'swapdb', 'save', 'bgsave', 'bgrewriteaof', 'replicaof',
    'slaveof', 'failover', 'sync', 'psync', 'replconf', 'cluster', 'module', 'acl', 'migrate', 'sentinel',
  ].map((c) => [c, ADMIN] as const),
]);

/** Why a command is not served, or null when it is. */
export function refusalReason(name: string, args: readonly string[]): string | null {
  const reason = REFUSED.get(name);
  if (reason) return reason;
  if (name === 'xread' || name === 'xreadgroup') {
    // Options come before STREAMS; after it are key names and ids, which may be "block".
    for (const a of args) {
      const opt = a.toLowerCase();
      if (opt === 'streams') break;
      if (opt === 'block') return BLOCKING;
    }
  }
  return null;
}

class BadRequest extends Error {}
class TooLarge extends Error {}

/** Redis command names: letters first, then letters, digits, `_`, `.`, `-` or `|` (module commands have dots). */
const COMMAND_NAME = /^[a-z][a-z0-9_.|-]{0,63}$/;

const toArg = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));

function parseCommand(v: unknown, where: string): ParsedCommand {
  if (!Array.isArray(v) || v.length === 0) {
    throw new BadRequest(`ERR ${where} must be a non-empty JSON array such as ["get","key"]`);
  }
  const [name, ...args] = v as unknown[];
  if (typeof name !== 'string' || name === '') {
    const hint = Array.isArray(name) ? '; a list of commands goes to POST /pipeline' : '';
    throw new BadRequest(`ERR ${where} must start with the command name as a string${hint}`);
  }
  const lower = name.toLowerCase();
  // ioredis looks command names up in plain objects: "__proto__" left a command without
  // reject() in its queue, and Redis's error reply for it threw an uncaught exception.
  if (!COMMAND_NAME.test(lower)) throw new BadRequest(`ERR ${where}: ${JSON.stringify(name.slice(0, 64))} is not a command name`);
  return { name: lower, args: args.map(toArg) };
}

function parseCommandList(v: unknown, endpoint: string): ParsedCommand[] {
  if (!Array.isArray(v)) throw new BadRequest(`ERR the body of POST ${endpoint} must be a JSON array of commands such as [["get","key"]]`);
  return v.map((c, i) => parseCommand(c, `command ${i + 1}`));
}

function refusalMessage(cmd: ParsedCommand): string | null {
  const reason = refusalReason(cmd.name, cmd.args);
  return reason && `ERR command '${cmd.name}' is not allowed through the REST gateway: ${reason}`;
}

/** A reply as Upstash sends it: strings (base64 when asked), numbers, null, nested arrays. */
function encodeReply(v: unknown, base64: boolean): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString(base64 ? 'base64' : 'utf8');
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((x) => encodeReply(x, base64));
  // An error nested in an array (a Lua table holding error_reply) travels as its text.
  const s = v instanceof Error ? v.message : String(v);
  return base64 ? Buffer.from(s, 'utf8').toString('base64') : s;
}

const isReplyError = (err: unknown): err is Error => err instanceof (ReplyError as ErrorConstructor);
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const unreachable = (err: unknown): string => `ERR the gateway could not get an answer from Redis: ${messageOf(err)}`;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function createRedisGateway(opts: RedisGatewayOptions): Hono {
  const { redis } = opts;
  if (!opts.token) throw new Error('createRedisGateway: token must be a non-empty string');
  if (redis.options.protocol !== 2) {
    throw new Error('createRedisGateway: create the ioredis client with { protocol: 2 }; RESP3 replies do not map onto the Upstash protocol');
  }
  const expected = sha256(opts.token);
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;

  const app = new Hono();

  app.use('*', async (c, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    // Comparing fixed-length digests keeps the time independent of where tokens differ.
    if (!m || !timingSafeEqual(sha256(m[1]!), expected)) {
      c.header('WWW-Authenticate', 'Bearer');
      return c.json({ error: 'Unauthorized: send the gateway token as "Authorization: Bearer <token>"' }, 401);
    }
    await next();
  });

  /**
   * The body as text, at most maxBodyBytes. Not hono/body-limit: touching
   * `c.req.raw.body` makes @hono/node-server build a web stream for every request,
   * which cut throughput by three quarters. Node's HTTP parser holds a body to its
   * Content-Length, so a declared length can be trusted; only a chunked body is
   * counted while it is read.
   */
  async function readBody(c: Context): Promise<string> {
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(declared) > maxBodyBytes) throw new TooLarge();
      return c.req.text();
    }
    const body = c.req.raw.body;
    if (!body) return '';
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBodyBytes) {
        await reader.cancel();
        throw new TooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function readJson(c: Context): Promise<unknown> {
    const text = await readBody(c);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new BadRequest(`ERR the request body is not valid JSON: ${messageOf(err)}`);
    }
  }

  const wantsBase64 = (c: Context) => c.req.header('upstash-encoding')?.toLowerCase() === 'base64';

  async function send(cmd: ParsedCommand): Promise<unknown> {
    const command = new RawCommand(cmd.name, cmd.args);
    redis.sendCommand(command);
    return command.promise;
  }

  const toEntry = (err: unknown, value: unknown, base64: boolean): Entry =>
    err ? { error: isReplyError(err) ? err.message : unreachable(err) } : { result: encodeReply(value, base64) };

  app.post('/', async (c) => {
    const cmd = parseCommand(await readJson(c), 'the body of POST /');
    const refused = refusalMessage(cmd);
    if (refused) return c.json({ error: refused }, 400);
    try {
      return c.json({ result: encodeReply(await send(cmd), wantsBase64(c)) });
    } catch (err) {
      if (isReplyError(err)) return c.json({ error: err.message }, 400);
      return c.json({ error: unreachable(err) }, 503);
    }
  });

  app.post('/pipeline', async (c) => {
    const cmds = parseCommandList(await readJson(c), '/pipeline');
    const base64 = wantsBase64(c);
    const out: Entry[] = new Array<Entry>(cmds.length);
    const runnable: { cmd: ParsedCommand; index: number }[] = [];
    cmds.forEach((cmd, index) => {
      const refused = refusalMessage(cmd);
      if (refused) out[index] = { error: refused };
      else runnable.push({ cmd, index });
    });
    if (runnable.length === 1) {
      const { cmd, index } = runnable[0]!;
      out[index] = await send(cmd).then(
        (v) => toEntry(null, v, base64),
        (err: unknown) => toEntry(err, null, base64),
      );
    } else if (runnable.length > 1) {
      // One ioredis pipeline: the commands go out in one write, replies in order.
      const pipe = rawBatch(redis.pipeline());
      for (const { cmd } of runnable) pipe.sendCommand(new RawCommand(cmd.name, cmd.args));
      const rows = (await pipe.exec()) ?? [];
      runnable.forEach(({ index }, i) => {
        const [err, value] = rows[i] ?? [new Error('no reply')];
        out[index] = toEntry(err, value, base64);
      });
    }
    return c.json(out);
  });

  app.post('/multi-exec', async (c) => {
    const cmds = parseCommandList(await readJson(c), '/multi-exec');
    // A transaction runs whole or not at all: one refused command refuses it.
    for (const cmd of cmds) {
      const refused = refusalMessage(cmd);
      if (refused) return c.json({ error: refused }, 400);
    }
    if (cmds.length === 0) return c.json([]);
    const base64 = wantsBase64(c);
    // ioredis writes MULTI, the commands and EXEC in one go, so nothing from other
    // requests on the shared connection lands inside the transaction.
    const tx = rawBatch(redis.multi());
    for (const cmd of cmds) tx.sendCommand(new RawCommand(cmd.name, cmd.args));
    try {
      const rows = (await tx.exec()) ?? [];
      return c.json(rows.map(([err, value]) => toEntry(err, value, base64)));
    } catch (err) {
      if (!isReplyError(err)) return c.json({ error: unreachable(err) }, 503);
      // EXECABORT: a command was rejected while queueing; say which.
      const previous = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
      const detail = previous.map((e) => e.message).join('; ');
      return c.json({ error: detail ? `${err.message} ${detail}` : err.message }, 400);
    }
  });

  // Upstash's error shape for a path or method the protocol does not have (mounted with
  // app.route, the parent app's notFound answers instead).
  app.notFound((c) => c.json({ error: `ERR no such endpoint ${c.req.method} ${c.req.path}: the gateway serves POST /, POST /pipeline and POST /multi-exec` }, 404));

  app.onError((err, c) => {
    if (err instanceof BadRequest) return c.json({ error: err.message }, 400);
    if (err instanceof TooLarge) {
      return c.json({ error: `ERR the request body is larger than the gateway's limit of ${maxBodyBytes} bytes` }, 413);
    }
    return c.json({ error: `ERR internal gateway error: ${messageOf(err)}` }, 500);
  });

  return app;
}
