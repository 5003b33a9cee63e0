/**
 * Root globalSetup of `npm test`: what the `workers` project (tests/workers/, run
 * inside workerd) reaches over loopback, the way wrangler dev does — a real
 * redis-server behind the Upstash-compatible REST gateway at /redis (keys of the
 * `contract` prefix; /redis-entry serves the `entry` prefix), and a stand-in for
 * the spawner's `POST /workers/ensure/{type}` that checks the spawner's bearer
 * token and records each call (GET /test/ensure-calls lists them). The gateway has
 * its own token, as on a spawner. GET /test/gateway-commands lists the commands and
 * scripts the API sent through /redis, next to the gateway's allow-list; POST
 * /test/script-flush empties Redis's script cache. URLs and tokens reach
 * vitest.config.ts's miniflare bindings through `provide`.
 *
 * It stays at the root: a workerd project that inherited it would try to bundle
 * this Node-only code for workerd.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { createRedisGateway } from '../../spawner/redis-gateway';
import { GATEWAY_COMMANDS, GATEWAY_SCRIPTS } from '../../spawner/redis-gateway-allow-list';
import { CONTRACT_PREFIX, seedContractRedis } from './contract-seed';
import { startRedis } from './redis-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake spawner; its REST gateway is at `${edgeBackendUrl}/redis`. */
    edgeBackendUrl: string;
    /** Bearer token of the fake spawner. */
    edgeToken: string;
    /** Bearer token of the REST gateways (not the spawner's, as on a spawner). */
    edgeGatewayToken: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url, { protocol: 2, maxRetriesPerRequest: 1 });
  await seedContractRedis(redis);

  const token = crypto.randomUUID();
  const gatewayToken = crypto.randomUUID();
  const ensureCalls: { worker_type: string; authorized: boolean }[] = [];
  const commands = new Set<string>();
  const scripts = new Set<string>();
  const connect = () => new Redis(redisServer.url, { protocol: 2, maxRetriesPerRequest: 1 });
  const gateways = [
    createRedisGateway({
      connect, token: gatewayToken, prefix: CONTRACT_PREFIX,
      onCommand(name, script) {
        commands.add(name);
        if (script) scripts.add(script);
      },
    }),
    createRedisGateway({ connect, token: gatewayToken, prefix: 'entry' }),
  ] as const;
  const app = new Hono();
  app.route('/redis', gateways[0].app);
  app.route('/redis-entry', gateways[1].app);
  app.get('/test/gateway-commands', (c) =>
    c.json({
      used: { commands: [...commands].sort(), scripts: [...scripts].sort() },
      allowed: { commands: GATEWAY_COMMANDS, scripts: GATEWAY_SCRIPTS.map((s) => s.script.name).sort() },
    }),
  );
  app.post('/test/script-flush', async (c) => c.json({ flushed: await redis.script('FLUSH') }));
  app.post('/workers/ensure/:type', (c) => {
    const authorized = c.req.header('authorization') === `Bearer ${token}`;
    ensureCalls.push({ worker_type: c.req.param('type'), authorized });
    if (!authorized) return c.json({ error: { code: 'UNAUTHORIZED', message: 'bad token' } }, 401);
    return c.json({ worker_type: c.req.param('type'), action: 'already-running', worker_id: 'fake-worker' });
  });
  app.get('/test/ensure-calls', (c) => c.json(ensureCalls));
  app.get('/health', (c) => c.json({ status: 'ok' }));

  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const addr = server.address();
  if (typeof addr !== 'object' || !addr) throw new Error('edge test backend: no port');
  project.provide('edgeBackendUrl', `http://127.0.0.1:${addr.port}`);
  project.provide('edgeToken', token);
  project.provide('edgeGatewayToken', gatewayToken);

  return async () => {
    await new Promise<void>((r) => server.close(() => r()));
    for (const g of gateways) g.close();
    redis.disconnect();
    await redisServer.stop();
  };
}
