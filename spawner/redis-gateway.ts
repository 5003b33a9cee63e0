/**
 * An Upstash-REST-compatible gateway to a local Redis, so that the Kiln API running
 * in workerd (no TCP sockets) reaches it with @upstash/redis. It speaks exactly what
 * @upstash/redis 1.39 sends (shared/notes/upstash-rest.md):
 *
 *   POST /            one command, a JSON array        → {"result": X} | 4xx/5xx {"error", "code"}
 *   POST /pipeline    an array of commands              → 200 [{"result"} | {"error"}, …]
 *   POST /multi-exec  the same, as one MULTI/EXEC        → 200 [{"result"} | {"error"}, …]
 *
 * It is no root shell: every request needs its own bearer token, and serves only
 * the commands and Lua scripts the API uses, on keys under one prefix
 * (redis-gateway-allow-list.ts). A pipeline or transaction is checked whole before
 * any of it runs. Each request's commands have a timeout (redis-gateway-connection.ts).
 *
 * Replies come back raw: with `Upstash-Encoding: base64` every string is base64 of
 * its bytes; integers stay numbers, nil is null. Errors keep Upstash's shape (a
 * string in `error`, which the SDK shows) plus an UPPER_SNAKE `code`; a 5xx never
 * carries Redis's own error text (it goes to the log).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type Redis, ReplyError } from 'ioredis';
import type { LogFn } from '../core/logger';
import { createGatewayRules, type GatewayCommand, type Refusal } from './redis-gateway-allow-list';
import { type BatchRows, createGatewayConnection, GatewayTimeout } from './redis-gateway-connection';
import { jsonTextDepth, MAX_JSON_DEPTH, tooDeepMessage } from '../core/json-depth';

export interface RedisGatewayOptions {
  /** Opens a connection created with `protocol: 2` to the one database served; the gateway owns it. */
  connect: () => Redis;
  /** Bearer token every request must carry (the gateway's own, not the spawner's). */
  token: string;
  /** KILN_PREFIX: every key must start with `{prefix}:`. */
  prefix: string;
  /** No reply within this many ms answers a timeout error; default 2000. */
  timeoutMs?: number;
  /** Largest accepted request body; default 1 MiB. Larger bodies get 413. */
  maxBodyBytes?: number;
  log?: LogFn;
  /**
   * Called for each command received, before the checks, with the Kiln script an
   * EVAL/EVALSHA names ('unknown' for any other script): tests record what the API sends.
   */
  onCommand?: (name: string, script: string | undefined) => void;
}

export interface RedisGateway {
  /** Mount with `app.route('/redis', gateway.app)`. */
  app: Hono;
  /** Closes its Redis connections. */
  close(): void;
}

type Entry = { result: unknown } | { error: string };

class HttpError extends Error {
  constructor(readonly status: 400 | 403 | 413, readonly code: string, message: string) {
    super(message);
  }
}

const refused = (r: Refusal, where?: string) =>
  new HttpError(r.status, r.code, where ? r.message.replace(/^ERR /, `ERR ${where}: `) : r.message);
const badRequest = (message: string) => new HttpError(400, 'BAD_REQUEST', `ERR ${message}`);

function toArg(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw badRequest(`${where}: arguments must be strings, numbers or booleans`);
}

/** Redis command names: letters first, then letters, digits, `_`, `.`, `-` or `|` (module commands have dots). */
const COMMAND_NAME = /^[a-z][a-z0-9_.|-]{0,63}$/;

function parseCommand(v: unknown, where: string): GatewayCommand {
  if (!Array.isArray(v) || v.length === 0) throw badRequest(`${where} must be a non-empty JSON array such as ["hgetall","{kiln}:types"]`);
  const [name, ...args] = v as unknown[];
  if (typeof name !== 'string' || name === '') {
    const hint = Array.isArray(name) ? '; a list of commands goes to POST /pipeline' : '';
    throw badRequest(`${where} must start with the command name as a string${hint}`);
  }
  const lower = name.toLowerCase();
  // ioredis looks command names up in plain objects: "__proto__" left a command without
  // reject() in its queue, and Redis's error reply for it threw an uncaught exception.
  if (!COMMAND_NAME.test(lower)) throw badRequest(`${where}: ${JSON.stringify(name.slice(0, 64))} is not a command name`);
  return { name: lower, args: args.map((a) => toArg(a, where)) };
}

