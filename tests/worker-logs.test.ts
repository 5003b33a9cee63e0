/**
 * Worker logs end to end with real processes: a worker's own output (and its
 * Python runner's) lands in its log file under the state folder, GET
 * /workers/:id/logs serves and follows it, the spawner console prints one line
 * per start, exit, failed job and version warning, and LOG_LEVEL / LOG_FORMAT
 * shape the console of a spawner process.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/api';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { spawnerEnv, startSpawnerProcess, type SpawnerProcess } from './helpers/spawner-process';
import { startSystem, type System } from './helpers/system';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures');
const FAKE = join(FIXTURES, 'fake_framework');
const PY = '/usr/bin/python3';

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      noisy: { framework: 'node', version: '20', max_jobs: 4, max_workers: 8, idle_timeout: 60 },
      oldfake: {
        framework: 'fake', version: '9.9', version_policy: 'warn', python: PY, python_path: [FAKE], max_jobs: 1, max_workers: 1, idle_timeout: 60,
        env: { KILN_FAKE_IMPORT_STDERR: 'fake framework: stderr at import' },
      },
    },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'noisy-functions.mjs'), KILN_HANDLERS_DIR: join(FAKE, 'handlers') },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const json = (r: Response): Promise<any> => r.json() as Promise<any>;
const logPath = (id: string) => join(sys.stateDir, 'logs', 'workers', `${id}.log`);
const fileLines = (id: string) => (existsSync(logPath(id)) ? readFileSync(logPath(id), 'utf8').split('\n').filter(Boolean) : []);
const spawnerFetch = (path: string, init: RequestInit & { token?: string | null } = {}) => {
  const token = init.token === undefined ? sys.spawner.token : init.token;
  return fetch(`${sys.spawner.url}${path}`, { ...init, headers: token ? { authorization: `Bearer ${token}` } : {} });
};
const startNoisy = async () => {
  const w = sys.spawner.supervisor.start('noisy');
  await sys.waitFor(`${w.id} ready`, async () => w.state === 'idle');
  return w.id;
};

interface SseEvent { event: string; id?: string; data: string }

/** Reads an SSE response to its end (or abort), collecting events. */
async function collectSse(res: Response, events: SseEvent[]): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const e: SseEvent = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          const [k, ...rest] = line.split(':');
          const v = rest.join(':').replace(/^ /, '');
          if (k === 'event') e.event = v;
          else if (k === 'id') e.id = v;
          else if (k === 'data') e.data += v;
        }
        events.push(e);
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
}

