/** The API app over a test Redis, with a JSON request helper. */
import type { Redis } from 'ioredis';
import { createApp } from '../../api/app';
import { DEFAULT_API_CONFIG, type ApiConfig } from '../../api/deps';
import { createSpawnerClient } from '../../api/spawner-client';
import { createIoredisPort } from '../../core/ioredis-port';
import { createKeys } from '../../core/keys';
import type { JobEndWatch } from '../../api/job-end-watch';

export interface TestApi {
  app: ReturnType<typeof createApp>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  job(id: string): Promise<any>;
}

export function createTestApi(opts: {
  redis: Redis; prefix: string; spawnerUrl?: string | undefined; token?: string | undefined; config?: Partial<ApiConfig>; jobEnds?: JobEndWatch | undefined;
}): TestApi {
  const app = createApp({
    redis: createIoredisPort(opts.redis),
    keys: createKeys(opts.prefix),
    spawner: createSpawnerClient({ url: opts.spawnerUrl, token: opts.token }),
    config: { ...DEFAULT_API_CONFIG, ...opts.config },
    now: Date.now,
    newId: () => crypto.randomUUID(),
    ...(opts.jobEnds && { jobEnds: opts.jobEnds }),
  });
  const api: TestApi = {
    app,
    async request(method, path, body, headers = {}) {
      const res = await app.request(path, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      try {
        return { status: res.status, body: JSON.parse(text) as unknown, headers: res.headers };
      } catch {
        return { status: res.status, body: text, headers: res.headers };
      }
    },
    async job(id) {
      return (await api.request('GET', `/jobs/${id}`)).body;
    },
  };
  return api;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, log: () => string[] = () => []): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nlog:\n${log().slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
