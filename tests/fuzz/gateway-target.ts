/**
 * How the Upstash-compatible Redis REST gateway (spawner/redis-gateway.ts) is fuzzed
 * (tests/security-fuzz-gateway.test.ts and `npm run fuzz`): commands the workerd API
 * sends, commands it must refuse (blocking, connection state, admin, other
 * databases, scripts), unknown ones, arguments of every kind, pipelines and
 * transactions, and bodies that are not commands at all. Never generated: a script
 * that loops forever (it would stall the test's Redis, not test the gateway).
 */
import fc from 'fast-check';
import type { FuzzAnswer } from './check';
import { headersArb, METHODS, printable, unknownPathArb, type FuzzRequest } from './http-arb';
import { anyJson, deepNesting, hostileValue, hugeNumber, nastyString, render } from './json-tree';

/** What @upstash/redis sends for Kiln's API, and what a token holder might try. */
export const GATEWAY_COMMANDS = [
  'get', 'set', 'del', 'exists', 'expire', 'pexpire', 'ttl', 'hget', 'hset', 'hgetall', 'hmget', 'hdel', 'hincrby', 'hlen', 'smembers', 'sadd', 'srem',
  'scard', 'zadd', 'zrange', 'zrevrange', 'zrangebyscore', 'zcard', 'zscore', 'zrem', 'zpopmin', 'lpush', 'rpush', 'lpop', 'lrange', 'llen', 'xadd',
  'xrange', 'xrevrange', 'xlen', 'xtrim', 'xread', 'xreadgroup', 'evalsha', 'eval', 'eval_ro', 'script', 'ping', 'echo', 'incr', 'incrby', 'mget', 'scan',
  'type', 'keys', 'dbsize', 'info', 'time', 'flushdb', 'rename', 'copy', 'object', 'memory', 'dump', 'restore', 'sort', 'publish', 'function', 'fcall',
  // refused today: blocking, connection state, transactions, pub/sub, admin
  'blpop', 'brpop', 'bzpopmin', 'blmove', 'wait', 'select', 'client', 'hello', 'auth', 'reset', 'quit', 'multi', 'exec', 'watch', 'subscribe',
  'psubscribe', 'monitor', 'config', 'debug', 'shutdown', 'flushall', 'swapdb', 'save', 'bgsave', 'replicaof', 'slaveof', 'cluster', 'module', 'acl',
  'migrate', 'sync', 'psync', 'failover',
] as const;

/** Scripts that end: plain values, nested tables, errors, calls, one that empties the database. */
const SCRIPTS = [
  'return 1', 'return 1.5', 'return true', 'return false', 'return nil', "return 'x'", 'return {1,2,{3,"a",{4}}}', "return redis.error_reply('E fuzz')",
  "return redis.status_reply('OK')", "return redis.call('get', KEYS[1])", "return redis.call('set', KEYS[1], ARGV[1])", "return {err='E nested'}",
  "return {1, redis.error_reply('E inside a table')}", "error('raised')", 'syntax error here', "return redis.call('flushdb')", "return redis.call('select', 1)",
  "return redis.call('nosuchcommand')", "return redis.pcall('incr', KEYS[1])", '', 'return string.rep("x", 100000)',
] as const;

const KEYS = ['kiln:jobs', 'kiln:types', 'fuzz:k1', 'fuzz:k2', 'fuzz:h', 'fuzz:z', 'fuzz:s', 'fuzz:x', 'other-prefix:k', '', '*', '__proto__'] as const;

const argArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('0', '1', '-1', '10', '*', '+', '-', '$', '>', 'block', 'BLOCK', 'streams', 'count', 'MATCH', 'LIMIT', 'NX', 'EX', 'WITHSCORES', 'load', 'flush', 'kill', 'exists', 'help', 'usage') },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: hugeNumber.map((t) => Number(render(t))) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 1.5, -0, { a: 1 }, [1, [2]], {}) },
  { weight: 1, arbitrary: fc.constantFrom(...SCRIPTS) },
);

const nameArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...GATEWAY_COMMANDS) },
  { weight: 1, arbitrary: fc.constantFrom(...GATEWAY_COMMANDS).map((c) => c.toUpperCase()) },
  { weight: 1, arbitrary: fc.oneof(nastyString, fc.constantFrom('', 'EVAL ', ' get')) },
);