describe('worker log files', () => {
  it("puts a worker's console output outside jobs in its log file, with time and stream", async () => {
    const id = await startNoisy();
    const lines = await sys.waitFor('the import lines in the log file', async () => {
      const l = fileLines(id);
      return l.some((x) => x.includes('noisy: stderr line at import')) && l.some((x) => x.includes('[worker] ready')) && l;
    });
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z stdout noisy: stdout line at import$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z stderr noisy: stderr line at import$/));
    // the worker's own logger (LOG_LEVEL info by default) writes there too, outside its workdir
    expect(lines).toContainEqual(expect.stringMatching(/ stderr \S+ info \[worker\] ready: node /));
    expect(logPath(id).startsWith(join(sys.stateDir, 'logs', 'workers'))).toBe(true);
  });

  it('serves GET /workers/:id/logs with the token only, 404 for an unknown worker', async () => {
    const id = await startNoisy();
    await sys.waitFor('the import line', async () => fileLines(id).some((x) => x.includes('stdout line at import')));
    const anonymous = await spawnerFetch(`/workers/${id}/logs`, { token: null });
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).error.code).toBe('UNAUTHORIZED');
    const wrong = await spawnerFetch(`/workers/${id}/logs`, { token: 'not-the-token' });
    expect(wrong.status).toBe(401);

    const ok = await spawnerFetch(`/workers/${id}/logs`);
    expect(ok.status).toBe(200);
    const body = await json(ok);
    expect(body.worker_id).toBe(id);
    expect(body.lines).toContainEqual({ ts: expect.stringMatching(/Z$/), stream: 'stdout', text: 'noisy: stdout line at import' });
    expect(typeof body.next_cursor).toBe('string'); // the worker lives: more may come

    const one = await json(await spawnerFetch(`/workers/${id}/logs?tail=1`));
    expect(one.lines).toHaveLength(1);
    expect(one.lines[0]).toEqual(body.lines.at(-1));

    const tooMany = await spawnerFetch(`/workers/${id}/logs?tail=9999`);
    expect(tooMany.status).toBe(400);
    expect((await json(tooMany)).error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'tail' });

    const unknown = await spawnerFetch('/workers/noisy-00000000/logs');
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.code).toBe('WORKER_NOT_FOUND');
  });

  it('follows a line written later and ends when the worker has exited', async () => {
    const id = await startNoisy();
    const res = await spawnerFetch(`/workers/${id}/logs?follow=true&tail=0`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events: SseEvent[] = [];
    const done = collectSse(res, events);
    await sys.waitFor('the follow to be open', async () => sys.spawner.workerLogs.following.size > 0);
    expect(events).toEqual([]); // tail=0: nothing old
    // The drain makes the worker log a line, then exit: both come after the follow began.
    const stop = await spawnerFetch(`/workers/stop/${id}?grace_ms=5000`, { method: 'POST' });
    expect(stop.status).toBe(200);
    await done;
    const logs = events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as { stream: string; text: string });
    expect(logs).toContainEqual(expect.objectContaining({ stream: 'stderr', text: expect.stringContaining('draining: 0 job(s) running') }));
    expect(logs.at(-1)).toEqual(expect.objectContaining({ stream: 'spawner', text: 'worker process exited (code 0)' }));
    expect(events.at(-1)!.event).toBe('end');
    expect(JSON.parse(events.at(-1)!.data).worker_id).toBe(id);
    expect(events.filter((e) => e.event === 'log').every((e) => /^\d+:\d+$/.test(e.id ?? ''))).toBe(true);

    // the file outlives the worker's workdir, and the answer says nothing more will come
    const after = await json(await spawnerFetch(`/workers/${id}/logs`));
    expect(after.lines.at(-1).text).toBe('worker process exited (code 0)');
    expect(after.next_cursor).toBeNull();
    expect(sys.spawner.supervisor.workers.has(id)).toBe(false);
  });

  it('stops following at once when the client goes away', async () => {
    const id = await startNoisy();
    const ctrl = new AbortController();
    const res = await spawnerFetch(`/workers/${id}/logs?follow=true`, { signal: ctrl.signal });
    const events: SseEvent[] = [];
    const done = collectSse(res, events);
    await sys.waitFor('the follow to be open', async () => sys.spawner.workerLogs.following.size > 0);
    await sys.waitFor('the tail to arrive', async () => events.some((e) => e.data.includes('stdout line at import')));
    ctrl.abort();
    await done;
    await sys.waitFor('the follow to end on the server', async () => sys.spawner.workerLogs.following.size === 0, 3000);
    expect(sys.spawner.supervisor.workers.has(id)).toBe(true); // it ended because of the client, not the worker
  });
});

