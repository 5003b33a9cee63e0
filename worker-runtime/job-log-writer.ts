/**
 * The worker's writer of job logs. Lines are buffered and appended every ~50 ms in
 * one pipeline (append-logs.lua per job, which keeps each job within its cap). It
 * never blocks or fails a job: when Redis errors or the buffer is full, lines are
 * dropped and counted (`droppedLines()`, and the worker record's `log_lines_dropped`).
 * Before a job's outcome is recorded, `flush(jobId)` waits for its lines, at most
 * `flushWaitMs`.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { LOG_LIMITS, type LogStream } from '../core/job-logs';
import type { Keys } from '../core/keys';
import { appendLogsCall, countLogDropsCall } from '../core/lua/contracts';
import * as lua from '../core/lua/scripts';

/** What a worker needs of the writer. */
export interface JobLogSink {
  /** Adds text (split into lines) to a job's log. Never throws, never waits. */
  write(jobId: string, stream: LogStream, text: string): void;
  /** Resolves once the job's lines written so far are stored or dropped, or after flushWaitMs. */
  flush(jobId: string): Promise<void>;
}

export interface JobLogWriter extends JobLogSink {
  /** Lines lost since the worker started (Redis error, full buffer, job gone). */
  droppedLines(): number;
  /** Flushes everything, waiting at most flushWaitMs. */
  close(): Promise<void>;
}

export interface JobLogWriterOptions {
  /** A connection of its own that fails fast (small maxRetriesPerRequest, commandTimeout). */
  redis: Redis;
  keys: Keys;
  workerId: string;
  /** The worker's own log, for the writer's problems (rate-limited). */
  log(level: 'warn', message: string): void;
  intervalMs?: number;
  /** Lines and bytes held at most; beyond them new lines are dropped. */
  maxPendingLines?: number;
  maxPendingBytes?: number;
  /** The longest flush(jobId) and close() wait. */
  flushWaitMs?: number;
  /** A flush whose reply takes longer than this counts its lines as dropped. */
  callTimeoutMs?: number;
  /** TTL of a running job's log, renewed by each append (finishing the job sets the job's own). */
  safetyTtlMs?: number;
  now?: () => number;
}

interface Line {
  stream: string;
  text: string;
}

interface ScriptPipeline {
  kilnAppendLogs(numKeys: number, ...keysThenArgv: (string | number)[]): void;
  kilnCountLogDrops(numKeys: number, ...keysThenArgv: (string | number)[]): void;
}

/**
 * Options of the writer's own connection: opened at the first line, and failing fast,
 * so a slow or unreachable Redis drops log lines instead of holding them (or a job) up.
 */
export function logConnectionOptions(workerId: string): RedisOptions {
  return { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 2000, connectionName: `kiln-worker-logs-${workerId}` };
}

const WARN_EVERY_MS = 30_000;
const RETRY_REPORT_MS = 1000;

/** A line cut to the per-line limit (UTF-8 bytes), with a marker saying how much went. */
export function capLine(text: string, maxBytes = LOG_LIMITS.maxLineBytes): string {
  if (text.length * 3 <= maxBytes) return text; // cannot exceed: skip the byte count
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const kept = Buffer.from(text).subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
  return `${kept}… [kiln: line truncated, ${(bytes - Buffer.byteLength(kept)).toLocaleString('en-US')} more bytes]`;
}

