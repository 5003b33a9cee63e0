/**
 * Starts and stops worker processes. Each worker leads its own process group and
 * has an IPC channel; stopping is drain → SIGTERM to the group → SIGKILL to the
 * group, and a missing process is never an error.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { LogStream, OutputSink } from './worker-log-file';

export interface LaunchSpec {
  script: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Node flags for the worker (KILN_WORKER_NODE_FLAGS: profiling, inspecting); none by default. */
  nodeFlags?: string[];
  /** Where every line of the worker's stdout and stderr goes (its log file); stdout is discarded without one. */
  output?: OutputSink;
  /** Processes outside its tree that count as the worker's (a runner forked from a template). */
  extraPids?: () => number[];
}

export interface WorkerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  stderrTail(): string[];
  peakRssBytes(): number;
  sampleRss(): number;
  /** The worker's process tree and its extra processes' trees. */
  treePids(): number[];
  send(msg: unknown): boolean;
  signalGroup(sig: NodeJS.Signals): void;
  isAlive(): boolean;
}

/** Variables a worker may inherit from the spawner; nothing else (no secrets) passes. LOG_LEVEL and LOG_FORMAT come from the spawner's config. */
const ENV_ALLOW = ['KILN_WORKER_DEBUG', 'PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'USER', 'SYSTEMROOT', 'OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'LD_LIBRARY_PATH', 'CUDA_HOME'];

export function allowedEnv(from: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ENV_ALLOW) {
    const v = from[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone already
  }
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** A process and all its descendants, from /proc (just the root when /proc is absent). */
export function treePids(rootPid: number): number[] {
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (out.includes(pid)) continue;
    out.push(pid);
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      if (kids) for (const k of kids.split(/\s+/)) stack.push(Number(k));
    } catch {
      // process vanished or /proc is absent
    }
  }
  return out;
}

/** RSS of processes and all their descendants, from /proc (0 when unavailable). */
export function treeRssBytes(rootPid: number | number[]): number {
  let total = 0;
  const roots = Array.isArray(rootPid) ? rootPid : [rootPid];
  for (const pid of new Set(roots.flatMap(treePids))) total += rssBytes(pid);
  return total;
}

/** RSS of one process, from /proc (0 when unavailable). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // process vanished
  }
}

/** Longest partial line kept while waiting for its newline; beyond it, the piece is a line of its own. */
const MAX_PARTIAL = 16_384;

/** Calls `onLine` for each line of a child's pipe; `end()` flushes an unterminated last line. */
function lineSplitter(stream: Readable | null, onLine: (line: string) => void): { end(): void; partial(): string } {
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > MAX_PARTIAL) {
      lines.push(partial);
      partial = '';
    }
    for (const line of lines) onLine(line);
  });
  stream?.on('error', () => {});
  return {
    end() {
      if (partial) onLine(partial);
      partial = '';
    },
    partial: () => partial,
  };
}

export function launchWorker(spec: LaunchSpec, onStderrLine?: (line: string) => void): WorkerProcess {
  const out = spec.output;
  const child = fork(spec.script, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', out ? 'pipe' : 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
    // never inherit the parent's loader flags (tsx, vitest): a worker starts as plain compiled JS
    execArgv: spec.nodeFlags ?? [],
  });
  const tail: string[] = [];
  const toFile = (stream: LogStream, line: string) => {
    try {
      out?.write(stream, line);
    } catch {
      // a log file never breaks the spawner
    }
  };
  const stdout = lineSplitter(child.stdout, (line) => toFile('stdout', line));
  const stderr = lineSplitter(child.stderr, (line) => {
    tail.push(line);
    if (tail.length > 50) tail.shift();
    toFile('stderr', line);
    onStderrLine?.(line);
  });
  if (out) {
    // The file closes once both pipes are drained ('close'), or a few seconds after the
    // exit when something else still holds a pipe open.
    let closing = false;
    const closeFile = (note: string) => {
      if (closing) return;
      closing = true;
      stdout.end();
      stderr.end();
      toFile('spawner', note);
      void out.close().catch(() => undefined); // safe: the log file's writer reports its own errors once; closing never blocks an exit
    };
    const exitNote = (code: number | null, signal: string | null) => `worker process exited (${signal ? `signal ${signal}` : `code ${code}`})`;
    child.once('close', (code, signal) => closeFile(exitNote(code, signal)));
    child.once('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        closeFile(exitNote(code, signal));
      }, 5000).unref();
    });
    child.once('error', (err) => {
      if (child.pid === undefined) closeFile(`worker process could not start: ${err.message}`);
    });
  }
  const pid = child.pid ?? -1;
  let peak = 0;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      const last = stderr.partial();
      if (last) tail.push(last);
      // grandchildren the worker left behind go with its group
      if (pid > 0) signalGroup(pid, 'SIGKILL');
      resolve({ code, signal });
    });
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  child.on('error', () => {});
  return {
    pid,
    child,
    exited,
    stderrTail: () => [...tail],
    peakRssBytes: () => peak,
    treePids: () => [...new Set([pid, ...(spec.extraPids?.() ?? [])].flatMap(treePids))],
    sampleRss() {
      const rss = treeRssBytes([pid, ...(spec.extraPids?.() ?? [])]);
      if (rss > peak) peak = rss;
      return rss;
    },
    send: (msg) => (child.connected ? child.send(msg as object) : false),
    signalGroup: (sig) => {
      if (pid > 0) signalGroup(pid, sig);
    },
    isAlive: () => child.exitCode === null && child.signalCode === null,
  };
}