describe('spawner console and worker record', () => {
  it('shows a version-policy warning on the record, on status (spawner and API) and in the console; the runner\'s stderr reaches the file', async () => {
    const w = sys.spawner.supervisor.start('oldfake');
    const status = await sys.waitFor('the warning on the spawner status', async () => {
      const s = await json(await spawnerFetch('/workers/status'));
      return s.worker_details?.[w.id]?.warning && s;
    });
    expect(status.worker_details[w.id].warning).toMatch(/expects fake 9\.9 but .* has fake 0\.1\.0/);
    const api = await sys.request('GET', '/workers/status');
    expect(api.body.worker_details[w.id].warning).toBe(status.worker_details[w.id].warning);
    expect((await sys.request('GET', `/workers/${w.id}`)).body.warning).toBe(status.worker_details[w.id].warning);
    expect(sys.logs.filter((l) => l.startsWith(`warn ${w.id} version warning: this worker type expects fake 9.9`))).toHaveLength(1);
    await sys.waitFor("the runner's import line in the worker's file", async () => fileLines(w.id).some((l) => / stderr fake framework: stderr at import$/.test(l)));
    // a type whose version matches has no warning
    const noisy = await json(await spawnerFetch('/workers/status'));
    const plain = Object.values(noisy.worker_details as Record<string, { worker_type: string; warning: unknown }>).filter((d) => d.worker_type === 'noisy');
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.every((d) => d.warning === null)).toBe(true);
  });

  it('prints one console line per failed job (retrying, then failed) and none for a job that succeeds', async () => {
    const submit = async (body: unknown) => {
      const r = await sys.request('POST', '/jobs', body);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return r.body.job_id as string;
    };
    const until = (id: string, status: string) => sys.waitFor(`${id} ${status}`, async () => (await sys.job(id)).status === status, 30_000);
    const bad = await submit({ function: 'failOnPurpose', worker_type: 'noisy', max_attempts: 2, backoff: { delay_ms: 0 } });
    const good = await submit({ function: 'echo', input: { hi: 1 }, worker_type: 'noisy' });
    await until(bad, 'failed');
    await until(good, 'succeeded');
    const lines = await sys.waitFor('two console lines for the failed job', async () => {
      const l = sys.logs.filter((x) => x.includes(bad));
      return l.length >= 2 && l;
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^warn job ${bad} retrying \\(attempt 1/2\\): handler_error: failed on purpose`));
    expect(lines[1]).toMatch(new RegExp(`^warn job ${bad} failed \\(attempt 2/2\\): handler_error: failed on purpose`));
    expect(JSON.parse(lines[1]!.slice(lines[1]!.indexOf(' {') + 1))).toMatchObject({ job_id: bad, outcome: 'failed', error_type: 'handler_error', attempt: 2, worker_type: 'noisy' });
    expect(sys.logs.some((x) => x.includes(good))).toBe(false);
  });

  it('prints one line per worker start and exit, with the reason', async () => {
    const id = await startNoisy();
    const started = sys.logs.filter((l) => l.startsWith(`info started ${id} `));
    expect(started).toHaveLength(1);
    expect(started[0]).toContain('"worker_type":"noisy"');
    await spawnerFetch(`/workers/stop/${id}`, { method: 'POST' });
    const exit = await sys.waitFor('the exit line', async () => sys.logs.find((l) => l.includes(`${id} exited:`)));
    expect(exit).toMatch(new RegExp(`^info ${id} exited: worker stopped by POST /workers/stop`));
    expect(exit).toContain('"reason":"stopped"');
  });
});

describe('LOG_LEVEL and LOG_FORMAT of a spawner process', () => {
  const procs: SpawnerProcess[] = [];
  const states: string[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    for (const d of states) rmSync(d, { recursive: true, force: true });
  });
  let n = 0;
  const launch = async (functionsModule: string, extra: Record<string, string>) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kiln-wlogs-'));
    states.push(stateDir);
    const env = await spawnerEnv({
      redisUrl: redis.url, prefix: `wlogs${process.pid}x${++n}`, stateDir,
      types: { noisy: { framework: 'node', version: '20', max_jobs: 1, max_workers: 1, idle_timeout: 60 } },
      extra: { KILN_FUNCTIONS_MODULE: functionsModule, ...extra },
    });
    const p = await startSpawnerProcess(env);
    procs.push(p);
    const call = (method: string, path: string) => fetch(`${p.url}${path}`, { method, headers: { authorization: `Bearer ${p.token}` } });
    return { p, call };
  };

  it('LOG_FORMAT=json prints one JSON object per line, for the spawner and its workers', async () => {
    const { p, call } = await launch(join(FIXTURES, 'noisy-functions.mjs'), { LOG_FORMAT: 'json' });
    const { worker_id: id } = await json(await call('POST', '/workers/start/noisy'));
    const started = await waitFor('the started line', async () => p.log.find((l) => l.includes(`started ${id}`)), 15_000, () => p.log);
    const objects = p.log.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.every((o) => typeof o.ts === 'string' && typeof o.level === 'string' && o.component === 'spawner' && typeof o.msg === 'string')).toBe(true);
    expect(objects.some((o) => o.level === 'info' && String(o.msg).startsWith('listening on'))).toBe(true);
    expect(JSON.parse(started)).toMatchObject({ level: 'info', msg: `started ${id}`, worker_id: id, worker_type: 'noisy', pid: expect.any(Number) });
    // the worker got LOG_FORMAT too: its own lines in its file are JSON
    const ready = await waitFor('the worker ready line', async () => {
      const body = await json(await call('GET', `/workers/${id}/logs`));
      return (body.lines as { stream: string; text: string }[]).find((l) => l.stream === 'stderr' && l.text.includes('"msg":"ready'));
    }, 15_000);
    expect(JSON.parse(ready.text)).toMatchObject({ level: 'info', component: 'worker', worker_id: id });
  });

  it('LOG_LEVEL=warn hides info lines but keeps warnings and errors', async () => {
    const { p, call } = await launch(join(FIXTURES, 'broken-functions.mjs'), { LOG_LEVEL: 'warn' });
    const r = await call('POST', '/workers/start/noisy');
    expect(r.status).toBe(201);
    const { worker_id: id } = await json(r);
    // the start (info) comes before the failed start's exit (warn) and the type's error state (error)
    await waitFor('the exit and type-state lines', async () => p.log.some((l) => l.includes(`${id} exited: worker failed to start`)) && p.log.some((l) => / error \[spawner\] worker type noisy errored: /.test(l)), 15_000, () => p.log);
    expect(p.log.filter((l) => / info \[spawner\] /.test(l))).toEqual([]);
    expect(p.log.filter((l) => l.includes('worker type noisy errored'))).toHaveLength(1);
    expect(p.log.find((l) => l.includes(`${id} exited:`))).toMatch(/ warn \[spawner\] /);
  });

  it('refuses a bad LOG_LEVEL or LOG_FORMAT at start with the variable and the allowed values', async () => {
    const run = promisify(execFile);
    const fail = async (script: string, env: Record<string, string>) => {
      const err = await run(process.execPath, [join(ROOT, 'dist', script), ...(script === 'cli.mjs' ? ['serve'] : [])], {
        env: { PATH: process.env.PATH ?? '', REDIS_URL: redis.url, KILN_STATE_DIR: tmpdir(), SPAWNER_PORT: '1', API_PORT: '1', ...env }, timeout: 15_000,
      }).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(err, `${script} should have refused to start`).toBeDefined();
      return err!;
    };
    const spawner = await fail('cli.mjs', { LOG_LEVEL: 'verbose' });
    expect(spawner.code).toBe(5); // the CLI's exit status for a bad local config
    expect(spawner.stderr.trim()).toBe('spawner: LOG_LEVEL=verbose is not a log level; use one of debug, info, warn, error');
    const format = await fail('cli.mjs', { LOG_FORMAT: 'xml' });
    expect(format.stderr).toContain('LOG_FORMAT=xml is not a log format; use one of text, json');
    const api = await fail('api.mjs', { LOG_LEVEL: 'loud' });
    expect(api.code).toBe(1);
    expect(api.stderr.trim()).toBe('kiln api: LOG_LEVEL=loud is not a log level; use one of debug, info, warn, error');
  });
});
