/**
 * The floor of an HTTP submit: a minimal Hono route on the API's server stack
 * (core/node-serve.ts over @hono/node-server, the API's HTTP limits, ioredis with
 * auto-pipelining) that parses the JSON body and runs one EVALSHA that stores the
 * job and queues its id. The fastest a submit over HTTP could be.
 */
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { applyHttpLimits, httpLimitsFromEnv, httpServerOptions } from '../core/http-limits';
import { serveWithJsonErrors } from '../core/node-serve';

const SUBMIT = `redis.call('HSET', KEYS[1], 'payload', ARGV[1], 'status', 'queued')
redis.call('LPUSH', KEYS[2], ARGV[2])
return ARGV[2]`;

export async function startSubmitFloor(redisUrl: string, port: number) {
  const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  const sha = (await redis.script('LOAD', SUBMIT)) as string;
  const app = new Hono().post('/jobs', async (c) => {
    const body = await c.req.json();
    const id = crypto.randomUUID();
    await redis.evalsha(sha, 2, `floor:job:${id}`, 'floor:queue', JSON.stringify(body), id);
    return c.json({ job_id: id }, 202);
  });
  const limits = httpLimitsFromEnv({});
  const server = serveWithJsonErrors({ fetch: app.fetch, hostname: '127.0.0.1', port, serverOptions: httpServerOptions(limits) });
  applyHttpLimits(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  return {
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      redis.disconnect();
    },
  };
}
