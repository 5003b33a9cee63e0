/**
 * Starts a real redis-server on a free loopback port for a test file, with its
 * data in a temporary folder. Stops it (by PID) when the test file is done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  proc: ChildProcess;
  client(): Redis;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing until resume(). */
  pause(): void;
  resume(): void;
  /** Kills the server and keeps its data folder (restart() brings it back). */
  halt(): Promise<void>;
  /** maxmemory 1 with noeviction: every write is refused with OOM; false restores no limit. */
  outOfMemory(on: boolean): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitReady(port: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch {
      c.disconnect();
      if (Date.now() > until) throw new Error(`redis-server on ${port} did not become ready`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export async function startRedis(opts: { appendonly?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kiln-redis-'));
  const clients: Redis[] = [];
  const launch = () =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc: launch(),
    client() {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3 });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients.splice(0)) c.disconnect();
      await kill(server.proc);
      // an AOF rewrite child may still be writing there for a moment
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
    async restart() {
      await kill(server.proc);
      server.proc = launch();
      await waitReady(port);
    },
    pause() {
      server.proc.kill('SIGSTOP');
    },
    resume() {
      server.proc.kill('SIGCONT');
    },
    async halt() {
      await kill(server.proc);
    },
    async outOfMemory(on) {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      try {
        await c.config('SET', 'maxmemory-policy', 'noeviction');
        await c.config('SET', 'maxmemory', on ? '1' : '0');
      } finally {
        c.disconnect();
      }
    },
  };
  await waitReady(port);
  return server;
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}
