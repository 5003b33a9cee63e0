/**
 * How `jobs watch` shows a job: a live bar redrawn in place on a terminal, one
 * plain line per change otherwise, or one JSON object per line with --json.
 */
import { printLine, type CliContext } from './context';
import { bar, clip, duration, percent } from './format';
import { formatMetrics, type JobInfo } from './job-view';

export interface WatchRenderer {
  /** The job changed (ev: the event that changed it, when one did). */
  update(job: JobInfo, ev?: { event: string; data: Record<string, unknown> }): void;
  end(job: JobInfo): void;
  /** Stops timers and gives the terminal back; safe to call twice. */
  close(): void;
}

/** Time on the clock: since start while running (or to the end), since submit while waiting. */
export function elapsedMs(job: JobInfo, now: number): number | undefined {
  const from = job.startedMs ?? job.createdMs;
  return from === undefined ? undefined : (job.finishedMs ?? now) - from;
}

const verb = (job: JobInfo) => (job.startedMs === undefined && job.status !== 'running' ? 'waiting' : 'elapsed');

/** The one line a terminal shows, fitted to `width` columns. */
export function liveLine(job: JobInfo, now: number, width: number): string {
  const barWidth = Math.max(10, Math.min(30, width - 50));
  const head = `${job.status.padEnd(10)} ${bar(job.progress, barWidth)} ${percent(job.progress).padStart(4)}  ${verb(job)} ${duration(elapsedMs(job, now))}`;
  const tail = job.waitingReason && job.status === 'queued'
    ? `waiting: ${job.waitingReason}`
    : [job.message, formatMetrics(job.metrics)].filter(Boolean).join('  ');
  return clip(tail ? `${head}  ${tail}` : head, Math.max(20, width - 1));
}

/** The plain line of a change (no terminal). */
export function plainLine(job: JobInfo, now: number): string {
  const msg = [job.message, formatMetrics(job.metrics)].filter(Boolean).map((t) => ` ${t}`).join('');
  return `${job.status} ${percent(job.progress)}${msg} (${verb(job)} ${duration(elapsedMs(job, now))})`;
}

/** What a finished job's watch ends with. */
export function endLines(job: JobInfo, now: number): string[] {
  const took = duration(elapsedMs(job, now));
  switch (job.status) {
    case 'succeeded':
      return [`succeeded in ${took}`, ...(job.result === null ? [] : [`result: ${JSON.stringify(job.result)}`])];
    case 'failed':
      return [`failed after ${job.attempts}/${job.maxAttempts} attempt(s)${job.error ? `: ${job.error.type}: ${job.error.message}` : ''}`];
    case 'cancelled':
      return [`cancelled after ${took}`];
    case 'expired':
      return [`expired after ${took} in the queue without starting${job.error ? `: ${job.error.message}` : ''}`];
    default:
      return [`job ${job.id} is gone (${job.status}): it expired after its retention time`];
  }
}

function ttyRenderer(ctx: CliContext, first: JobInfo): WatchRenderer {
  const { io } = ctx;
  let job = first;
  const draw = () => io.out(`\r\x1b[2K${liveLine(job, io.now(), io.columns())}`);
  io.out('\x1b[?25l');
  draw();
  // redraw for the clock even when nothing changes
  const timer = setInterval(draw, 250);
  let closed = false;
  let ended = false;
  return {
    update(j) {
      job = j;
      draw();
    },
    end(j) {
      job = j;
      ended = true;
      draw();
      io.out(`\n${endLines(j, io.now()).join('\n')}\n`);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      io.out(ended ? '\x1b[?25h' : '\x1b[?25h\n');
    },
  };
}

// Silent until the first change: the event stream replays the job from its submit.
function plainRenderer(ctx: CliContext): WatchRenderer {
  let last = '';
  const show = (j: JobInfo) => {
    const key = `${j.status}|${percent(j.progress)}|${j.message ?? ''}|${formatMetrics(j.metrics)}`;
    if (key === last) return;
    last = key;
    ctx.io.out(`${plainLine(j, ctx.io.now())}\n`);
  };
  return {
    update: show,
    end(j) {
      ctx.io.out(`${endLines(j, ctx.io.now()).join('\n')}\n`);
    },
    close() {},
  };
}

function jsonRenderer(ctx: CliContext, first: JobInfo): WatchRenderer {
  printLine(ctx, { event: 'job', job: first.raw });
  let last = '';
  return {
    update(j, ev) {
      if (ev) return printLine(ctx, { event: ev.event, ...ev.data });
      // polling: a line per change, shaped like a status event
      const line = { event: 'status', job_id: j.id, status: j.status, progress: j.progress, message: j.message };
      const key = JSON.stringify(line);
      if (key !== last) printLine(ctx, line);
      last = key;
    },
    end(j) {
      printLine(ctx, { event: 'end', job: j.raw });
    },
    close() {},
  };
}

export function createWatchRenderer(ctx: CliContext, first: JobInfo): WatchRenderer {
  if (ctx.json) return jsonRenderer(ctx, first);
  return ctx.io.isTTY ? ttyRenderer(ctx, first) : plainRenderer(ctx);
}