function parseCommandList(v: unknown, endpoint: string): GatewayCommand[] {
  if (!Array.isArray(v)) throw badRequest(`the body of POST ${endpoint} must be a JSON array of commands such as [["ping"]]`);
  return v.map((c, i) => parseCommand(c, `command ${i + 1}`));
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
const UNREACHABLE = 'ERR the gateway could not get an answer from Redis; the spawner log has the details';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function createRedisGateway(opts: RedisGatewayOptions): RedisGateway {
  if (!opts.token) throw new Error('createRedisGateway: token must be a non-empty string');
  const log: LogFn = opts.log ?? (() => {});
  const rules = createGatewayRules(opts.prefix);
  const timeoutMs = opts.timeoutMs ?? 2000;
  const conn = createGatewayConnection({ connect: opts.connect, timeoutMs, log });
  const expected = sha256(opts.token);
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;

  const app = new Hono();

  app.use('*', async (c, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    // Comparing fixed-length digests keeps the time independent of where tokens differ.
    if (!m || !timingSafeEqual(sha256(m[1]!), expected)) {
      c.header('WWW-Authenticate', 'Bearer');
      return c.json({ error: 'Unauthorized: send the REST gateway token (KILN_REDIS_GATEWAY_TOKEN, or redis-gateway.token in the state folder) as "Authorization: Bearer <token>"', code: 'UNAUTHORIZED' }, 401);
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
    const tooLarge = () => new HttpError(413, 'BODY_TOO_LARGE', `ERR the request body is larger than the gateway's limit of ${maxBodyBytes} bytes; send fewer commands per request`);
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(declared) > maxBodyBytes) throw tooLarge();
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
        throw tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function readJson(c: Context): Promise<unknown> {
    const text = await readBody(c);
    if (jsonTextDepth(text) > MAX_JSON_DEPTH) throw badRequest(tooDeepMessage('the request body'));
    try {
      return JSON.parse(text);
    } catch (err) {
      throw badRequest(`the request body is not valid JSON: ${messageOf(err)}`);
    }
  }

  /** Checks every command before any runs; throws the first refusal. */
  function admit(cmds: GatewayCommand[], numbered: boolean): void {
    if (opts.onCommand) for (const cmd of cmds) opts.onCommand(cmd.name, rules.scriptOf(cmd));
    cmds.forEach((cmd, i) => {
      const refusal = rules.check(cmd);
      if (refusal) throw refused(refusal, numbered ? `command ${i + 1}` : undefined);
    });
  }

  const wantsBase64 = (c: Context) => c.req.header('upstash-encoding')?.toLowerCase() === 'base64';

  function entryOf(err: Error | null, value: unknown, base64: boolean): Entry {
    if (!err) return { result: encodeReply(value, base64) };
    if (isReplyError(err)) return { error: err.message };
    log('warn', 'REST gateway: no answer from Redis', { error: messageOf(err) });
    return { error: UNREACHABLE };
  }

  /** A whole request that failed outside Redis's own replies: a timeout (504) or no Redis (503). */
  function failure(c: Context, err: unknown) {
    if (err instanceof GatewayTimeout) return c.json({ error: `ERR ${err.message}; try again, and see the spawner log if it persists`, code: 'REDIS_TIMEOUT' }, 504);
    log('warn', 'REST gateway: no answer from Redis', { error: messageOf(err) });
    return c.json({ error: UNREACHABLE, code: 'REDIS_UNAVAILABLE' }, 503);
  }

  app.post('/', async (c) => {
    const cmd = parseCommand(await readJson(c), 'the body of POST /');
    admit([cmd], false);
    try {
      return c.json({ result: encodeReply(await conn.send(cmd), wantsBase64(c)) });
    } catch (err) {
      if (isReplyError(err)) return c.json({ error: err.message, code: 'REDIS_ERROR' }, 400);
      return failure(c, err);
    }
  });

  app.post('/pipeline', async (c) => {
    const cmds = parseCommandList(await readJson(c), '/pipeline');
    admit(cmds, true);
    if (cmds.length === 0) return c.json([]);
    const base64 = wantsBase64(c);
    let rows: BatchRows;
    try {
      // One command: no pipeline object (the common case under auto-pipelining).
      rows = cmds.length === 1
        ? await conn.send(cmds[0]!).then((v): BatchRows => [[null, v]], (err: unknown): BatchRows => {
          if (err instanceof GatewayTimeout) throw err;
          return [[err instanceof Error ? err : new Error(String(err)), null]];
        })
        : await conn.pipeline(cmds);
    } catch (err) {
      return failure(c, err);
    }
    return c.json(cmds.map((_, i) => entryOf(rows[i]?.[0] ?? null, rows[i]?.[1], base64)));
  });

  app.post('/multi-exec', async (c) => {
    const cmds = parseCommandList(await readJson(c), '/multi-exec');
    // A transaction runs whole or not at all: one refused command refuses it.
    admit(cmds, true);
    if (cmds.length === 0) return c.json([]);
    const base64 = wantsBase64(c);
    try {
      const rows = await conn.multi(cmds);
      return c.json(rows.map(([err, value]) => entryOf(err, value, base64)));
    } catch (err) {
      if (isReplyError(err)) {
        // EXECABORT: a command was rejected while queueing; say which.
        const previous = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
        const detail = previous.map((e) => e.message).join('; ');
        return c.json({ error: detail ? `${err.message} ${detail}` : err.message, code: 'REDIS_ERROR' }, 400);
      }
      return failure(c, err);
    }
  });

  app.all('*', (c) =>
    c.json({ error: `ERR the REST gateway serves POST /, POST /pipeline and POST /multi-exec, not ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 100)}`, code: 'NOT_FOUND' }, 404),
  );

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message, code: err.code }, err.status);
    log('error', 'REST gateway: internal error', { error: messageOf(err) });
    return c.json({ error: 'ERR internal gateway error; the spawner log has the details', code: 'INTERNAL' }, 500);
  });

  return { app, close: () => conn.close() };
}
