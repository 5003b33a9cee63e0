/**
 * `jobs logs <id> [-f]`: the lines a job wrote (GET /jobs/:id/logs, page by page
 * along next_cursor); -f follows the ?follow=true event stream until the job ends,
 * resuming from the last cursor when the connection drops.
 */
import { KilnError } from '../../core/errors';
import { print, printLine, type CliContext } from './context';
import { callJson, openEventStream } from './http';
import { asRecord, str } from './job-view';
import { jobIdArg, jobPath } from './jobs';
import { intOption } from './options';
import { readSse } from './sse';

const GIVE_UP_MS = 30_000;

export interface LogLine {
  ts: string;
  stream: string;
  text: string;
}

function parseData(data: string): Record<string, unknown> {
  try {
    return asRecord(JSON.parse(data));
  } catch {
    return {};
  }
}

function readLine(v: unknown): LogLine {
  const l = asRecord(v);
  return { ts: str(l.ts) ?? '', stream: str(l.stream) ?? '?', text: str(l.text) ?? '' };
}

/** `12:00:01.234 stdout  text` (UTC time of day, as the ISO stamp has it). */
export function formatLogLine(l: LogLine): string {
  const time = /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(l.ts)?.[1] ?? l.ts;
  return `${time} ${l.stream.padEnd(6)} ${l.text}`;
}

interface Page {
  lines: LogLine[];
  next: string | null;
}

async function page(ctx: CliContext, id: string, cursor: string | null): Promise<Page> {
  const q = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
  const body = asRecord((await callJson(ctx.io.http, ctx.api(), 'GET', jobPath(id, `/logs${q}`))).body);
  return { lines: (Array.isArray(body.lines) ? body.lines : []).map(readLine), next: str(body.next_cursor) };
}

/** Every kept line, page after page; stops at the last page (or at an empty one while the job runs). */
async function printKept(ctx: CliContext, id: string): Promise<number> {
  const all: LogLine[] = [];
  let cursor: string | null = null;
  for (;;) {
    const p = await page(ctx, id, cursor);
    if (ctx.json) all.push(...p.lines);
    else for (const l of p.lines) ctx.io.out(`${formatLogLine(l)}\n`);
    cursor = p.next ?? cursor;
    if (p.next === null || p.lines.length === 0) {
      if (ctx.json) print(ctx, { job_id: id, lines: all, next_cursor: p.next }, () => '');
      return 0;
    }
  }
}

function emit(ctx: CliContext, l: LogLine): void {
  if (ctx.json) printLine(ctx, { event: 'log', ...l });
  else ctx.io.out(`${formatLogLine(l)}\n`);
}

/** Polling fallback of -f: pages from the cursor until next_cursor is null (job over, all lines read). */
async function pollFollow(ctx: CliContext, id: string, from: string | null, intervalMs: number, signal: AbortSignal): Promise<void> {
  let cursor = from;
  for (;;) {
    const p = await page(ctx, id, cursor);
    for (const l of p.lines) emit(ctx, l);
    if (p.next === null) return;
    cursor = p.next;
    if (p.lines.length === 0) await ctx.io.sleep(intervalMs, signal);
  }
}

async function follow(ctx: CliContext, id: string, signal: AbortSignal): Promise<number> {
  const intervalMs = intOption(ctx.opts, 'interval-ms', { min: 50, max: 600_000 }) ?? 1000;
  let cursor: string | null = null;
  let failingSince: number | undefined;
  for (;;) {
    try {
      const q = `?follow=true${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const body = await openEventStream(ctx.io.http, ctx.api(), jobPath(id, `/logs${q}`), signal, cursor ?? undefined);
      failingSince = undefined;
      for await (const ev of readSse(body)) {
        if (ev.event === 'end') {
          if (ctx.json) printLine(ctx, { event: 'end', job: parseData(ev.data) });
          return 0;
        }
        if (ev.event !== 'log') continue;
        if (ev.id) cursor = ev.id;
        emit(ctx, readLine(parseData(ev.data)));
      }
    } catch (err) {
      if (signal.aborted || !(err instanceof KilnError) || err.status === 404) throw err;
      if (err.code !== 'UNREACHABLE') {
        // no event stream here: read pages instead
        await pollFollow(ctx, id, cursor, intervalMs, signal);
        return 0;
      }
      failingSince ??= ctx.io.now();
      if (ctx.io.now() - failingSince > GIVE_UP_MS) throw err;
    }
    await ctx.io.sleep(Math.min(intervalMs, 500), signal);
  }
}

export async function jobsLogs(ctx: CliContext): Promise<number> {
  const id = jobIdArg(ctx, 'logs');
  if (!ctx.opts.follow) return printKept(ctx, id);
  const abort = new AbortController();
  const unsubscribe = ctx.io.onInterrupt(() => abort.abort());
  try {
    return await follow(ctx, id, abort.signal);
  } catch (err) {
    if (abort.signal.aborted) return 130;
    throw err;
  } finally {
    unsubscribe();
  }
}
