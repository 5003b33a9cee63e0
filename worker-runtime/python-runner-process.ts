/**
 * One spawned Python runner (`python -u -m kiln_runner`): its pipes, the JSON
 * lines it writes parsed into messages, its stderr tail, and its exit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { modelCacheCountsSchema } from '../core/job-stats';
import type { ReadyInfo } from './executor';

/** What starting a runner needs (a subset of the executor's options). */
export interface RunnerSpawnOptions {
  python: string;
  framework: string;
  cwd: string;
  env: Record<string, string>;
  pythonPath?: string[] | undefined;
  onStderr?: ((line: string) => void) | undefined;
}

const level = z.enum(['debug', 'info', 'warn', 'error']);
/** Runner → worker messages. */
export const runnerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'), framework: z.string(), version: z.string(), python: z.string().optional(),
    cuda: z.boolean().optional(), gpus: z.number().int().nonnegative().optional(), pid: z.number().optional(),
    import_ms: z.number().nonnegative().optional(),
  }),
  z.object({ type: z.literal('fatal'), code: z.string(), message: z.string() }),
  z.object({
    type: z.literal('progress'), job_id: z.string(), progress: z.number().min(0).max(1), message: z.string().nullish(),
    /** A flat object of numbers; checked by sanitizeMetrics, so bad metrics cost a warning, not the runner. */
    metrics: z.unknown().optional(),
  }),
  // A job's output: `stream` for print / sys.stdout / sys.stderr, `level` for ctx.log and logging
  // records (neither: info). Lines of a job go to its log; without job_id, to the worker's log.
  z.object({
    type: z.literal('log'), job_id: z.string().nullish(), level: level.optional(), stream: z.enum(['stdout', 'stderr']).optional(),
    message: z.string(),
  }),
  z.object({ type: z.literal('result'), job_id: z.string(), result: z.unknown() }),
  /** The model cache's counts since its last report, sent before a job's outcome when they moved. */
  z.object({ type: z.literal('model_cache'), job_id: z.string().optional(), ...modelCacheCountsSchema.shape, models: z.array(z.string()).optional() }),
  // a partial output of a job (a generator handler's yield, ctx.output): an `output` event of the job
  z.object({ type: z.literal('output'), job_id: z.string(), value: z.unknown() }),
  z.object({
    type: z.literal('error'), job_id: z.string(),
    error: z.object({ type: z.string(), exception: z.string().optional(), message: z.string(), traceback: z.string().optional(), retryable: z.boolean().optional() }),
  }),
]);
export type RunnerMessage = z.infer<typeof runnerMessageSchema>;

const TAIL_LINES = 50;
const MAX_LINE = 4000;
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface Exit { code: number | null; signal: NodeJS.Signals | null; error?: Error }

/** What the executor drives: a spawned runner (RunnerProcess) or one forked from a template (ForkedRunner). */
export abstract class RunnerBase {
  readonly tail: string[] = [];
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  ready: ReadyInfo | undefined;
  broken = false;
  stopping = false;
  onMessage: (m: RunnerMessage) => void = () => {};
  onBadLine: (line: string, why: string) => void = () => {};
  onExit: (e: Exit) => void = () => {};
  /** Settles `exited` once (after the last lines drained, or 300 ms). */
  protected exitWith: (e: Exit, drained: Promise<unknown>) => void = () => {};
  /** Events held until attach(): a runner started before its executor (worker-runtime/runner-prefork.ts). */
  private held: (() => void)[] | undefined = [];

  constructor(private readonly onStderr?: (line: string) => void) {
    this.exited = new Promise<Exit>((resolve) => {
      this.exitWith = (e, drained) => {
        if (this.exit) return;
        this.exit = e;
        // Let the last protocol and stderr lines through before reporting the exit.
        void Promise.race([drained, delay(300)]).then(() => { resolve(e); this.dispatch(() => this.onExit(e)); });
      };
    });
  }

  /** The runner's process id (undefined until a forked runner is known). */
  abstract get pid(): number | undefined;
  abstract send(message: unknown): void;
  /** Closes the runner's job input (it stops after the running job). */
  abstract endInput(): void;
  abstract kill(): void;

  /** Delivers held events to the handlers now set (onMessage, onBadLine, onExit), then each as it comes. */
  attach(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) event();
  }

  private dispatch(event: () => void): void {
    if (this.held) this.held.push(event);
    else event();
  }

  protected stderrLine(line: string): void {
    this.tail.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    safely(() => this.onStderr?.(line));
  }

  protected line(line: string): void {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return this.dispatch(() => this.onBadLine(line, 'not JSON'));
    }
    const parsed = runnerMessageSchema.safeParse(json);
    if (parsed.success) this.dispatch(() => this.onMessage(parsed.data));
    else this.dispatch(() => this.onBadLine(line, parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')));
  }
}

/** The runner's environment: the worker's, with the runner's PYTHONPATH and KILN_FRAMEWORK. */
export function runnerEnv(o: RunnerSpawnOptions, runnerPath: string): Record<string, string> {
  const pythonPath = [runnerPath, ...(o.pythonPath ?? []), o.env.PYTHONPATH].filter(Boolean).join(delimiter);
  return { ...o.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', KILN_FRAMEWORK: o.framework };
}

/** One spawned runner: its pipes, parsed lines, stderr tail and exit. */
export class RunnerProcess extends RunnerBase {
  readonly child: ChildProcessWithoutNullStreams;

  constructor(o: RunnerSpawnOptions, runnerPath: string) {
    super(o.onStderr);
    const env = runnerEnv(o, runnerPath);
    this.child = spawn(resolvePython(o.python, o.env.PATH), ['-u', '-m', 'kiln_runner'], { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {}); // EPIPE when it died; the exit handler reports that
    const closed = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.once('close', r).once('error', r));
    const drained = Promise.all([closed(this.child.stdout), closed(this.child.stderr)]);
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.line(line));
    createInterface({ input: this.child.stderr, crlfDelay: Infinity }).on('line', (line) => this.stderrLine(line));
    this.child.once('exit', (code, signal) => this.exitWith({ code, signal }, drained));
    this.child.once('error', (error) => { if (this.child.pid === undefined) this.exitWith({ code: null, signal: null, error }, drained); });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: unknown): void {
    if (!this.exit && this.child.stdin.writable) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  endInput(): void {
    this.child.stdin.end();
  }

  kill(): void {
    this.broken = true;
    if (!this.exit) this.child.kill('SIGKILL');
  }
}

/**
 * An interpreter named without a path ("python3") is looked up on PATH here: started
 * through a bare name with an environment that lacks PATH, Python cannot tell its
 * own sys.executable, which multiprocessing and error messages rely on.
 */
export function resolvePython(python: string, path: string | undefined): string {
  if (python.includes('/') || isAbsolute(python)) return python;
  for (const dir of (path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, python);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return python; // spawn reports ENOENT
}

export function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // a throwing callback must not break the protocol reader
  }
}
