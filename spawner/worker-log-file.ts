/**
 * One worker's log file: `<time> <stream> <text>` lines appended asynchronously,
 * rotated to `<file>.1` at a size cap. Writes never block the caller and never
 * throw: when the disk falls behind, lines beyond a pending-bytes budget are
 * dropped and counted (and a line saying so is written once it catches up).
 */
import { type FileHandle, mkdir, open, rename, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';

export type LogStream = 'stdout' | 'stderr' | 'spawner';

/** Where a worker's output goes (the launcher writes each line of the child's pipes here). */
export interface OutputSink {
  write(stream: LogStream, text: string): void;
  /** Writes what is pending, then closes the file. Never rejects. */
  close(): Promise<void>;
}

export interface LogFile extends OutputSink {
  readonly path: string;
  /** Lines dropped because the writer was behind or the disk refused them. */
  dropped(): number;
  readonly closed: boolean;
  /** Resolves once everything written so far is on disk (tests, close). */
  flushed(): Promise<void>;
}

export interface LogFileOptions {
  path: string;
  /** Rotate when the file would grow past this many bytes (one `.1` is kept). */
  maxBytes: number;
  /** Bytes that may wait for the disk before lines are dropped (default 1 MiB). */
  maxPendingBytes?: number;
  now(): number;
  /** Told once per failure streak (disk full, folder gone…); never throws back. */
  onError?(err: Error): void;
}

/** Longer lines are cut here (with a marker), so one runaway line cannot fill the file. */
export const MAX_LINE_CHARS = 16_384;

export function formatLogLine(ts: number, stream: LogStream, text: string): string {
  let t = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (t.length > MAX_LINE_CHARS) t = `${t.slice(0, MAX_LINE_CHARS)}… [cut ${t.length - MAX_LINE_CHARS} chars]`;
  // the file is one record per line: a stray CR or NUL stays visible, never splits a record
  return `${new Date(ts).toISOString()} ${stream} ${t.replace(/[\r\n]/g, ' ')}\n`;
}

export function createLogFile(o: LogFileOptions): LogFile {
  const maxPending = o.maxPendingBytes ?? 1024 * 1024;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropped = 0;
  let droppedUnreported = 0;
  let handle: FileHandle | undefined;
  let size = 0;
  let failing = false;
  let closed = false;
  let running: Promise<void> | undefined;

  const fail = (err: unknown) => {
    if (failing) return;
    failing = true;
    try {
      o.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // the error hook must not break the writer
    }
  };

  async function ensureOpen(): Promise<FileHandle> {
    if (handle) return handle;
    await mkdir(dirname(o.path), { recursive: true, mode: 0o700 });
    const h = await open(o.path, 'a');
    size = (await h.stat()).size;
    handle = h;
    return h;
  }

  async function rotate(): Promise<void> {
    const h = handle;
    handle = undefined;
    await h?.close();
    await rename(o.path, `${o.path}.1`);
  }

  async function writeBatch(batch: Buffer[]): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flushChunk = async () => {
      if (chunkBytes === 0) return;
      const h = await ensureOpen();
      await h.write(Buffer.concat(chunk, chunkBytes));
      size += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    for (const line of batch) {
      await ensureOpen();
      if (size + chunkBytes + line.length > o.maxBytes && size + chunkBytes > 0) {
        await flushChunk();
        await rotate();
        await ensureOpen();
      }
      chunk.push(line);
      chunkBytes += line.length;
    }
    await flushChunk();
  }

  async function drain(): Promise<void> {
    while (pending.length > 0 || droppedUnreported > 0) {
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      if (droppedUnreported > 0) {
        batch.push(Buffer.from(formatLogLine(o.now(), 'spawner', `${droppedUnreported} line(s) dropped: the log file could not keep up`)));
        droppedUnreported = 0;
      }
      try {
        await writeBatch(batch);
        failing = false;
      } catch (err) {
        fail(err);
        dropped += batch.length;
        const h = handle;
        handle = undefined;
        await h?.close().catch(() => undefined); // a broken handle; the next batch reopens the file
        return;
      }
    }
  }

  function kick(): Promise<void> {
    running ??= drain().finally(() => {
      running = undefined;
      if (pending.length > 0 && !closed) void kick();
    });
    return running;
  }

  async function flushed(): Promise<void> {
    while (running || pending.length > 0) await (running ?? kick());
  }

  return {
    path: o.path,
    get closed() {
      return closed;
    },
    dropped: () => dropped,
    flushed,
    write(stream, text) {
      if (closed) return;
      try {
        const line = Buffer.from(formatLogLine(o.now(), stream, text));
        if (pendingBytes + line.length > maxPending) {
          dropped++;
          droppedUnreported++;
          return;
        }
        pending.push(line);
        pendingBytes += line.length;
        void kick();
      } catch (err) {
        dropped++;
        fail(err);
      }
    },
    async close() {
      if (closed) return;
      try {
        await flushed();
      } catch {
        // drain() never rejects; belt and braces
      }
      closed = true;
      const h = handle;
      handle = undefined;
      // the file's time is the worker's exit: the sweep keeps it for an hour from here
      const t = new Date(o.now());
      try {
        if (h) {
          await h.utimes(t, t);
          await h.close();
        } else {
          await utimes(o.path, t, t);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fail(err);
      }
    },
  };
}
