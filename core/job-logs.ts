/**
 * Job logs: what a job writes while it runs (Node `console.*`, `ctx.log`, Python
 * `print`, `sys.stderr`, `logging`), one Redis stream per job. Workers append
 * through append-logs.lua; the API reads through read-job-logs.lua. The limits and
 * the read side live here, so every runtime shares them.
 */
import type { JobStatus, Keys } from './keys';
import * as scripts from './lua/contracts';
import type { RedisPort } from './redis-port';
import { FINISHED_STATUSES } from './schemas/job';

/** Per-job caps: the last lines are kept, the oldest cut first. */
export const LOG_LIMITS = {
  maxLines: 5000,
  maxBytes: 1024 * 1024,
  /** A longer line is truncated (with a marker) before it is stored. */
  maxLineBytes: 8 * 1024,
} as const;

export const LOG_STREAMS = ['stdout', 'stderr', 'debug', 'info', 'warn', 'error'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** A stored line's cursor: its stream entry id. `0-0` is before the first line. */
export const LOG_CURSOR = /^\d{1,19}-\d{1,19}$/;
export const LOG_START = '0-0';

export interface LogLine {
  /** The cursor that reads the lines after this one. */
  id: string;
  ts: string;
  stream: string;
  text: string;
}

export interface LogPage {
  status: JobStatus;
  lines: LogLine[];
  /** True when more lines were kept after the last one returned (at the time of the read). */
  more: boolean;
  /** Where the next read starts; null when the job has ended and every kept line was returned. */
  nextCursor: string | null;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The line that stands first in a log whose oldest lines were cut. */
export function cutNotice(cut: number): string {
  return `[kiln] ${fmt(cut)} earlier lines were cut (limit: ${fmt(LOG_LIMITS.maxLines)} lines / ${LOG_LIMITS.maxBytes / (1024 * 1024)} MiB per job)`;
}

/** The time of a stream entry id (`<ms>-<seq>`) as an ISO string. */
export function entryTime(id: string): string {
  return new Date(Number(id.slice(0, id.indexOf('-')))).toISOString();
}

function toLine(row: unknown): LogLine | null {
  if (!Array.isArray(row) || row.length < 2) return null;
  const id = String(row[0]);
  const flat = Array.isArray(row[1]) ? (row[1] as unknown[]) : [];
  let stream = 'stdout';
  let text = '';
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i] === 's') stream = String(flat[i + 1]);
    else if (flat[i] === 't') text = String(flat[i + 1]);
  }
  return { id, ts: entryTime(id), stream, text };
}

/**
 * Up to `limit` lines after `cursor` (from the first kept line when there is none, led by
 * a line saying how many were cut, if any), with the job's status read in the same
 * script. Null when the job does not exist.
 */
export async function readJobLogs(
  redis: RedisPort,
  keys: Keys,
  jobId: string,
  opts: { cursor?: string | undefined; limit: number },
): Promise<LogPage | null> {
  const fromStart = opts.cursor === undefined;
  const after = opts.cursor ?? LOG_START;
  const limit = Math.max(1, opts.limit);
  // One more than wanted tells whether more lines follow. The cut notice takes a slot.
  const reply = await scripts.readJobLogs(redis, { job: keys.job(jobId), logs: keys.logs(jobId) }, { after, count: limit + 1 });
  if (!Array.isArray(reply) || reply.length === 0) return null;
  const status = String(reply[0]) as JobStatus;
  const cut = Number(reply[1] ?? 0);
  const notice = fromStart && cut > 0;
  let entries = reply.slice(2).map(toLine).filter((l): l is LogLine => l !== null);
  const room = notice ? limit - 1 : limit;
  const more = entries.length > room;
  entries = entries.slice(0, room);
  const lines: LogLine[] = [];
  if (notice) {
    const first = entries[0];
    lines.push({ id: LOG_START, ts: first ? first.ts : new Date().toISOString(), stream: 'warn', text: cutNotice(cut) });
  }
  lines.push(...entries);
  const finished = FINISHED_STATUSES.includes(status);
  const last = lines.at(-1)?.id ?? after;
  return { status, lines, more, nextCursor: finished && !more ? null : last };
}

/** A line as the API shows it. */
export const lineView = (l: LogLine) => ({ ts: l.ts, stream: l.stream, text: l.text });
