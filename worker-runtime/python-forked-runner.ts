/**
 * A Python runner forked from its type's template (kiln_runner/template.py) instead of
 * spawned: the worker listens on a private Unix socket, asks the template to fork, and
 * the child connects back twice (protocol, stderr). The same messages, tail and exit as
 * a spawned RunnerProcess; kills go by pid (the child leads its own process group).
 * Its exit comes from the template (which reaps it) or, once the template is gone,
 * from a watch on its pid.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Exit, RunnerBase, type RunnerSpawnOptions, runnerEnv } from './python-runner-process';

/** How long a worker retries a template socket that is not there yet (the template is starting)… */
const CONNECT_RETRY_MS = 3000;
/** …or that refuses (between its bind and listen; past that, a template that died). */
const REFUSED_RETRY_MS = 300;
const WATCH_MS = 200;
/** Longest socket path used as is (sun_path holds 108 bytes). */
const MAX_SOCKET_PATH = 100;

/** Calls `onLine` per line of a socket; returns a flush for the last unterminated one. */
function lines(socket: Socket, onLine: (line: string) => void): () => void {
  let partial = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) onLine(l);
  });
  return () => {
    if (partial) onLine(partial);
    partial = '';
  };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ForkedRunner extends RunnerBase {
  private childPid: number | undefined;
  private proto: Socket | undefined;
  private readonly server: Server;
  /** The socket the child connects back to, and the folder made for it when the worker's own was too deep. */
  private readonly path: string;
  private readonly dir: string | undefined;
  private readonly token = randomBytes(16).toString('hex');
  private control: Socket | undefined;
  private watch: NodeJS.Timeout | undefined;
  private readonly drained: Promise<unknown>;
  /** Called once the template forked it (the pid is known). */
  onForked: () => void = () => {};
  /** Settles once the fork request is written (or could not be). */
  readonly asked: Promise<void>;
  private markAsked: () => void = () => {};

  constructor(o: RunnerSpawnOptions, runnerPath: string, templateSocket: string) {
    super(o.onStderr);
    this.asked = new Promise((resolve) => { this.markAsked = resolve; });
    // in the worker's folder (0700, removed by the spawner after its exit) unless the path is too long for a socket
    const inCwd = join(o.cwd, `.kiln-runner-${this.token.slice(0, 12)}.sock`);
    this.dir = Buffer.byteLength(inCwd) <= MAX_SOCKET_PATH ? undefined : mkdtempSync(join(tmpdir(), 'kiln-r-')); // 0700
    const path = this.dir ? join(this.dir, 'runner.sock') : inCwd;
    this.path = path;
    let closedProto!: () => void;
    let closedErr!: () => void;
    this.drained = Promise.all([new Promise<void>((r) => { closedProto = r; }), new Promise<void>((r) => { closedErr = r; })]);
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket, closedProto, closedErr));
    this.server.on('error', (error) => this.fail(error));
    this.server.listen(path, () => this.ask(templateSocket, {
      op: 'fork', socket: path, token: this.token, env: runnerEnv(o, runnerPath), cwd: o.cwd, worker_pid: process.pid,
    }, Date.now()));
  }

  get pid(): number | undefined {
    return this.childPid;
  }

  /** The child's two connections: a first line names the token and the role. */
  private accept(socket: Socket, closedProto: () => void, closedErr: () => void): void {
    socket.on('error', () => {});
    let head = '';
    const onHead = (chunk: Buffer) => {
      head += chunk.toString('utf8');
      const nl = head.indexOf('\n');
      if (nl < 0) {
        if (head.length > 1024) socket.destroy();
        return;
      }
      socket.off('data', onHead);
      let hello: { token?: unknown; role?: unknown } = {};
      try {
        hello = JSON.parse(head.slice(0, nl)) as typeof hello;
      } catch {
        // refused below
      }
      const rest = head.slice(nl + 1);
      if (hello.token !== this.token || (hello.role !== 'protocol' && hello.role !== 'stderr')) return void socket.destroy();
      const isProto = hello.role === 'protocol';
      if (isProto) this.proto = socket;
      const onLine = isProto ? (l: string) => this.line(l) : (l: string) => this.stderrLine(l);
      const flush = lines(socket, onLine);
      if (rest) socket.emit('data', rest);
      socket.once('close', () => {
        flush();
        (isProto ? closedProto : closedErr)();
      });
    };
    socket.on('data', onHead);
  }

  /** Asks the template to fork; retries a socket that is not there yet for a little while. */
  private ask(templateSocket: string, request: object, since: number): void {
    if (this.exit) return;
    const control = connect(templateSocket);
    this.control = control;
    let answered = false;
    let retrying = false;
    control.on('error', (error: NodeJS.ErrnoException) => {
      this.markAsked();
      if (answered) return;
      const retryMs = error.code === 'ENOENT' ? CONNECT_RETRY_MS : error.code === 'ECONNREFUSED' ? REFUSED_RETRY_MS : 0;
      if (Date.now() - since < retryMs) {
        retrying = true;
        setTimeout(() => this.ask(templateSocket, request, since), 100).unref();
        return;
      }
      this.fail(new Error(`the template at ${templateSocket} cannot be reached: ${error.message}`));
    });
    control.on('connect', () => control.write(`${JSON.stringify({ ...request })}\n`, () => this.markAsked()));
    lines(control, (line) => {
      let m: { type?: string; pid?: number; code?: number | null; signal?: NodeJS.Signals | null; message?: string };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.type === 'forked' && typeof m.pid === 'number') {
        answered = true;
        this.childPid = m.pid;
        if (this.exit) this.kill(true); // given up on before the answer came
        else this.onForked();
      } else if (m.type === 'exit') {
        this.done({ code: m.code ?? null, signal: m.signal ?? null });
      } else if (m.type === 'error') {
        this.fail(new Error(`the template refused to fork: ${m.message ?? 'no reason given'}`));
      }
    });
    control.on('close', () => {
      if (retrying) return;
      // the template went away: a forked runner lives on (its pid is watched from now); a pending fork failed
      const pid = this.childPid;
      if (pid === undefined) return this.fail(new Error(`the template at ${templateSocket} closed the connection before it forked`));
      if (this.exit) return;
      this.watch = setInterval(() => { if (!pidAlive(pid)) this.done({ code: null, signal: null }); }, WATCH_MS);
      this.watch.unref();
    });
  }

  private fail(error: Error): void {
    this.markAsked();
    if (this.exit) return;
    if (this.childPid !== undefined) this.kill();
    this.done({ code: null, signal: null, error }, true);
  }

  private done(e: Exit, now = false): void {
    if (this.exit) return;
    clearInterval(this.watch);
    this.server.close();
    rmSync(this.dir ?? this.path, { recursive: true, force: true });
    this.control?.destroy();
    this.exitWith(e, now ? Promise.resolve() : this.drained);
  }

  send(message: unknown): void {
    if (!this.exit && this.proto?.writable) this.proto.write(`${JSON.stringify(message)}\n`);
  }

  endInput(): void {
    this.proto?.end();
  }

  kill(late = false): void {
    this.broken = true;
    const pid = this.childPid;
    if (pid === undefined) return this.fail(new Error('the runner was stopped before the template forked it'));
    if (this.exit && !late) return;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already, or not yet its group's leader
      }
    }
  }
}
