/**
 * Whether Redis can take a request right now, known without waiting on it: a small
 * write probe (what a submit needs, so a Redis at maxmemory fails it as submits
 * would) whose verdict stands for `freshMs`, plus what real requests report. A
 * route asks `usable()` first and answers 503 at once while Redis is in trouble,
 * instead of queueing behind a dead connection; /health asks `check()`.
 */
import { DEFAULTS } from './config';
import type { Keys } from './keys';
import { probeWrite } from './lua/contracts';
import { describeTrouble, redisTrouble, redisUnavailable, type RedisTrouble } from './redis-errors';
import type { RedisPort } from './redis-port';

/** Default deadline of one Redis call (KILN_REDIS_TIMEOUT_MS), in both runtimes. */
export const DEFAULT_REDIS_TIMEOUT_MS = DEFAULTS.KILN_REDIS_TIMEOUT_MS;

export type RedisState = { ok: true } | { ok: false; trouble: RedisTrouble };

export interface RedisGateOptions {
  /** One write that fails the way requests would (core/lua/probe-write.lua). */
  probe(): Promise<unknown>;
  /** Longest wait for the probe; past it Redis counts as not answering. */
  timeoutMs: number;
  /** How long a verdict stands before the next request probes again (default 1000 ms). */
  freshMs?: number;
  now(): number;
  /** Called when the state changes (ok → trouble, trouble → ok), with the error behind it. */
  onChange?(state: RedisState, err: unknown): void;
}

const OK: RedisState = { ok: true };

/** Rejects with a TimeoutError when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what = 'Redis'): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>; // set at once by the executor
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what}: request timed out after ${ms} ms`);
      err.name = 'TimeoutError';
      reject(err);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The probe of `createRedisGate`: probe-write.lua on the prefix's probe key (it expires in 10 s). */
export function writeProbe(redis: RedisPort, keys: Keys, now: () => number): () => Promise<unknown> {
  return () => probeWrite(redis, { probe: keys.healthProbe() }, { value: now(), ttl_ms: 10_000 });
}

export function createRedisGate(opts: RedisGateOptions) {
  const freshMs = opts.freshMs ?? 1000;
  let state: RedisState = OK;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<RedisState> | undefined;

  function set(next: RedisState, err: unknown): void {
    const changed = next.ok !== state.ok || (!next.ok && !state.ok && next.trouble !== state.trouble);
    state = next;
    checkedAt = opts.now();
    if (changed) opts.onChange?.(next, err);
  }

  /** Probes now (one probe at a time; callers share it). Never throws. */
  function check(): Promise<RedisState> {
    inFlight ??= (async () => {
      try {
        await withTimeout(opts.probe(), opts.timeoutMs);
        set(OK, undefined);
      } catch (err) {
        set({ ok: false, trouble: redisTrouble(err) ?? 'refused' }, err);
      } finally {
        inFlight = undefined;
      }
      return state;
    })();
    return inFlight;
  }

  return {
    check,
    /** The last verdict when still fresh, else a new probe. Never throws. */
    async usable(): Promise<RedisState> {
      return opts.now() - checkedAt < freshMs ? state : check();
    },
    /** The last verdict while it is fresh (no I/O, no await), else undefined: then ask usable(). */
    fresh: (): RedisState | undefined => (opts.now() - checkedAt < freshMs ? state : undefined),
    /** The last verdict without any I/O (metrics, logs). */
    peek: (): RedisState => state,
    /** A request met Redis trouble: later requests answer 503 at once until a probe finds Redis fine. */
    report(err: unknown): RedisTrouble | undefined {
      const trouble = redisTrouble(err);
      if (trouble) set({ ok: false, trouble }, err);
      return trouble;
    },
  };
}

export type RedisGate = ReturnType<typeof createRedisGate>;

/**
 * Middleware (Hono's shape, without importing it): 503 REDIS_UNAVAILABLE at once
 * while the gate says Redis is in trouble; the Redis errors a route meets are
 * reported to the gate. Put it after authentication.
 */
export function redisGuard(gate: RedisGate) {
  const guarded = (c: { error?: unknown }, next: () => Promise<void>, state: RedisState): Promise<void> => {
    if (!state.ok) throw redisUnavailable(state.trouble);
    return next().then(() => {
      if (c.error) gate.report(c.error);
    });
  };
  // no await (and no async function) on the usual path: a fresh verdict is read as is
  return (c: { error?: unknown }, next: () => Promise<void>): Promise<void> => {
    const state = gate.fresh();
    if (state === undefined) return gate.usable().then((s) => guarded(c, next, s));
    try {
      return guarded(c, next, state);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** What the health routes show after a fresh probe: ok, and "ok" or "error: <what>". */
export async function redisHealth(gate: RedisGate, timeoutMs: number): Promise<{ ok: boolean; text: string }> {
  const state = await gate.check();
  return { ok: state.ok, text: describeTrouble(state.ok ? undefined : state.trouble, timeoutMs) };
}
