/**
 * Reads a worker's log file and its rotated `.1`: the last N lines, or the lines
 * after a cursor. A cursor is `<inode>:<byte offset>` of the file it points into,
 * so it stays valid when that file is rotated to `.1` (same inode), and a cursor
 * whose file is gone restarts at the oldest kept line.
 */
import { type FileHandle, open } from 'node:fs/promises';

export interface LogLine {
  ts: string;
  stream: string;
  text: string;
}

export interface ReadResult {
  lines: LogLine[];
  /** The cursor after each line (an SSE event's id). */
  cursors: string[];
  /** The cursor after the last line read. */
  cursor: string;
}

const BLOCK = 64 * 1024;
/** No request reads more than this much of the files (two capped files fit). */
const MAX_READ_BYTES = 32 * 1024 * 1024;

export function parseLogLine(raw: string): LogLine {
  const m = /^(\S+) (\S+) ?(.*)$/s.exec(raw);
  if (!m || Number.isNaN(Date.parse(m[1]!))) return { ts: '', stream: 'stderr', text: raw };
  return { ts: m[1]!, stream: m[2]!, text: m[3]! };
}

export function parseCursor(raw: string): { ino: number; offset: number } | undefined {
  const m = /^(\d{1,20}):(\d{1,15})$/.exec(raw);
  return m ? { ino: Number(m[1]), offset: Number(m[2]) } : undefined;
}

const formatCursor = (ino: number, offset: number) => `${ino}:${offset}`;

interface OpenFile {
  h: FileHandle;
  ino: number;
  size: number;
}

async function openFile(path: string): Promise<OpenFile | undefined> {
  let h: FileHandle;
  try {
    h = await open(path, 'r');
  } catch {
    return undefined; // not written yet, rotated away, or swept
  }
  const st = await h.stat();
  return { h, ino: st.ino, size: st.size };
}

/** The rotated file then the current one (oldest first), each opened once for this read. */
async function openBoth(path: string): Promise<OpenFile[]> {
  const [old, cur] = await Promise.all([openFile(`${path}.1`), openFile(path)]);
  const files = [old, cur].filter((f): f is OpenFile => f !== undefined);
  // between rename and reopen both names may show the same file for a moment
  if (files.length === 2 && files[0]!.ino === files[1]!.ino) {
    await files[1]!.h.close();
    files.pop();
  }
  return files;
}

const closeAll = (files: OpenFile[]) => Promise.all(files.map((f) => f.h.close().catch(() => undefined)));

/** Whether `path` (or its `.1`) exists. */
export async function logExists(path: string): Promise<boolean> {
  const files = await openBoth(path);
  await closeAll(files);
  return files.length > 0;
}

