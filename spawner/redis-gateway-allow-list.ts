/**
 * What the REST gateway serves: exactly the Redis commands and Lua scripts that the
 * Kiln API sends when it runs in workerd, where every Redis call goes through
 * core/upstash-port.ts. Everything else is refused before anything runs.
 *
 * Derived from the port and its callers in api/ and core/:
 *   ping      RedisPort.ping            GET /health
 *   hgetall   RedisPort.hgetall(Many)   jobs, workers, types, hosts, type state
 *   smembers  RedisPort.smembers        GET /workers/status (the workers set)
 *   xrange    RedisPort.xrangeAfter     SSE (events stream), a job's metrics history
 *   evalsha   RedisPort.runScript       the API's Lua scripts, below
 *   eval      RedisPort.runScript       its fallback on NOSCRIPT, with the same scripts
 * tests/workers/contract.workers.test.ts records what the contract suite sends in
 * workerd and fails when the API uses a command or script not listed here, or
 * stops using one that is.
 *
 * Keys: every key argument, and every KEYS entry of a script, must start with the
 * configured prefix's root (`{kiln}:`); so must the ARGV entries that a script turns
 * into key (or channel) names. There is no SELECT: the gateway's connection is the
 * database of REDIS_URL.
 */
import { createHash } from 'node:crypto';
import { keyRoot } from '../core/keys';
import * as lua from '../core/lua/scripts';
import type { LuaScript } from '../core/redis-port';

export interface GatewayCommand {
  /** Lower-case command name. */
  name: string;
  args: string[];
}

export interface Refusal {
  status: 400 | 403;
  code: 'COMMAND_NOT_ALLOWED' | 'SCRIPT_NOT_ALLOWED' | 'KEY_NOT_ALLOWED' | 'BAD_COMMAND';
  message: string;
}

/**
 * The Lua scripts the API runs (core/job-store.ts, core/job-logs.ts), and which of
 * their ARGV (1-based, as in each script's header) name a key or channel prefix.
 */
export const GATEWAY_SCRIPTS: readonly { script: LuaScript; argvPrefixes: readonly number[] }[] = [
  { script: lua.enqueueJob, argvPrefixes: [] }, //   POST /jobs
  { script: lua.listJobs, argvPrefixes: [4] }, //    GET /jobs
  { script: lua.cancelJob, argvPrefixes: [5] }, //   POST /jobs/{id}/cancel, DELETE /jobs/{id} (ARGV[5]: the cancel channel prefix)
  { script: lua.readJobLogs, argvPrefixes: [] }, //  GET /jobs/{id}/logs
  { script: lua.typeCounts, argvPrefixes: [1, 2, 3, 4] }, // GET /workers/status
  { script: lua.eventsTail, argvPrefixes: [] }, //  GET /jobs/{id}/events (where a live job's stream starts)
  { script: lua.probeWrite, argvPrefixes: [] }, //   GET /health and the Redis gate of every data route
];

/** Most entries one XRANGE may ask for (the API asks for 500 and 1,001). */
export const XRANGE_MAX_COUNT = 10_000;

const bySha = new Map(GATEWAY_SCRIPTS.map((s) => [s.script.sha, s]));

const show = (s: string, max = 80): string => JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);

const bad = (message: string): Refusal => ({ status: 400, code: 'BAD_COMMAND', message: `ERR ${message}` });

export interface GatewayRules {
  /** The key root every key must start with (`{prefix}:`). */
  readonly root: string;
  /** Why the command is not served (403) or malformed (400); null when it may run. */
  check(cmd: GatewayCommand): Refusal | null;
  /** The name of the Kiln script an EVAL/EVALSHA runs, 'unknown' for another script; undefined for other commands. */
  scriptOf(cmd: GatewayCommand): string | undefined;
}

interface Rule {
  /** Arguments after the name: at least, at most. */
  arity: readonly [number, number];
  check(args: string[], ctx: RuleContext): Refusal | null;
}

interface RuleContext {
  name: string;
  keys(keys: readonly string[]): Refusal | null;
}

const noKeys: Rule['check'] = () => null;
const firstKey: Rule['check'] = (args, ctx) => ctx.keys([args[0]!]);

