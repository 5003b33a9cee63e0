/**
 * The `kiln` CLI for jobs, run as a real process (bin/kiln.mjs) against a real
 * system: redis-server, the spawner forking node workers, and the API served
 * over HTTP.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJob } from '../spawner/cli/job-view';
import { applyEvent } from '../spawner/cli/jobs-watch';
import { readSse } from '../spawner/cli/sse';
import { statusText } from '../spawner/cli/status-render';
import { liveLine, plainLine } from '../spawner/cli/watch-render';
import { createTestApi } from './helpers/api';
import { type HttpApp, serveHttp } from './helpers/http-app';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const ROOT = join(import.meta.dirname, '..');
const KILN = join(ROOT, 'bin', 'kiln.mjs');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let redis: RedisServer;
let sys: System;
let api: HttpApp;
const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-jobs-'));

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', max_jobs: 8, max_workers: 1 },
      // a GPU type on a host without GPUs: its jobs wait
      'gpu-node': { framework: 'node', version: '20', gpu: true },
    },
    spawner: { gpusOverride: 'none' },
  });
  api = await serveHttp(sys.api);
});
afterAll(async () => {
  await api?.close();
  await sys?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A clean environment: no token or URL of the machine running the tests leaks in. */
const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, KILN_API_URL: api.url });

