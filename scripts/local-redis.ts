/**
 * The Redis of a local run (`npm start`, `npm run dev:edge`): the one already
 * answering on 127.0.0.1:PORT, or a redis-server started here — in its own
 * process group, so that Ctrl-C reaches it only through stopLocalRedis, after the
 * spawner has written its last state.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { makePrivateDir, prepareStateDir } from '../spawner/state-dir';

const say = (m: string) => process.stdout.write(`${m}\n`);

export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

/**
 * Redis on 127.0.0.1:port: undefined when one already answers (it is not ours to
 * stop), else the redis-server child started here, data in `<stateDir>/redis`
 * (the state folder made private, 0700, first).
 * Throws with install instructions when redis-server is missing.
 */
export async function localRedis(stateDir: string, port: number, command = 'npm start'): Promise<ChildProcess | undefined> {
  if (await redisAnswers('127.0.0.1', port)) {
    say(`redis: using the Redis already answering on 127.0.0.1:${port}`);
    return undefined;
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(
      `No Redis answers on 127.0.0.1:${port} and redis-server is not installed.\n` +
        'Install it:  sudo apt-get install -y redis-server   (Debian/Ubuntu)\n' +
        '             brew install redis                      (macOS)\n' +
        `or point Kiln at a Redis you have:  REDIS_URL=redis://host:6379 ${command}`,
    );
  }
  // the state folder is private before Redis writes into it (spawner/state-dir.ts)
  prepareStateDir(stateDir, (m) => say(`warning: ${m}`));
  const dir = join(stateDir, 'redis');
  makePrivateDir(dir);
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers('127.0.0.1', port)) {
      say(`redis: started redis-server on 127.0.0.1:${port} (pid ${child.pid}, data in ${dir}, appendonly yes)`);
      return child;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 5 s`);
}

/** Stops a child started here (SIGTERM, SIGKILL after graceMs); a child already gone is fine. */
export async function stopChild(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
