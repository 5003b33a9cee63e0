/** `start <type>`, `ensure <type>`, `stop <worker_id>`: the spawner's worker commands. */
import { print, type CliContext } from './context';
import { usageError } from './exit-codes';
import { callJson } from './http';
import { asRecord } from './job-view';

function arg(ctx: CliContext, cmd: string, what: string): string {
  const a = ctx.args[0];
  if (!a) throw usageError(`${ctx.program} ${cmd} needs a ${what} (see "${ctx.program} --help")`);
  return a;
}

export async function startOrEnsure(ctx: CliContext, cmd: 'start' | 'ensure'): Promise<number> {
  const type = arg(ctx, cmd, 'worker type');
  const { body } = await callJson(ctx.io.http, ctx.spawner(), 'POST', `/workers/${cmd}/${encodeURIComponent(type)}`);
  const r = asRecord(body);
  print(ctx, body, () => (cmd === 'start'
    ? `started ${String(r.worker_id)} (pid ${String(r.process_id)})`
    : `${String(r.action)}${r.worker_id ? ` ${String(r.worker_id)}` : ''}${r.reason ? `: ${String(r.reason)}` : ''}`));
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
