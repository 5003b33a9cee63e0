/**
 * The API's check that a function job names a function some spawner registered
 * (spawner/function-names.ts: the built-ins and KILN_FUNCTIONS_MODULE's exports, per
 * host). With none registered (no spawner yet, or its module cannot be imported) any
 * name is accepted.
 *
 * The registered names are kept for `ttlMs` so that a busy API does not read them on
 * every submit; a name not among the kept ones is read again before it is refused, so a
 * function added a moment ago is never refused. (One removed a moment ago may still be
 * accepted for up to `ttlMs`; its job then fails on the worker as `unknown_function`.)
 */
import { badRequest } from '../core/errors';
import type { Keys } from '../core/keys';
import type { RedisPort } from '../core/redis-port';

/** undefined: the name is among the names kept (no I/O, nothing to await); else a promise of the check. */
export type FunctionNameCheck = (name: string) => Promise<void> | undefined;

export function createFunctionNameCheck(deps: { redis: RedisPort; keys: Keys; now: () => number; ttlMs?: number }): FunctionNameCheck {
  const ttlMs = deps.ttlMs ?? 1000;
  let kept: { names: Set<string>; at: number } | undefined;
  const accepts = (names: Set<string>, name: string) => names.size === 0 || names.has(name);

  async function read(): Promise<Set<string>> {
    const byHost = await deps.redis.hgetall(deps.keys.functions());
    const names = new Set<string>();
    for (const json of Object.values(byHost)) {
      try {
        const list = JSON.parse(json) as unknown;
        if (Array.isArray(list)) for (const n of list) if (typeof n === 'string') names.add(n);
      } catch {
        // a malformed entry registers nothing
      }
    }
    return names;
  }

  async function reread(name: string): Promise<void> {
    kept = { names: await read(), at: deps.now() };
    if (accepts(kept.names, name)) return;
    throw badRequest('UNKNOWN_FUNCTION', `unknown function "${name}"; the registered functions are: ${[...kept.names].sort().join(', ')}`, 'function');
  }

  // the usual submit names a kept function: answered without a promise
  return (name) => (kept && deps.now() - kept.at < ttlMs && accepts(kept.names, name) ? undefined : reread(name));
}