/** Complete lines from `offset` on, at most `limit`; returns the offset after the last one taken. */
async function readForward(f: OpenFile, offset: number, limit: number, budget: { bytes: number }): Promise<{ lines: LogLine[]; cursors: string[]; offset: number }> {
  const lines: LogLine[] = [];
  const cursors: string[] = [];
  let pos = offset;
  let carry = Buffer.alloc(0);
  let lineStart = offset;
  while (lines.length < limit && pos < f.size && budget.bytes > 0) {
    const len = Math.min(BLOCK, f.size - pos);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await f.h.read(buf, 0, len, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    budget.bytes -= bytesRead;
    let data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    let nl: number;
    while (lines.length < limit && (nl = data.indexOf(10)) >= 0) {
      lines.push(parseLogLine(data.subarray(0, nl).toString('utf8')));
      lineStart += nl + 1;
      cursors.push(formatCursor(f.ino, lineStart));
      data = data.subarray(nl + 1);
    }
    carry = Buffer.from(data);
  }
  return { lines, cursors, offset: lineStart };
}

/** The last `n` complete lines of a file, and the offset after the last one. */
async function readBackward(f: OpenFile, n: number, budget: { bytes: number }): Promise<{ lines: LogLine[]; cursors: string[]; end: number }> {
  if (f.size === 0) return { lines: [], cursors: [], end: 0 };
  let pos = f.size;
  const chunks: Buffer[] = [];
  let end = -1;
  let count = 0; // newlines before `end` in what was read
  const newlines = (b: Buffer, upto: number) => {
    let c = 0;
    for (let i = b.indexOf(10); i >= 0 && i < upto; i = b.indexOf(10, i + 1)) c++;
    return c;
  };
  while (pos > 0 && budget.bytes > 0) {
    const start = Math.max(0, pos - BLOCK);
    const buf = Buffer.alloc(pos - start);
    await f.h.read(buf, 0, buf.length, start);
    budget.bytes -= buf.length;
    chunks.unshift(buf);
    pos = start;
    if (end < 0) {
      // no newline in the blocks after this one: the last one is in this block or nowhere yet
      const last = buf.lastIndexOf(10);
      if (last < 0) continue;
      end = pos + last + 1;
      count = newlines(buf, last + 1);
    } else {
      count += newlines(buf, buf.length);
    }
    if (count > n) break;
  }
  if (end < 0) return { lines: [], cursors: [], end: 0 };
  const all = Buffer.concat(chunks).subarray(0, end - pos).toString('utf8').split('\n');
  all.pop(); // after the last newline
  // the first piece may be the middle of a line when the read started mid-file
  if (pos > 0) all.shift();
  const raw = n > 0 ? all.slice(-n) : [];
  const cursors: string[] = new Array<string>(raw.length);
  for (let i = raw.length - 1, off = end; i >= 0; off -= Buffer.byteLength(raw[i]!) + 1, i--) cursors[i] = formatCursor(f.ino, off);
  return { lines: raw.map(parseLogLine), cursors, end };
}

/** The last `n` lines across `.1` and the current file, and the cursor after them. */
export async function readTail(path: string, n: number): Promise<ReadResult> {
  const files = await openBoth(path);
  try {
    const budget = { bytes: MAX_READ_BYTES };
    let lines: LogLine[] = [];
    let cursors: string[] = [];
    let cursor = formatCursor(0, 0);
    for (let i = files.length - 1; i >= 0; i--) {
      const f = files[i]!;
      const r = await readBackward(f, n - lines.length, budget);
      if (i === files.length - 1) cursor = formatCursor(f.ino, r.end);
      lines = [...r.lines, ...lines];
      cursors = [...r.cursors, ...cursors];
      if (lines.length >= n || budget.bytes <= 0) break;
    }
    return { lines, cursors, cursor };
  } finally {
    await closeAll(files);
  }
}

/** Up to `limit` lines after `cursor` (from the oldest kept line when its file is gone). */
export async function readAfter(path: string, cursor: string, limit: number): Promise<ReadResult> {
  const at = parseCursor(cursor) ?? { ino: 0, offset: 0 };
  const files = await openBoth(path);
  try {
    const budget = { bytes: MAX_READ_BYTES };
    let i = files.findIndex((f) => f.ino === at.ino);
    let offset = at.offset;
    if (i < 0) {
      i = 0;
      offset = 0;
    }
    const lines: LogLine[] = [];
    const cursors: string[] = [];
    let next = files.length ? formatCursor(files[i]!.ino, offset) : formatCursor(at.ino, at.offset);
    for (; i < files.length; i++) {
      const f = files[i]!;
      // a cursor past the end means the inode was reused by a newer file: read it from the start
      const r = await readForward(f, offset > f.size ? 0 : offset, limit - lines.length, budget);
      lines.push(...r.lines);
      cursors.push(...r.cursors);
      next = formatCursor(f.ino, r.offset);
      if (lines.length >= limit || budget.bytes <= 0 || r.offset < f.size) break;
      offset = 0;
    }
    return { lines, cursors, cursor: next };
  } finally {
    await closeAll(files);
  }
}
