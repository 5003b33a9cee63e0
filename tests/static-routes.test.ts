/**
 * The API's router remembers the matches of static paths (api/openapi/static-routes.ts):
 * every request must be matched exactly as Hono's own router matches it, `/jobs/`
 * included (it is not `/jobs`).
 */
import { Hono } from 'hono';
import type { Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import { describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { DEFAULT_API_CONFIG } from '../api/deps';
import { createSpawnerClient } from '../api/spawner-client';
import { StaticRouteCache } from '../api/openapi/static-routes';
import { createKeys } from '../core/keys';
import type { RedisPort } from '../core/redis-port';

const PATHS = [
  '/jobs', '/jobs/', '//jobs', '/jobs/training', '/jobs/training/', '/jobs/inference', '/jobs/abc', '/jobs/abc/cancel', '/jobs/abc/events',
  '/jobs/abc/logs', '/workers', '/workers/', '/workers/status', '/health', '/', '/openapi.json', '/docs', '/nope', '/JOBS',
];
const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'];

/** The API's routes (one app: the same handlers), registered into each router. */
function apiRoutes<T>(...routers: Router<T>[]): void {
  const app = createApp({
    redis: {} as RedisPort, // never called: only the route table is read
    keys: createKeys('static-routes'),
    spawner: createSpawnerClient({ url: '', token: undefined }),
    config: DEFAULT_API_CONFIG,
    now: Date.now,
    newId: () => 'x',
  });
  expect(app.router).toBeInstanceOf(StaticRouteCache);
  for (const router of routers) for (const r of app.routes) router.add(r.method, r.path, r.handler as T);
}

describe('StaticRouteCache', () => {
  it('matches every method and path as Hono’s router does, the second time (remembered) as the first', () => {
    const plain = new SmartRouter<unknown>({ routers: [new RegExpRouter(), new TrieRouter()] });
    const cached = new StaticRouteCache<unknown>();
    apiRoutes(plain, cached);
    for (let round = 0; round < 2; round++) {
      for (const m of METHODS) for (const p of PATHS) expect(cached.match(m, p), `${m} ${p}`).toEqual(plain.match(m, p));
    }
  });

  it('asks the router once per method and static path; every time for any other path', () => {
    const inner = new TrieRouter<string>();
    const asked: string[] = [];
    const counting: Router<string> = { name: 'counting', add: (m, p, h) => inner.add(m, p, h), match: (m, p) => (asked.push(`${m} ${p}`), inner.match(m, p)) };
    const router = new StaticRouteCache(counting);
    router.add('POST', '/jobs', 'submit');
    router.add('GET', '/jobs/:id', 'get');
    for (let i = 0; i < 3; i++) {
      expect(router.match('POST', '/jobs')[0].map(([h]) => h)).toEqual(['submit']);
      expect(router.match('GET', '/jobs/a')[0].map(([h, p]) => [h, p])).toEqual([['get', { id: 'a' }]]);
    }
    expect(asked).toEqual(['POST /jobs', 'GET /jobs/a', 'GET /jobs/a', 'GET /jobs/a']);
  });

  it('serves POST /jobs/ as not found, not as POST /jobs', async () => {
    const app = new Hono({ router: new StaticRouteCache() });
    app.post('/jobs', (c) => c.text('submit'));
    app.get('/jobs/:id', (c) => c.text(`job ${c.req.param('id')}`));
    for (let i = 0; i < 2; i++) {
      expect(await (await app.request('/jobs', { method: 'POST' })).text()).toBe('submit');
      expect((await app.request('/jobs/', { method: 'POST' })).status).toBe(404);
      expect(await (await app.request('/jobs/a1')).text()).toBe('job a1');
      expect(await (await app.request('/jobs/b2')).text()).toBe('job b2');
    }
  });
});
