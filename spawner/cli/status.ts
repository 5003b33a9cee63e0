/**
 * `status [--watch]`: GET /workers/status from the API (kiln) or the spawner
 * (spawner, or --url). --watch redraws it every --interval-ms: in place on a
 * terminal, one frame after another otherwise; --count N stops after N frames.
 */
import { KilnError } from '../../core/errors';
import { print, printLine, type CliContext } from './context';
import { callJson, type Endpoint } from './http';
import { intOption } from './options';
import { statusText } from './status-render';

function source(ctx: CliContext): Endpoint {
  return ctx.program === 'spawner' || ctx.opts.url !== undefined ? ctx.spawner() : ctx.api();
}

export async function status(ctx: CliContext): Promise<number> {
  const ep = source(ctx);
  const fromSpawner = ctx.program === 'spawner' || ctx.opts.url !== undefined;
  const fetchStatus = async () => {
    const body = (await callJson(ctx.io.http, ep, 'GET', '/workers/status')).body;
    if (!fromSpawner) return body;
    // the spawner's Python templates (a spawner without the route: none shown)
    const templates = await callJson(ctx.io.http, ep, 'GET', '/workers/templates').then((r) => (r.body as { templates?: unknown }).templates, () => undefined);
    return Array.isArray(templates) ? { ...(body as object), templates } : body;
  };
  if (!ctx.opts.watch) {
    const body = await fetchStatus();
    print(ctx, body, () => statusText(body, ctx.io.now()));
    return 0;
  }
  const intervalMs = intOption(ctx.opts, 'interval-ms', { min: 100, max: 3_600_000 }) ?? 2000;
  const count = intOption(ctx.opts, 'count', { min: 1, max: 1_000_000 });
  const abort = new AbortController();
  const unsubscribe = ctx.io.onInterrupt(() => abort.abort());
  try {
    for (let frame = 1; ; frame++) {
      let text: string;
      let body: unknown;
      try {
        body = await fetchStatus();
        text = statusText(body, ctx.io.now());
      } catch (err) {
        // the first frame fails loudly; later ones say so and keep trying
        if (frame === 1 || !(err instanceof KilnError)) throw err;
        body = { error: err.toJSON() };
        text = `error: ${err.message}`;
      }
      const stamp = new Date(ctx.io.now()).toISOString();
      if (ctx.json) printLine(ctx, { at: stamp, ...(body as object) });
      else {
        const head = `${ctx.program} status · ${ep.base} · ${stamp} · every ${intervalMs} ms${ctx.io.isTTY ? ', Ctrl-C stops' : ''}`;
        ctx.io.out(ctx.io.isTTY ? `\x1b[H\x1b[2J${head}\n\n${text}\n` : `${frame > 1 ? '\n' : ''}${head}\n${text}\n`);
      }
      if (count !== undefined && frame >= count) return 0;
      await ctx.io.sleep(intervalMs, abort.signal).catch(() => undefined); // safe: an abort (Ctrl-C) ends the wait early, checked next line
      if (abort.signal.aborted) return 0;
    }
  } finally {
    unsubscribe();
  }
}
