/**
 * One template runner process (`python -u -m kiln_runner.template`, see
 * worker-runtime/python/kiln_runner/template.py): its start, the JSON lines it
 * reports on stdout (ready or fatal, forked, reaped), and its stop. The runners it
 * forked are remembered by pid with their worker's pid, for memory accounting and
 * kills; they outlive the template.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import { createInterface } from 'node:readline';

export interface TemplateSpec {
  python: string;
  framework: string;
  /** Folder holding the kiln_runner package. */
  runnerPath: string;
  pythonPath: string[];
  /** The worker type's environment (no per-worker variables: each fork gets its worker's). */
  env: Record<string, string>;
  socket: string;
  cwd: string;
  onStderr?(line: string): void;
}

export type TemplateState = 'starting' | 'ready' | 'failed' | 'exited';

export class TemplateProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly startedAt = Date.now();
  state: TemplateState = 'starting';
  /** Why it failed or exited. */
  reason: string | undefined;
  importMs: number | undefined;
  /** When it reported ready: its idle time counts from then at the earliest. */
  readyAt: number | undefined;
  forks = 0;
  lastForkAt: number | undefined;
  /** Runner pid → its worker's pid, while the template knows the runner alive. */
  readonly runners = new Map<number, number>();
  /** Settles when it reported ready (true) or failed / exited before (false). */
  readonly ready: Promise<boolean>;
  readonly exited: Promise<void>;
  private readonly tail: string[] = [];

  constructor(readonly spec: TemplateSpec) {
    const pythonPath = [spec.runnerPath, ...spec.pythonPath, spec.env.PYTHONPATH].filter(Boolean).join(delimiter);
    const env = { ...spec.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', KILN_FRAMEWORK: spec.framework, KILN_TEMPLATE_SOCKET: spec.socket };
    this.child = spawn(spec.python, ['-u', '-m', 'kiln_runner.template'], { cwd: spec.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    let settle!: (ok: boolean) => void;
    this.ready = new Promise((r) => { settle = r; });
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.report(line, settle));
    createInterface({ input: this.child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      spec.onStderr?.(line);
    });
    this.exited = new Promise((resolve) => {
      const gone = (why: string) => {
        if (this.state === 'starting' || this.state === 'ready') {
          this.reason ??= `${why}${this.tail.length ? `; last stderr: ${this.tail.slice(-3).join(' | ')}` : ''}`;
          this.state = this.state === 'starting' ? 'failed' : 'exited';
        }
        settle(false);
        resolve();
      };
      this.child.once('exit', (code, signal) => gone(signal ? `killed by ${signal}` : `exited with code ${code}`));
      this.child.once('error', (err) => { if (this.child.pid === undefined) gone(`could not start: ${err.message}`); });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private report(line: string, settle: (ok: boolean) => void): void {
    let m: { type?: string; pid?: number; worker_pid?: number; import_ms?: number; code?: string; message?: string };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      return;
    }
    if (m.type === 'ready') {
      this.state = 'ready';
      this.readyAt = Date.now();
      this.importMs = m.import_ms;
      settle(true);
    } else if (m.type === 'fatal') {
      this.state = 'failed';
      this.reason = `${m.code}: ${m.message}`;
      settle(false);
    } else if (m.type === 'forked' && typeof m.pid === 'number' && typeof m.worker_pid === 'number') {
      this.forks += 1;
      this.lastForkAt = Date.now();
      this.runners.set(m.pid, m.worker_pid);
    } else if (m.type === 'reaped' && typeof m.pid === 'number') {
      this.runners.delete(m.pid);
    }
  }

  /** Closes its stdin (it stops forking and exits), then SIGKILL after a grace. Its runners live on. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.state === 'starting' || this.state === 'ready') {
      this.state = 'exited';
      this.reason ??= 'stopped';
    }
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    timer.unref();
    await this.exited;
    clearTimeout(timer);
  }
}
