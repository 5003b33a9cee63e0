/**
 * A three-master Redis Cluster on loopback for one test file: three
 * `redis-server --cluster-enabled yes` on free ports in a temporary folder, joined with
 * `redis-cli --cluster create … --cluster-yes`; ready once every node says
 * cluster_state:ok. stop() ends the servers by PID and removes the folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freePort } from './redis-server';

const run = promisify(execFile);

export interface RedisCluster {
  ports: number[];
  /** An ioredis Cluster client (disconnected by stop()). */
  client(): Cluster;
  stop(): Promise<void>;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`redis cluster: ${what} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cli = (port: number, ...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cluster-'));
  const ports: number[] = [];
  while (ports.length < 3) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      ['--cluster-enabled', 'yes', '--port', String(port), '--bind', '127.0.0.1', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    ),
  );
  const clients: Cluster[] = [];
  const cluster: RedisCluster = {
    ports,
    client() {
      const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: 3 } });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients.splice(0)) c.disconnect();
      await Promise.all(
        procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise<void>((resolve) => {
          p.once('exit', () => resolve());
          if (p.pid !== undefined) process.kill(p.pid, 'SIGTERM');
        }))),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const port of ports) await until(`node ${port} answering`, async () => ((await cli(port, 'ping')).stdout.trim() === 'PONG' ? true : undefined));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], { timeout: 20_000 });
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, async () => ((await cli(port, 'cluster', 'info')).stdout.includes('cluster_state:ok') ? true : undefined));
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