function xrangeCheck(args: string[], ctx: RuleContext): Refusal | null {
  const count = args[4] ?? '';
  if (args[3]?.toLowerCase() !== 'count' || !/^[1-9]\d{0,6}$/.test(count) || Number(count) > XRANGE_MAX_COUNT) {
    return bad(`xrange through the REST gateway takes key, start, end, COUNT n (n from 1 to ${XRANGE_MAX_COUNT}); got ${show(args.slice(1).join(' '))}`);
  }
  return ctx.keys([args[0]!]);
}

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex');

const scriptList = GATEWAY_SCRIPTS.map((s) => s.script.name).join(', ');

/** The KEYS and prefix ARGV of an EVAL/EVALSHA of a known script; `sha` is the script's. */
function scriptCheck(sha: string | undefined, args: string[], ctx: RuleContext): Refusal | null {
  const entry = sha === undefined ? undefined : bySha.get(sha);
  if (!entry) {
    const what = ctx.name === 'eval' ? `a script whose SHA1 is ${sha}` : `script ${show(args[0]!, 40)}`;
    return {
      status: 403,
      code: 'SCRIPT_NOT_ALLOWED',
      message: `ERR command '${ctx.name}' of ${what} is not allowed through the REST gateway: it runs only the Kiln API's own Lua scripts (${scriptList}, from core/lua/scripts.ts); connect to Redis directly for anything else`,
    };
  }
  const numkeys = args[1]!;
  if (!/^(0|[1-9]\d{0,5})$/.test(numkeys) || Number(numkeys) > args.length - 2) {
    return bad(`${ctx.name} of ${entry.script.name}: numkeys ${show(numkeys, 20)} must be a whole number no larger than the number of arguments after it`);
  }
  const n = Number(numkeys);
  const keys = args.slice(2, 2 + n);
  const argv = args.slice(2 + n);
  return ctx.keys([...keys, ...entry.argvPrefixes.map((i) => argv[i - 1] ?? '')]);
}

const RULES = new Map<string, Rule>([
  ['ping', { arity: [0, 1], check: noKeys }],
  ['hgetall', { arity: [1, 1], check: firstKey }],
  ['smembers', { arity: [1, 1], check: firstKey }],
  ['xrange', { arity: [5, 5], check: xrangeCheck }],
  ['evalsha', { arity: [2, Infinity], check: (args, ctx) => scriptCheck(args[0]!.toLowerCase(), args, ctx) }],
  ['eval', { arity: [2, Infinity], check: (args, ctx) => scriptCheck(sha1(args[0]!), args, ctx) }],
]);

/** The command names the gateway serves, sorted. */
export const GATEWAY_COMMANDS: readonly string[] = [...RULES.keys()].sort();

export function createGatewayRules(prefix: string): GatewayRules {
  const root = keyRoot(prefix);
  const commandList = GATEWAY_COMMANDS.join(', ');

  return {
    root,
    check({ name, args }) {
      const rule = RULES.get(name);
      if (!rule) {
        return {
          status: 403,
          code: 'COMMAND_NOT_ALLOWED',
          message: `ERR command ${show(name, 40).replace(/^"|"$/g, "'")} is not allowed through the REST gateway: it serves only the commands the Kiln API uses (${commandList}); connect to Redis directly for anything else`,
        };
      }
      const [min, max] = rule.arity;
      if (args.length < min || args.length > max) {
        return bad(`wrong number of arguments for '${name}' through the REST gateway (${args.length}; the Kiln API sends ${min === max ? min : `${min} or more`})`);
      }
      const ctx: RuleContext = {
        name,
        keys(keys) {
          const outside = keys.find((k) => !k.startsWith(root));
          if (outside === undefined) return null;
          return {
            status: 403,
            code: 'KEY_NOT_ALLOWED',
            message: `ERR key ${show(outside)} of command '${name}' is not allowed through the REST gateway: every key must start with ${show(root)} (KILN_PREFIX)`,
          };
        },
      };
      return rule.check(args, ctx);
    },
    scriptOf({ name, args }) {
      if (name !== 'eval' && name !== 'evalsha') return undefined;
      const sha = name === 'eval' ? sha1(args[0] ?? '') : (args[0] ?? '').toLowerCase();
      return bySha.get(sha)?.script.name ?? 'unknown';
    },
  };
}