export function createJobLogWriter(o: JobLogWriterOptions): JobLogWriter {
  const intervalMs = o.intervalMs ?? 50;
  const maxPendingLines = o.maxPendingLines ?? 20_000;
  const maxPendingBytes = o.maxPendingBytes ?? 8 * 1024 * 1024;
  const flushWaitMs = o.flushWaitMs ?? 1000;
  const callTimeoutMs = o.callTimeoutMs ?? 5000;
  const safetyTtlMs = o.safetyTtlMs ?? 8 * 24 * 3600 * 1000;
  const now = o.now ?? Date.now;
  const perCall = 500; // lines per script call: a bounded script run

  // no numberOfKeys: each call passes its count first (from the generated call, core/lua/contracts.ts)
  o.redis.defineCommand('kilnAppendLogs', { lua: lua.appendLogs.source });
  o.redis.defineCommand('kilnCountLogDrops', { lua: lua.countLogDrops.source });

  let pending = new Map<string, Line[]>();
  let pendingLines = 0;
  let pendingBytes = 0;
  let dropped = 0;
  let unreported = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let lastWarn = 0;
  let quietProblems = 0;

  const problem = (message: string) => {
    const t = now();
    if (t - lastWarn < WARN_EVERY_MS) {
      quietProblems++;
      return;
    }
    const more = quietProblems ? ` (and ${quietProblems} similar problems since the last warning)` : '';
    lastWarn = t;
    quietProblems = 0;
    try {
      o.log('warn', `job logs: ${message}${more}`);
    } catch {
      // the worker's own log failing must not reach a job
    }
  };

  const drop = (n: number) => {
    dropped += n;
    unreported += n;
  };

  const schedule = (ms: number) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flushAll();
    }, ms);
    timer.unref();
  };

  /** Queues a flush of everything pending now behind the one in flight (order is kept). */
  const flushAll = (): Promise<void> => {
    chain = chain.then(send);
    return chain;
  };

  async function send(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    const batch = pending;
    const lines = pendingLines;
    pending = new Map();
    pendingLines = 0;
    pendingBytes = 0;
    const report = unreported;
    if (batch.size === 0 && report === 0) return;
    inFlight++;
    let reached = false;
    const calls: number[] = [];
    try {
      const pipe = o.redis.pipeline();
      const scripts = pipe as unknown as ScriptPipeline;
      for (const [jobId, jobLines] of batch) {
        for (let i = 0; i < jobLines.length; i += perCall) {
          const chunk = jobLines.slice(i, i + perCall);
          const call = appendLogsCall(
            { logs: o.keys.logs(jobId), job: o.keys.job(jobId) },
            { max_lines: LOG_LIMITS.maxLines, max_bytes: LOG_LIMITS.maxBytes, safety_ttl_ms: safetyTtlMs, lines: chunk.flatMap((l) => [l.stream, l.text]) },
          );
          scripts.kilnAppendLogs(call.keys.length, ...call.keys, ...call.argv);
          calls.push(chunk.length);
        }
      }
      if (report > 0) {
        const call = countLogDropsCall({ worker: o.keys.worker(o.workerId) }, { dropped: report });
        scripts.kilnCountLogDrops(call.keys.length, ...call.keys, ...call.argv);
      }
      let timeout: NodeJS.Timeout | undefined;
      const replies = await Promise.race([
        pipe.exec(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error(`no reply from Redis within ${callTimeoutMs} ms`)), callTimeoutMs);
        }),
      ]).finally(() => clearTimeout(timeout));
      reached = (replies ?? []).every(([err]) => !err);
      let lost = 0;
      let firstError: string | undefined;
      calls.forEach((n, i) => {
        const [err, res] = replies?.[i] ?? [new Error('no reply'), null];
        const appended = Array.isArray(res) ? Number(res[0]) : 0;
        if (err || appended === 0) {
          lost += n;
          firstError ??= err ? err.message : 'the job no longer exists';
        }
      });
      if (report > 0) {
        const [err] = replies?.[calls.length] ?? [new Error('no reply')];
        if (err) firstError ??= err.message;
        else unreported -= report;
      }
      if (lost > 0) drop(lost);
      if (firstError) problem(`${lost > 0 ? `${lost} lines not stored` : 'the count of dropped lines not recorded'}: ${firstError}`);
    } catch (err) {
      drop(lines);
      problem(`${lines} lines not stored: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      inFlight--;
    }
    // A drop count not yet on the worker record is sent next, without spinning on a dead Redis.
    if (unreported > 0) schedule(reached || pendingLines > 0 ? intervalMs : RETRY_REPORT_MS);
  }

  const bounded = async (p: Promise<void>) => {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise<void>((resolve) => (t = setTimeout(resolve, flushWaitMs)))]);
    clearTimeout(t);
  };

  return {
    write(jobId, stream, text) {
      try {
        const parts = String(text).split('\n');
        for (const part of parts) {
          const line = capLine(part.endsWith('\r') ? part.slice(0, -1) : part);
          const size = line.length + stream.length + 16;
          if (pendingLines >= maxPendingLines || pendingBytes + size > maxPendingBytes) {
            drop(1);
            continue;
          }
          let list = pending.get(jobId);
          if (!list) pending.set(jobId, (list = []));
          list.push({ stream, text: line });
          pendingLines++;
          pendingBytes += size;
        }
        if (unreported > 0 && pendingLines === 0) schedule(RETRY_REPORT_MS);
        else schedule(intervalMs);
      } catch (err) {
        problem(`a line was not taken: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    async flush(jobId) {
      if (!pending.has(jobId) && inFlight === 0) return;
      await bounded(flushAll());
    },
    droppedLines: () => dropped,
    async close() {
      await bounded(flushAll());
    },
  };
}
