/**
 * Child-process entry: the spawner's REST gateway (mounted at /redis, as on a
 * spawner) over the Redis at argv[2], with the token argv[3], for keys under the
 * prefix argv[4]. Sends its port over IPC; stops when the IPC channel closes.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { createRedisGateway } from '../spawner/redis-gateway';

const [redisUrl, token, prefix] = process.argv.slice(2);
if (!redisUrl || !token || !prefix) throw new Error('usage: gateway-child.ts REDIS_URL TOKEN PREFIX');
const gateway = createRedisGateway({ connect: () => new Redis(redisUrl, { protocol: 2 }), token, prefix });
const app = new Hono().route('/redis', gateway.app);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => process.send?.({ port: info.port }));
process.on('disconnect', () => {
  server.close();
  gateway.close();
  process.exit(0);
});