function kiln(args: string[], env: NodeJS.ProcessEnv = baseEnv()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KILN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A CLI process left running while the test does something else. */
function kilnBackground(args: string[]): { done: Promise<Run>; stdout: () => string } {
  const proc = spawn(process.execPath, [KILN, ...args], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve) => proc.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { done, stdout: () => stdout };
}

const lines = (s: string) => s.split('\n').filter(Boolean);
const jsonLines = (s: string) => lines(s).map((l) => JSON.parse(l) as Record<string, any>);

async function submit(...args: string[]): Promise<string> {
  const r = await kiln(['jobs', 'submit', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(UUID);
  return id;
}

const finished = (id: string) => sys.waitFor(`job ${id} to finish`, async () => {
  const j = await sys.job(id);
  return ['succeeded', 'failed', 'cancelled'].includes(j.status) && j;
});

describe('kiln jobs submit / get / list / cancel', () => {
  it('submits a function job, shows it, and lists it as a table or JSON', async () => {
    const id = await submit('--function', 'echo', '--input', '{"x": 1}', '--priority', '5');
    expect((await finished(id)).status).toBe('succeeded');

    const [got, human, table, listedRun, noneRun] = await Promise.all([
      kiln(['jobs', 'get', id, '--json']),
      kiln(['jobs', 'get', id]),
      kiln(['jobs', 'list']),
      kiln(['jobs', 'list', '--json', '--type', 'node', '--limit', '10']),
      kiln(['jobs', 'list', '--json', '--status', 'failed']),
    ]);
    expect(got.code).toBe(0);
    const view = JSON.parse(got.stdout);
    expect(view).toMatchObject({ job_id: id, status: 'succeeded', priority: 5, result: { x: 1 } });

    expect(human.stdout).toMatch(new RegExp(`^job\\s+${id}$`, 'm'));
    expect(human.stdout).toMatch(/^status\s+succeeded$/m);
    expect(human.stdout).toContain('result    {"x":1}');

    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^JOB_ID\s+TYPE\s+STATUS\s+ATTEMPTS\s+PROGRESS\s+AGE\s+DURATION/m);
    const row = lines(table.stdout).find((l) => l.startsWith(id));
    expect(row).toMatch(/\bnode\s+succeeded\s+1\/3\s+100%\s+[\d.]+m?s\s+\d+ms\s+-$/);

    const listed = JSON.parse(listedRun.stdout);
    expect(listed.jobs.map((j: { job_id: string }) => j.job_id)).toContain(id);
    const none = JSON.parse(noneRun.stdout);
    expect(none.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(id);
  });

  it('builds training bodies from flags, replays an idempotency key, and cancels a queued job', async () => {
    const args = ['training', '--model-type', 'random_forest', '--data-path', 'iris.csv', '--hp', 'n_estimators=50', '--hp', 'criterion=gini',
      '--worker-type', 'gpu-node', '--idempotency-key', `k-${sys.prefix}`];
    const id = await submit(...args);
    const again = await kiln(['jobs', 'submit', ...args, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ job_id: id, idempotent_replay: true });

    const view = JSON.parse((await kiln(['jobs', 'get', id, '--json'])).stdout);
    expect(view).toMatchObject({ kind: 'training', status: 'queued', payload: { model_type: 'random_forest', data_path: 'iris.csv', hyperparameters: { n_estimators: 50, criterion: 'gini' } } });

    const cancelled = await kiln(['jobs', 'cancel', id]);
    expect(cancelled).toMatchObject({ code: 0, stdout: `cancelled ${id}\n` });
    expect((await sys.job(id)).status).toBe('cancelled');
    const twice = await kiln(['jobs', 'cancel', id]);
    expect(twice.code).toBe(5);
    expect(twice.stderr).toContain('409');
  });
});

describe('kiln jobs watch', () => {
  it('exits 0 for a succeeded job and prints one plain line per change when stdout is not a TTY', async () => {
    const r = await kiln(['jobs', 'submit', '--function', 'progress', '--input', '{"steps": 3, "ms": 300}', '--watch']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(UUID);
    expect(r.stdout).not.toMatch(/[\r\x1b]/);
    const changes = out.slice(1, -2);
    expect(changes[0]).toMatch(/^queued 0% \(waiting \d/);
    for (const step of ['33% step 1/3', '67% step 2/3', '100% step 3/3']) expect(changes.some((l) => l.startsWith(`running ${step} `) && /loss=[\d.]+ accuracy=[\d.]+ \(elapsed /.test(l)), step).toBe(true);
    expect(new Set(changes).size).toBe(changes.length);
    expect(out.at(-2)).toMatch(/^succeeded in \d/);
    expect(out.at(-1)).toBe('result: {"steps":3}');
  });

  it('--json prints one JSON object per line, ending with the job', async () => {
    const r = await kiln(['jobs', 'submit', '--function', 'progress', '--input', '{"steps": 2, "ms": 400}', '--watch', '--json']);
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events[0]).toMatchObject({ event: 'submitted', status: 'queued' });
    expect(events[1]).toMatchObject({ event: 'job', job: { job_id: events[0]!.job_id } });
    expect(events.filter((e) => e.event === 'progress').map((e) => e.message)).toEqual(['step 1/2', 'step 2/2']);
    expect(events.at(-1)).toMatchObject({ event: 'end', job: { status: 'succeeded', result: { steps: 2 } } });
  });

  it('exits 1 for a failed job', async () => {
    const id = await submit('--function', 'fail', '--input', '{"message": "bad input row", "retryable": false}');
    const r = await kiln(['jobs', 'watch', id]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('failed after 1/3 attempt(s): FunctionError: bad input row');
  });

  it('exits 2 when the job is cancelled while it is watched', async () => {
    const id = await submit('--function', 'sleep', '--input', '{"ms": 60000}');
    const watch = kilnBackground(['jobs', 'watch', id]);
    await sys.waitFor('the watch to see the job run', async () => /^running /m.test(watch.stdout()));
    const cancel = await kiln(['jobs', 'cancel', id]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(/^cancell(ed|ing) /);
    const r = await watch.done;
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^cancelled after /m);
  });

  it('draws a live bar redrawn in place on a TTY', async () => {
    // `script` gives the CLI a pseudo-terminal; -e passes its exit status through
    const cmd = [process.execPath, KILN, 'jobs', 'submit', '--function', 'progress', '--input', '{"steps": 4, "ms": 250}', '--watch'].map((a) => `'${a}'`).join(' ');
    const r = await new Promise<Run>((resolve) => {
      execFile('script', ['-qefc', cmd, '/dev/null'], { env: { ...baseEnv(), COLUMNS: '100', LINES: '30' }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
    });
    expect(r.code).toBe(0);
    const frames = r.stdout.split('\r\x1b[2K').slice(1);
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.some((f) => /^running\s+█+░+\s+50%\s+elapsed [\d.]+m?s\s+step 2\/4/.test(f))).toBe(true);
    expect(r.stdout).toContain('\x1b[?25l');
    expect(r.stdout).toMatch(/succeeded in \d/);
    expect(r.stdout).toContain('\x1b[?25h');
  });

  it('exits 3 for an unknown job', async () => {
    const r = await kiln(['jobs', 'watch', 'no-such-job']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no job no-such-job');
  });
});

/**
 * A fixture API that misbehaves: job "drops" has an event stream that breaks
 * after two events (and replays from the start on reconnect); job "nostream"
 * has no event stream at all, only GET /jobs/:id.
 */
function flakyApi(): Hono {
  const view = (id: string, status: string, progress: number) => ({
    job_id: id, status, worker_type: 'node', kind: 'function', attempts: 1, max_attempts: 1, progress, progress_message: null,
    result: status === 'succeeded' ? { ok: true } : null, error: null, created_at: new Date(0).toISOString(), started_at: new Date(0).toISOString(), finished_at: null,
  });
  const app = new Hono();
  let connections = 0;
  let polls = 0;
  const events = [
    { id: '1-0', event: 'status', data: { status: 'running', ts: 1 } },
    { id: '2-0', event: 'progress', data: { status: 'running', progress: 0.5, message: 'half', ts: 2 } },
    { id: '3-0', event: 'progress', data: { status: 'running', progress: 1, message: 'all', ts: 3 } },
  ];
  app.get('/jobs/drops', (c) => c.json(view('drops', 'running', 0)));
  app.get('/jobs/drops/events', (c) => streamSSE(c, async (stream) => {
    connections++;
    for (const e of connections === 1 ? events.slice(0, 2) : events) await stream.writeSSE({ id: e.id, event: e.event, data: JSON.stringify(e.data) });
    if (connections > 1) await stream.writeSSE({ event: 'end', data: JSON.stringify(view('drops', 'succeeded', 1)) });
  }));
  app.get('/jobs/nostream', (c) => c.json(view('nostream', ++polls < 3 ? 'running' : 'succeeded', polls < 3 ? 0.3 : 1)));
  return app;
}

describe('kiln jobs watch against a misbehaving API', () => {
  it('reconnects a dropped event stream without repeating what it showed, and polls an API without one', async () => {
    const http = await serveHttp(flakyApi());
    try {
      const dropped = await kiln(['jobs', 'watch', 'drops', '--api-url', http.url, '--interval-ms', '50']);
      expect(dropped.code).toBe(0);
      expect(lines(dropped.stdout).map((l) => l.replace(/ \(.*\)$/, ''))).toEqual(['running 0%', 'running 50% half', 'running 100% all', expect.stringMatching(/^succeeded in /), 'result: {"ok":true}']);

      const polled = await kiln(['jobs', 'watch', 'nostream', '--api-url', http.url, '--interval-ms', '50']);
      expect(polled.code).toBe(0);
      expect(lines(polled.stdout).map((l) => l.replace(/ \(.*\)$/, ''))).toEqual(['running 30%', expect.stringMatching(/^succeeded in /), 'result: {"ok":true}']);
    } finally {
      await http.close();
    }
  });
});

describe('kiln jobs logs', () => {
  it('prints the kept lines of a finished job, page by page', async () => {
    const id = await submit('--function', 'progress', '--input', '{"steps": 3, "ms": 10}');
    await finished(id);
    const r = await kiln(['jobs', 'logs', id]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).filter((l) => /^\d\d:\d\d:\d\d\.\d+ info\s+step \d\/3$/.test(l))).toHaveLength(3);
    const json = JSON.parse((await kiln(['jobs', 'logs', id, '--json'])).stdout);
    expect(json).toMatchObject({ job_id: id, next_cursor: null });
    expect(json.lines.map((l: { text: string }) => l.text)).toEqual(expect.arrayContaining(['step 1/3', 'step 2/3', 'step 3/3']));
  });

  it('-f follows a running job until it ends', async () => {
    const id = await submit('--function', 'progress', '--input', '{"steps": 3, "ms": 700}');
    const follow = kilnBackground(['jobs', 'logs', id, '-f', '--json']);
    await sys.waitFor('the first followed line', async () => follow.stdout().includes('"step 1/3"'));
    // the line came while the job still ran: it was followed, not read afterwards
    expect((await sys.job(id)).status).toBe('running');
    const r = await follow.done;
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events.filter((e) => e.event === 'log').map((e) => e.text)).toEqual(['step 1/3', 'step 2/3', 'step 3/3']);
    expect(events.at(-1)).toMatchObject({ event: 'end', job: { job_id: id, status: 'succeeded' } });
  });

  it('says so for an unknown job', async () => {
    const r = await kiln(['jobs', 'logs', 'no-such-job']);
    expect(r.code).toBe(3);
  });
});

describe('kiln status', () => {
  it('prints the worker table, and with --watch --count 2 two frames', async () => {
    const one = await kiln(['status']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^\d+ worker\(s\), \d+ busy$/m);
    expect(JSON.parse((await kiln(['status', '--json'])).stdout)).toHaveProperty('worker_details');

    const watch = await kiln(['status', '--watch', '--count', '2', '--interval-ms', '100']);
    expect(watch.code).toBe(0);
    expect(lines(watch.stdout).filter((l) => l.startsWith(`kiln status · ${api.url} · `))).toHaveLength(2);
    expect(watch.stdout).not.toContain('\x1b');
    const frames = jsonLines((await kiln(['status', '--watch', '--count', '2', '--interval-ms', '100', '--json'])).stdout);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toHaveProperty('worker_details');
  });

  it('renders the per-type view when the server sends one, and the old notes when not', () => {
    const text = statusText({
      total_workers: 1, active_workers: 1,
      worker_details: { 'node-1': { worker_id: 'node-1', worker_type: 'node', process_id: 42, status: 'busy', job_count: 4, max_jobs: 4, last_activity: new Date(1000).toISOString() } },
      types: { node: { queued: 7, delayed: 1, running: 4, workers: { busy: 1 }, capacity: { max_workers: 1, max_jobs: 4, slots: 4, hosts: 1 }, waiting_reason: 'at max_workers (1)', warning: null } },
    }, 3000);
    expect(text).toMatch(/^node-1\s+node\s+42\s+busy\s+4\s+4\s+-\s+-\s+2.0s ago/m);
    expect(text).toMatch(/^TYPE\s+QUEUED\s+DELAYED\s+RUNNING\s+WORKERS\s+CAPACITY\s+SPARE\s+WAITING$/m);
    // a type without spares shows '-' in SPARE
    expect(text).toMatch(/^node\s+7\s+1\s+4\s+busy=1\s+4 slots \(1 workers × 4 jobs × 1 host\)\s+-\s+at max_workers \(1\)$/m);
    const spare = statusText({
      total_workers: 3, active_workers: 1, worker_details: {},
      types: { fast: { queued: 0, delayed: 0, running: 1, workers: { busy: 1, idle: 2 }, capacity: { max_workers: 4, max_jobs: 1, slots: 4, hosts: 1 }, spare_workers: 2, spare_ready: 2, waiting_reason: null, warning: null } },
    }, 0);
    // spares: idle ones now, and spare_workers per host; an empty WAITING shows '-'
    expect(spare).toMatch(/^fast\s+0\s+0\s+1\s+busy=1 idle=2\s+4 slots \(4 workers × 1 jobs × 1 host\)\s+2 \(2\/host\)\s+-$/m);
    expect(statusText({ total_workers: 0, active_workers: 0, worker_details: {}, type_state: { sklearn: 'errored: no python' } }, 0)).toContain('sklearn: errored: no python');
  });
});

describe('kiln types, errors and tokens', () => {
  it('types works with no daemon running, hiding env values', async () => {
    const file = join(dir, 'types.json');
    writeFileSync(file, JSON.stringify({
      sklearn: { python: '/opt/venvs/ml/bin/python' },
      etl: { framework: 'node', version: '20', env: { S3_SECRET_KEY: 'hunter2' } },
    }));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, WORKER_TYPES_FILE: file, KILN_API_URL: 'http://127.0.0.1:9', WORKER_MANAGER_URL: 'http://127.0.0.1:9' };
    const r = await kiln(['types', '--json'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    const out = JSON.parse(r.stdout);
    expect(out.types.etl).toMatchObject({ framework: 'node', env: ['S3_SECRET_KEY'] });
    expect(out.types.sklearn).toMatchObject({ framework: 'sklearn', python: '/opt/venvs/ml/bin/python' });
    const table = await kiln(['types'], env);
    expect(table.stdout).toMatch(/^etl\s+node\s+20\s+no\s+1\s+0\s+0\s+4\s+300s\s+-\s+S3_SECRET_KEY$/m);
    expect(table.stdout).not.toContain('hunter2');
  });

  it('an unreachable API is a clear error with exit status 4', async () => {
    const r = await kiln(['jobs', 'list', '--api-url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('cannot reach the Kiln API at http://127.0.0.1:9');
    expect(r.stderr).toContain('npm start');
  });

  it('usage errors exit 64 and name the problem', async () => {
    const noFn = await kiln(['jobs', 'submit']);
    expect(noFn.code).toBe(64);
    expect(noFn.stderr).toContain('needs --function');
    const badLimit = await kiln(['jobs', 'list', '--limit', 'lots']);
    expect(badLimit.code).toBe(64);
    expect(badLimit.stderr).toContain('--limit must be a whole number');
    const badJson = await kiln(['jobs', 'submit', '--function', 'echo', '--input', '{nope']);
    expect(badJson.code).toBe(64);
    expect(badJson.stderr).toContain('--input is not valid JSON');
  });

  it('sends KILN_API_TOKEN, and says what to set on a 401', async () => {
    const guarded = createTestApi({ redis: sys.redis, prefix: sys.prefix, config: { apiToken: 'tok-123' } });
    const http = await serveHttp(guarded.app);
    try {
      const denied = await kiln(['jobs', 'list', '--api-url', http.url]);
      expect(denied.code).toBe(5);
      expect(denied.stderr).toContain('401');
      expect(denied.stderr).toContain('KILN_API_TOKEN');
      const ok = await kiln(['jobs', 'list', '--json', '--api-url', http.url], { ...baseEnv(), KILN_API_TOKEN: 'tok-123' });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toHaveProperty('jobs');
    } finally {
      await http.close();
    }
  });
});

describe('watch lines', () => {
  it('show progress metrics of progress events, and a waiting reason while queued', () => {
    const queued = readJob({ job_id: 'j', status: 'queued', progress: 0, created_at: new Date(1000).toISOString(), waiting_reason: 'at max_workers (1)' });
    expect(liveLine(queued, 4000, 100)).toMatch(/^queued\s+░+\s+0%\s+waiting 3.0s\s+waiting: at max_workers \(1\)$/);
    const running = applyEvent(applyEvent(queued, 'status', { status: 'running', ts: new Date(2000).toISOString() }), 'progress', { status: 'running', progress: 0.4, message: 'epoch 2', metrics: { loss: 0.312345, accuracy: 0.9 }, ts: new Date(3000).toISOString() });
    expect(liveLine(running, 4000, 100)).toMatch(/^running\s+█+░+\s+40%\s+elapsed 2.0s\s+epoch 2  loss=0.3123 accuracy=0.9$/);
    expect(plainLine(running, 4000)).toBe('running 40% epoch 2 loss=0.3123 accuracy=0.9 (elapsed 2.0s)');
    expect(liveLine(running, 4000, 40).length).toBeLessThanOrEqual(39);
  });
});

describe('event-stream parser', () => {
  it('parses events split anywhere, with CRLF, comments and multi-line data', async () => {
    const text = ': hello\r\nevent: progress\r\nid: 1-0\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: plain ✓\n\nevent: end\ndata: {}\n\n';
    // one byte at a time: every boundary, inside a CRLF and inside a multi-byte character
    const bytes = [...new TextEncoder().encode(text)].map((b) => new Uint8Array([b]));
    const events = [];
    for await (const e of readSse(Readable.from(bytes))) events.push(e);
    expect(events).toEqual([
      { event: 'progress', data: '{"a":\n1}', id: '1-0' },
      { event: 'message', data: 'plain ✓', id: undefined },
      { event: 'end', data: '{}', id: undefined },
    ]);
  });
});
