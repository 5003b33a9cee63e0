/**
 * Hono's default router with the matches of static paths remembered. The API's routes
 * fit only Hono's TrieRouter (its RegExpRouter cannot hold POST /jobs/training beside
 * POST /jobs/:id/cancel), which walks its tree on every request (~2–4 µs a submit).
 * A request whose path is one some route or middleware was registered at, letter for
 * letter (`/jobs`, not `/jobs/`), gets the match the router gave the first such request:
 * such a match has no parameters, so it is the same for every request. Any other path
 * (ids, typos, a trailing slash) is matched by the router as before.
 */
import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

/** A path without parameters, wildcards, patterns or optional parts. */
const isStatic = (path: string): boolean => !/[:*?{]/.test(path);

export class StaticRouteCache<T> implements Router<T> {
  readonly name: string;
  readonly #inner: Router<T>;
  readonly #paths = new Set<string>();
  readonly #matches = new Map<string, Result<T>>();

  constructor(inner: Router<T> = new SmartRouter<T>({ routers: [new RegExpRouter<T>(), new TrieRouter<T>()] })) {
    this.#inner = inner;
    this.name = `StaticRouteCache(${inner.name})`;
  }

  add(method: string, path: string, handler: T): void {
    this.#inner.add(method, path, handler);
    if (isStatic(path)) this.#paths.add(path);
    this.#matches.clear();
  }

  match(method: string, path: string): Result<T> {
    if (!this.#paths.has(path)) return this.#inner.match(method, path);
    const key = `${method} ${path}`;
    let hit = this.#matches.get(key);
    if (hit === undefined) {
      hit = this.#inner.match(method, path);
      // bounded by the static paths times the methods Node's parser lets through
      if (this.#matches.size < 4096) this.#matches.set(key, hit);
    }
    return hit;
  }
}
