/**
 * Starts and stops worker processes. Each worker leads its own process group and
 * has an IPC channel; stopping is drain → SIGTERM to the group → SIGKILL to the
 * group, and a missing process is never an error.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface LaunchSpec {
  script: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Node flags for the worker (KILN_WORKER_NODE_FLAGS: profiling, inspecting); none by default. */
  nodeFlags?: string[];
}

export interface WorkerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  stderrTail(): string[];
  peakRssBytes(): number;
  sampleRss(): number;
  send(msg: unknown): boolean;
  signalGroup(sig: NodeJS.Signals): void;
  isAlive(): boolean;
}

/** Variables a worker may inherit from the spawner; nothing else (no secrets) passes. */
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

/** RSS of a process and all its descendants, from /proc (0 when unavailable). */
export function treeRssBytes(rootPid: number): number {
  let total = 0;
  for (const pid of treePids(rootPid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // process vanished
    }
  }
  return total;
}

export function launchWorker(spec: LaunchSpec, onStderrLine?: (line: string) => void): WorkerProcess {
  const child = fork(spec.script, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
    // never inherit the parent's loader flags (tsx, vitest): a worker starts as plain compiled JS
    execArgv: spec.nodeFlags ?? [],
  });
  const tail: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 50) tail.shift();
      onStderrLine?.(line);
    }
  });
  const pid = child.pid ?? -1;
  let peak = 0;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      if (partial) tail.push(partial);
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
    sampleRss() {
      const rss = treeRssBytes(pid);
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
