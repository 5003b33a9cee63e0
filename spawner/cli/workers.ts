/** `start <type>`, `ensure <type>`, `stop <worker_id>`: the spawner's worker commands. */
import { print, type CliContext } from './context';
import { ENSURE_WAIT_MS } from '../ensure';
import { EXIT, usageError } from './exit-codes';
import { callJson } from './http';
import { asRecord } from './job-view';

function arg(ctx: CliContext, cmd: string, what: string): string {
  const a = ctx.args[0];
  if (!a) throw usageError(`${ctx.program} ${cmd} needs a ${what} (see "${ctx.program} --help")`);
  return a;
}

export async function startOrEnsure(ctx: CliContext, cmd: 'start' | 'ensure'): Promise<number> {
  const type = arg(ctx, cmd, 'worker type');
  // ensure waits until the worker it started is ready or failed (the spawner bounds the wait)
  const path = `/workers/${cmd}/${encodeURIComponent(type)}${cmd === 'ensure' ? '?wait=1' : ''}`;
  const { body } = await callJson(ctx.io.http, ctx.spawner(), 'POST', path, cmd === 'ensure' ? { timeoutMs: ENSURE_WAIT_MS + 30_000 } : {});
  const r = asRecord(body);
  const line = cmd === 'start'
    ? `started ${String(r.worker_id)} (pid ${String(r.process_id)})`
    : `${String(r.action)}${r.worker_id ? ` ${String(r.worker_id)}` : ''}${r.reason ? `: ${String(r.reason)}` : ''}`;
  // ensure succeeds only when a worker serves: refused (backoff, capacity, GPU) or failed to start is an error
  if (cmd === 'ensure' && r.action !== 'started' && r.action !== 'existing') {
    if (ctx.json) print(ctx, body, () => line);
    else ctx.io.err(`${ctx.program} ensure ${type}: ${line}\n`);
    return EXIT.refused;
  }
  print(ctx, body, () => line);
  return 0;
}

export async function stop(ctx: CliContext): Promise<number> {
  const id = arg(ctx, 'stop', 'worker id');
  const grace = ctx.opts['grace-ms'];
  const { body } = await callJson(ctx.io.http, ctx.spawner(), 'POST', `/workers/stop/${encodeURIComponent(id)}${grace ? `?grace_ms=${encodeURIComponent(grace)}` : ''}`, {
    // a drain waits for running jobs: give the call the grace time on top
    timeoutMs: 30_000 + (Number(grace) || 0),
  });
  print(ctx, body, () => `stopped ${id}`);
  return 0;
}
