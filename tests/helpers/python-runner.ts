/**
 * A Python runner started by hand (`python -u -m kiln_runner`), spoken to over its JSON-lines
 * protocol; shared by the runner tests. Real interpreter, real sklearn/torch when present.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RUNNER_PATH = join(ROOT, 'worker-runtime', 'python');
export const FIXTURES = join(ROOT, 'tests', 'fixtures', 'fake_framework');
export const HANDLERS = join(FIXTURES, 'handlers');

export const canImport = (module: string) => spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
export const hasPython = existsSync(PYTHON);
export const hasSklearn = hasPython && canImport('sklearn');
export const hasTorch = hasPython && canImport('torch');
export const hasTensorflow = hasPython && canImport('tensorflow');
if (!hasPython) console.log(`python runner tests skipped: ${PYTHON} does not exist`);
if (hasPython && !hasSklearn) console.log(`sklearn runner tests skipped: ${PYTHON} cannot import sklearn (apt install python3-sklearn)`);
if (hasPython && !hasTorch) console.log(`pytorch runner tests skipped: ${PYTHON} cannot import torch (apt install python3-torch)`);

export type Msg = Record<string, any>;

/** One runner process and everything it said. */
export class RunnerProc {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly messages: Msg[] = [];
  readonly rawLines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private listeners: (() => void)[] = [];

  constructor(env: Record<string, string>) {
    this.proc = spawn(PYTHON, ['-u', '-m', 'kiln_runner'], {
      cwd: env.KILN_WORK_DIR ?? tmpdir(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONPATH: `${RUNNER_PATH}:${FIXTURES}`, KILN_HANDLERS_DIR: HANDLERS, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.rawLines.push(line);
        this.messages.push(JSON.parse(line) as Msg); // throws (fails the test) on a corrupt protocol line
        for (const l of this.listeners) l();
      }
    });
    this.proc.stderr.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; });
    this.proc.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    running.add(this);
  }

  send(message: unknown): void {
    this.proc.stdin.write(`${JSON.stringify(message)}\n`);
  }

  run(id: string, payload: unknown, kind = 'generic'): void {
    this.send({ type: 'run', job: { id, kind, type: 'test', payload, attempt: 1, timeout_ms: 60_000 } });
  }

  waitFor(pred: (m: Msg) => boolean, what: string, timeoutMs = 15_000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(pred);
        if (!found) return false;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve(found);
        return true;
      };
      const listener = () => void check();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${this.stderr.slice(-2000)}`)), timeoutMs);
      if (!check()) this.listeners.push(listener);
    });
  }

  /** Runs a job and waits for its outcome (the runner takes one job at a time). */
  call(id: string, payload: unknown, kind = 'generic', timeoutMs?: number): Promise<Msg> {
    this.run(id, payload, kind);
    return this.outcome(id, timeoutMs);
  }

  /** The result or error message of a job. */
  outcome(id: string, timeoutMs?: number): Promise<Msg> {
    return this.waitFor((m) => (m.type === 'result' || m.type === 'error') && m.job_id === id, `the outcome of ${id}`, timeoutMs);
  }

  ready(): Promise<Msg> {
    return this.waitFor((m) => m.type === 'ready' || m.type === 'fatal', 'ready');
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

const running = new Set<RunnerProc>();
/** Kills every runner started by a test (call from afterEach). */
export function killRunners(): void {
  for (const r of running) r.kill();
  running.clear();
}

const temps: string[] = [];
export const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
/** Removes the temp folders (call from afterAll). */
export function removeTemps(): void {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
}
/** An artifact key for runners started by hand (the spawner makes one in its state folder). */
export const keyFile = (dir: string) => {
  const file = join(dir, 'artifact.key');
  writeFileSync(file, `${'k'.repeat(43)}\n`, { mode: 0o600 });
  return file;
};

/** A deterministic CSV: 4 numeric features, a class label and a regression target. */
export function writeTabular(dir: string): void {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const cls = ['f1,f2,f3,f4,label'];
  const reg = ['f1,f2,f3,f4,y'];
  for (let i = 0; i < 200; i++) {
    const f = [rand(), rand(), rand(), rand()];
    const [a, b, c, d] = f as [number, number, number, number];
    cls.push(`${f.map((v) => v.toFixed(4)).join(',')},${a + 0.5 * b > 0 ? 'yes' : 'no'}`);
    reg.push(`${f.map((v) => v.toFixed(4)).join(',')},${(3 * a - 2 * b + 0.5 * c + 0.1 * d + 0.05 * rand()).toFixed(4)}`);
  }
  writeFileSync(join(dir, 'train.csv'), `${cls.join('\n')}\n`);
  writeFileSync(join(dir, 'reg.csv'), `${reg.join('\n')}\n`);
}