/** One command: eval and evalsha get a script (or a SHA) and a key count that fits or does not. */
const commandArb: fc.Arbitrary<unknown[]> = fc.tuple(nameArb, fc.array(argArb, { maxLength: 6 }), fc.constantFrom(...SCRIPTS), fc.integer({ min: -1, max: 3 })).map(([name, args, script, numKeys]) => {
  const n = name.toLowerCase();
  if (n === 'eval' || n === 'eval_ro') return [name, script, numKeys, ...args];
  if (n === 'evalsha') return [name, args.length % 2 ? 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db' : 'x', numKeys, ...args];
  if (n === 'script') return [name, 'load', script];
  return [name, ...args];
});

/** Bodies for POST /, /pipeline and /multi-exec: mostly commands, sometimes anything. */
function bodyFor(endpoint: string, maxDepth: number | undefined): fc.Arbitrary<string> {
  const hostile = hostileValue({ maxString: 100_000, ...(maxDepth !== undefined && { maxDepth }) });
  const commands = fc.array(commandArb, { maxLength: 5 });
  const wellFormed = endpoint === '/' ? commandArb.map((c) => JSON.stringify(c)) : commands.map((cs) => JSON.stringify(cs));
  return fc.oneof(
    { weight: 8, arbitrary: wellFormed },
    { weight: 1, arbitrary: (endpoint === '/' ? commands : commandArb).map((c) => JSON.stringify(c)) },
    { weight: 1, arbitrary: fc.oneof(hostile, deepNesting(maxDepth), anyJson).map(render) },
    { weight: 1, arbitrary: fc.constantFrom('', 'get', '[', '["get"', 'null', '[]', '[[]]', '[null]', '[1]', '[["get","k"],"x"]', '{"cmd":"get"}') },
  );
}

/** The gateway's endpoints as its app serves them (`app.routes`), relative to where it is mounted. */
export function gatewayEndpoints(app: { routes: readonly { method: string; path: string }[] }, mount: string): string[] {
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || !(r.path === mount || r.path.startsWith(`${mount}/`))) continue;
    out.add(r.path.slice(mount.length) || '/');
  }
  return [...out];
}

export interface GatewayFuzzTarget {
  /** From gatewayEndpoints: '/' takes one command, the others a list. */
  endpoints: readonly string[];
  /** Tokens that pass (the gateway's own, and the spawner's where it is shared). */
  tokens: readonly string[];
  /** Where the gateway is mounted ('' when its app is the server, '/redis' in the spawner). */
  mount: string;
  bodyOnAnyMethod?: boolean;
  /** Deepest nesting to send (see MAX_DEEP_NESTING). */
  maxDepth?: number;
}

export function gatewayRequestArb(t: GatewayFuzzTarget): fc.Arbitrary<FuzzRequest> {
  const headers = {
    withBody: headersArb({ goodAuth: t.tokens.map((x) => `Bearer ${x}`), hasBody: true, framingWithoutBody: false }),
    withoutBody: headersArb({ goodAuth: t.tokens.map((x) => `Bearer ${x}`), hasBody: false, framingWithoutBody: false }),
  };
  const known = fc.constantFrom(...t.endpoints).chain((endpoint) =>
    fc.record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      body: fc.option(bodyFor(endpoint, t.maxDepth), { freq: 15 }),
      withBody: headers.withBody,
      withoutBody: headers.withoutBody,
    }).map(({ method, body, withBody, withoutBody }) => {
      const send = body !== null && (t.bodyOnAnyMethod || (method !== 'GET' && method !== 'HEAD')) ? body : undefined;
      const path = endpoint === '/' ? t.mount || '/' : `${t.mount}${endpoint}`;
      return printable({ route: `gateway ${endpoint}`, method, path, headers: send === undefined ? withoutBody : withBody, ...(send !== undefined && { body: send }) });
    }),
  );
  const unknown = fc.record({ method: fc.constantFrom(...METHODS), path: unknownPathArb, headers: headers.withoutBody }).map(({ method, path, headers: h }) =>
    printable({ route: 'unknown path', method, path: `${t.mount}${path}`, headers: h }),
  );
  return fc.oneof({ weight: 10, arbitrary: known }, { weight: 1, arbitrary: unknown });
}

/** A 2xx of the gateway speaks Upstash's protocol: `{"result":…}` for one command, a list of `{"result"}|{"error"}` for a batch. */
export function gatewaySuccessProblems(req: FuzzRequest, ans: FuzzAnswer, mount: string): string[] {
  if (ans.status < 200 || ans.status >= 300 || req.method === 'HEAD') return [];
  let v: unknown;
  try {
    v = JSON.parse(ans.body) as unknown;
  } catch {
    return ['a 2xx of the gateway that is not JSON'];
  }
  const isEntry = (e: unknown) =>
    typeof e === 'object' && e !== null && !Array.isArray(e) && (Object.keys(e).join() === 'result' || (Object.keys(e).join() === 'error' && typeof (e as { error: unknown }).error === 'string'));
  const path = req.path.split('?')[0]!;
  if (path === `${mount}/pipeline` || path === `${mount}/multi-exec`) {
    return Array.isArray(v) && v.every(isEntry) ? [] : ['a batch answer that is not a list of {"result"} / {"error"} entries'];
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).join() === 'result' ? [] : ['a command answer that is not {"result": …}'];
}
