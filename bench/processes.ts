/** Bounded waits and child processes of the benches: every wait has a deadline, every child is stopped by its PID. */
import type { ChildProcess } from 'node:child_process';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 2): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Resolves on the child's first IPC message (its "ready"), rejects if it exits first or takes longer than timeoutMs. */
export function firstMessage(child: ChildProcess, what: string, timeoutMs = 15_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not ready within ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve(m);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code}) before it was ready`));
    });
  });
}

/** SIGTERM, then SIGKILL after 3 s; a process already gone is not an error. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(killer);
}
