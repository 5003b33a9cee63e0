/**
 * `npm start`: Redis (a local redis-server when none answers and REDIS_URL is
 * unset), the spawner daemon and the API, in one process tree. Ctrl-C stops all.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startApiServer } from '../api/node';
import { intEnv } from '../core/config';
import { loadSpawnerConfig } from '../spawner/config';
import { startSpawner } from '../spawner/daemon';

const say = (m: string) => process.stdout.write(`${m}\n`);

function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
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

async function localRedis(stateDir: string, port: number): Promise<ChildProcess | undefined> {
  if (await redisAnswers('127.0.0.1', port)) {
    say(`redis: using the Redis already answering on 127.0.0.1:${port}`);
    return undefined;
  }
  if (spawnSync('redis-server', ['--version']).error) {
    process.stderr.write(
      `No Redis answers on 127.0.0.1:${port} and redis-server is not installed.\n` +
        'Install it:  sudo apt-get install -y redis-server   (Debian/Ubuntu)\n' +
        '             brew install redis                      (macOS)\n' +
        'or point Kiln at a Redis you have:  REDIS_URL=redis://host:6379 npm start\n',
    );
    process.exit(1);
  }
  const dir = join(stateDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers('127.0.0.1', port)) {
      say(`redis: started redis-server on 127.0.0.1:${port} (pid ${child.pid}, data in ${dir}, appendonly yes)`);
      return child;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 5 s`);
}

async function main(): Promise<void> {
  const env = { ...process.env };
  const config0 = loadSpawnerConfig(env);
  let redisChild: ChildProcess | undefined;
  if (!env.REDIS_URL && !env.REDIS_HOST) redisChild = await localRedis(config0.stateDir, intEnv(env, 'REDIS_PORT', 6379));
  const config = loadSpawnerConfig(env);
  const spawner = await startSpawner(config);
  const api = startApiServer({ ...env, WORKER_MANAGER_URL: env.WORKER_MANAGER_URL ?? spawner.url, SPAWNER_TOKEN: spawner.token });
  try {
    await api.listening;
  } catch (err) {
    await spawner.stop(0);
    redisChild?.kill('SIGTERM');
    throw err;
  }
  say(`spawner: ${spawner.url}   (token in ${config.stateDir}/spawner.token)`);
  say(`api:     ${api.url}        try: curl -s ${api.url}/health`);
  say('Ctrl-C stops everything.');

  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) {
      say(`${sig} again: stopping workers now`);
      await spawner.stop(0);
      redisChild?.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    say(`${sig}: stopping (drain up to ${config.drainGraceMs} ms; press Ctrl-C again to force)`);
    await api.close();
    await spawner.stop();
    if (redisChild && redisChild.exitCode === null) {
      const exited = new Promise((r) => redisChild!.once('exit', r));
      redisChild.kill('SIGTERM');
      await exited;
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`kiln: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
