/**
 * Python templates on their own: a real template process (kiln_runner.template) with the
 * fake framework, runners forked from it by the Python executor, and the fallback to a
 * plain spawn when a fork is not safe or the template cannot be reached.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../core/schemas/job';
import type { ExecContext } from '../worker-runtime/executor';
import { createPythonExecutor, type PythonExecutor, type PythonExecutorOptions } from '../worker-runtime/python-executor';
import { TemplateProcess } from '../spawner/template-process';
import { ForkedRunner } from '../worker-runtime/python-forked-runner';

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNNER_PATH = join(ROOT, 'worker-runtime', 'python');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'fake_framework');
const HANDLERS = join(FIXTURES, 'handlers');
const hasPython = existsSync(PYTHON);
const canImport = (module: string) => hasPython && spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;

const work = mkdtempSync(join(tmpdir(), 'kiln-tmpl-'));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', KILN_HANDLERS_DIR: HANDLERS, KILN_DATA_ROOT: work, KILN_ARTIFACT_ROOT: work };
const templates: TemplateProcess[] = [];
const executors: PythonExecutor[] = [];

function template(extraEnv: Record<string, string> = {}, framework = 'fake'): TemplateProcess {
  const t = new TemplateProcess({
    python: PYTHON, framework, runnerPath: RUNNER_PATH, pythonPath: [FIXTURES], env: { ...env, ...extraEnv },
    socket: join(mkdtempSync(join(work, 's-')), 't.sock'), cwd: work,
  });
  templates.push(t);
  return t;
}

function executor(socket: string | undefined, opts: Partial<PythonExecutorOptions> = {}, extraEnv: Record<string, string> = {}) {
  const logs: string[] = [];
  const fallbacks: [string, boolean][] = [];
  const e = createPythonExecutor({
    python: PYTHON, framework: 'fake', cwd: work, env: { ...env, ...extraEnv }, pythonPath: [FIXTURES],
    runnerPath: RUNNER_PATH, cancelGraceMs: 300, stopGraceMs: 1000, startTimeoutMs: 15_000, templateSocket: socket,
    onLog: (level, message) => logs.push(`${level} ${message}`),
    onTemplateFallback: (reason, unsafe) => fallbacks.push([reason, unsafe]),
    ...opts,
  });
  executors.push(e);
  return Object.assign(e, { logs, fallbacks });
}

let seq = 0;
function job(payload: unknown): JobRecord {
  seq += 1;
  return {
    id: `job-${seq}`, seq, type: 'fake', kind: 'generic', payload, status: 'running', priority: 0, attempts: 1,
    max_attempts: 3, timeout_ms: 60_000, progress: 0, created_at: Date.now(),
  };
}

function context(): { ctx: ExecContext; controller: AbortController } {
  const controller = new AbortController();
  return { controller, ctx: { signal: controller.signal, progress: () => {}, log: () => {}, output: () => {} } };
}

type Draw = { python: number; numpy: number | null; pid: number; ppid: number; pgid: number; cwd: string; cuda_visible_devices: string | null };
const draw = (e: PythonExecutor) => e.run(job({ handler: 'random_draw' }), context().ctx) as Promise<Draw>;

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

const until = async (what: string, fn: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.stop()));
});
afterAll(async () => {
  await Promise.all(templates.map((t) => t.stop()));
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!hasPython)('a runner forked from a template', () => {
  let t: TemplateProcess;
  beforeAll(async () => {
    t = template();
    expect(await t.ready, t.reason).toBe(true);
  });

  it('runs jobs like a spawned runner, in its own process group, with its own random numbers and environment', async () => {
    const a = executor(t.spec.socket, {}, { CUDA_VISIBLE_DEVICES: '1' });
    const b = executor(t.spec.socket, {}, { CUDA_VISIBLE_DEVICES: '0' });
    const [ra, rb] = await Promise.all([a.start(), b.start()]);
    expect(ra).toMatchObject({ framework: 'fake', version: '0.1.0' });
    expect(ra.importMs).toBeGreaterThan(0); // fork → ready: nothing imported
    expect(ra.importMs).toBeLessThan(2000);
    const [da, db] = [await draw(a), await draw(b)];
    for (const d of [da, db]) {
      expect(d.ppid).toBe(t.pid); // forked by the template, not spawned by the worker
      expect(d.pgid).toBe(d.pid);
      expect(d.cwd).toBe(work);
    }
    expect([da.pid, db.pid]).toEqual([a.pid(), b.pid()]);
    expect([da.cuda_visible_devices, db.cuda_visible_devices]).toEqual(['1', '0']);
    expect(da.python).not.toBe(db.python); // re-seeded after fork
    if (da.numpy !== null) expect(da.numpy).not.toBe(db.numpy);
    expect(t.forks).toBeGreaterThanOrEqual(2);
    expect(t.runners.get(da.pid)).toBe(process.pid);
    expect(a.fallbacks).toEqual([]);
    void rb;
  });

  it('is killed and forked again on a cancel past its grace; its exit status comes from the template', async () => {
    const e = executor(t.spec.socket);
    await e.start();
    const first = e.pid() as number;
    const { ctx, controller } = context();
    const hung = e.run(job({ handler: 'hang' }), ctx);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort('cancelled by test');
    await expect(hung).rejects.toMatchObject({ error: { type: 'cancelled' } });
    await until('the hung runner to be gone', () => !alive(first), 3000);
    const d = await draw(e);
    expect(d.pid).not.toBe(first);
    expect(d.ppid).toBe(t.pid);
    await until('the template to reap it', () => !t.runners.has(first), 3000);
  });

  it('can be asked for before the executor exists: the executor takes it, with the messages it held', async () => {
    const early = new ForkedRunner({ python: PYTHON, framework: 'fake', cwd: work, env, pythonPath: [FIXTURES] }, RUNNER_PATH, t.spec.socket);
    await until('the template to report the early fork', () => early.pid !== undefined && t.runners.has(early.pid));
    const forks = t.forks;
    await new Promise((r) => setTimeout(r, 300)); // its ready is held meanwhile
    const e = executor(t.spec.socket, { firstRunner: early });
    expect(await e.start()).toMatchObject({ framework: 'fake' });
    expect(e.pid()).toBe(early.pid);
    expect((await draw(e)).pid).toBe(early.pid);
    expect(t.forks).toBe(forks);
  });

  it('ends when its worker stops it, and its output reaches the worker', async () => {
    const lines: string[] = [];
    const e = executor(t.spec.socket, { onStderr: (l) => lines.push(l) });
    await e.start();
    const pid = e.pid() as number;
    await e.run(job({ handler: 'progress', steps: 1 }), context().ctx);
    await until('stderr through the socket', () => lines.includes('raw write to fd 1 from a handler'), 3000);
    await e.stop();
    expect(alive(pid)).toBe(false);
  });
});

describe('real frameworks', () => {
  for (const [framework, module] of [['sklearn', 'sklearn'], ['pytorch', 'torch']] as const) {
    it.skipIf(!canImport(module))(`forks ${framework} runners that pass the fork self-test and run its built-in handlers`, async () => {
      const t = template({}, framework);
      expect(await t.ready, t.reason).toBe(true);
      const e = executor(t.spec.socket, { framework, pythonPath: [] });
      const ready = await e.start();
      expect(e.fallbacks).toEqual([]);
      expect(ready.framework).toBe(framework);
      const result = await e.run({ ...job({ model_type: framework === 'sklearn' ? 'linear_regression' : 'mlp', inputs: [[1, 2]] }), kind: 'inference' }, context().ctx)
        .catch((err: { error?: { message?: string } }) => err.error?.message ?? String(err));
      // the built-in handler (imported by the template) answers: no model was named
      expect(result).toMatch(/^inference needs payload.model_path/);
      await t.stop();
    });
  }
});

describe.skipIf(!hasPython)('a template that is still importing', () => {
  it('is waited for: the fork limit counts from the fork, not from the ask', async () => {
    const t = template({ KILN_FAKE_IMPORT_DELAY_S: '1' });
    const e = executor(t.spec.socket, { templateStartTimeoutMs: 500 });
    await e.start();
    expect(e.fallbacks, e.logs.join('\n')).toEqual([]);
    expect((await draw(e)).ppid).toBe(t.pid);
  });
});

describe.skipIf(!hasPython)('the fallback to a plain runner', () => {
  it('starts plainly, with the reason logged and reported as unsafe, when the fork self-test fails or hangs', async () => {
    const t = template();
    expect(await t.ready, t.reason).toBe(true);
    const failing = executor(t.spec.socket, {}, { KILN_FAKE_FORK_SELF_TEST: 'fail' });
    const hanging = executor(t.spec.socket, {}, { KILN_FAKE_FORK_SELF_TEST: 'hang', KILN_TEMPLATE_SELF_TEST_S: '0.5' });
    await Promise.all([failing.start(), hanging.start()]);
    for (const e of [failing, hanging]) {
      expect(e.fallbacks).toHaveLength(1);
      expect(e.fallbacks[0]?.[1]).toBe(true);
      expect((await draw(e)).ppid).toBe(process.pid); // spawned by the worker itself
    }
    expect(failing.fallbacks[0]?.[0]).toContain('not fork-safe in this build');
    expect(hanging.fallbacks[0]?.[0]).toContain('did not finish within 0.5 s');
    expect(failing.logs.join('\n')).toMatch(/template failed .*starting a plain runner/);
  });

  it('starts plainly when the template is gone, without calling the fork unsafe', async () => {
    const t = template();
    expect(await t.ready, t.reason).toBe(true);
    t.child.kill('SIGKILL');
    await t.exited;
    const e = executor(t.spec.socket);
    await e.start();
    expect(e.fallbacks).toHaveLength(1);
    expect(e.fallbacks[0]?.[1]).toBe(false);
    expect((await draw(e)).ppid).toBe(process.pid);
  });

  it('a template that cannot import its framework says why and never becomes ready', async () => {
    const t = template({ KILN_FAKE_MODULE: 'kiln_fake_missing' });
    expect(await t.ready).toBe(false);
    expect(t.state).toBe('failed');
    expect(t.reason).toMatch(/FRAMEWORK_MISSING/);
  });
});
