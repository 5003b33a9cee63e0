/**
 * The logger (text and JSON lines, levels, child fields, LOG_LEVEL/LOG_FORMAT
 * parsing) and the worker log file on a real disk: rotation at the cap, reading
 * the tail and after a cursor across a rotation, dropping when the disk is
 * behind, and the sweep of old files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, parseLogFormat, parseLogLevel } from '../core/logger';
import { createLogFile } from '../spawner/worker-log-file';
import { readAfter, readTail } from '../spawner/worker-log-reader';
import { createWorkerLogs } from '../spawner/worker-logs';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'kiln-logs-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2026-01-02T03:04:05.678Z');

describe('logger', () => {
  it('writes text lines with fields, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger({ component: 'spawner', level: 'info', now: () => T0, write: (l) => lines.push(l) });
    log.debug('hidden');
    log.info('started node-1', { worker_id: 'node-1', pid: 42, note: 'two words' });
    log.child({ worker_id: 'node-2' }).warn('careful', { n: 1 });
    expect(lines).toEqual([
      '2026-01-02T03:04:05.678Z info [spawner] started node-1 worker_id=node-1 pid=42 note="two words"',
      '2026-01-02T03:04:05.678Z warn [spawner] careful worker_id=node-2 n=1',
    ]);
  });

  it('writes one JSON object per line in json format, and warn hides info', () => {
    const lines: string[] = [];
    const log = createLogger({ component: 'api', level: 'warn', format: 'json', now: () => T0, write: (l) => lines.push(l) });
    log.info('not shown');
    log.error('broke', { path: '/jobs', ts: 'a field named ts', err: new Error('why') });
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!);
    expect(Object.keys(o).slice(0, 4)).toEqual(['ts', 'level', 'component', 'msg']);
    expect(o).toMatchObject({ ts: '2026-01-02T03:04:05.678Z', level: 'error', component: 'api', msg: 'broke', path: '/jobs', _ts: 'a field named ts' });
    expect(o.err.message).toBe('why');
  });

  it('never throws when its writer does', () => {
    const log = createLogger({ component: 'x', write: () => { throw new Error('disk gone'); } });
    expect(() => log.error('still fine')).not.toThrow();
  });

  it('parses LOG_LEVEL and LOG_FORMAT, naming the variable and the choices on a bad value', () => {
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('WARN')).toBe('warn');
    expect(parseLogFormat('')).toBe('text');
    expect(parseLogFormat('json')).toBe('json');
    expect(() => parseLogLevel('verbose')).toThrow('LOG_LEVEL=verbose is not a log level; use one of debug, info, warn, error');
    expect(() => parseLogFormat('xml')).toThrow('LOG_FORMAT=xml is not a log format; use one of text, json');
  });
});

describe('worker log file', () => {
  it('rotates to .1 at the cap and reads the tail across both files', async () => {
    const dir = tempDir();
    const path = join(dir, 'w-1.log');
    const f = createLogFile({ path, maxBytes: 2000, now: () => T0 });
    for (let i = 0; i < 100; i++) f.write(i % 2 ? 'stdout' : 'stderr', `line ${String(i).padStart(3, '0')} ${'x'.repeat(20)}`);
    await f.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(statSync(path).size).toBeLessThanOrEqual(2000);
    expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(2000);
    const current = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    expect(current.at(-1)).toBe(`2026-01-02T03:04:05.678Z stdout line 099 ${'x'.repeat(20)}`);
    const old = readFileSync(`${path}.1`, 'utf8').split('\n').filter(Boolean);
    // .1 holds the lines just before the current file's, nothing in between is lost
    const firstCurrent = Number(/line (\d+)/.exec(current[0]!)![1]);
    expect(Number(/line (\d+)/.exec(old.at(-1)!)![1])).toBe(firstCurrent - 1);

    const tail = await readTail(path, current.length + 5);
    expect(tail.lines).toHaveLength(current.length + 5);
    expect(tail.lines.at(-1)).toEqual({ ts: '2026-01-02T03:04:05.678Z', stream: 'stdout', text: `line 099 ${'x'.repeat(20)}` });
    expect(tail.lines[0]!.text).toMatch(new RegExp(`^line ${String(firstCurrent - 5).padStart(3, '0')} `));
    expect((await readTail(path, 0)).lines).toEqual([]);
  });

  it('reads after a cursor across a rotation without losing a line', async () => {
    const dir = tempDir();
    const path = join(dir, 'w-2.log');
    const f = createLogFile({ path, maxBytes: 1500, now: () => T0 });
    for (let i = 0; i < 5; i++) f.write('stderr', `first ${i}`);
    await f.flushed();
    const start = await readTail(path, 2);
    expect(start.lines.map((l) => l.text)).toEqual(['first 3', 'first 4']);
    // ~63 bytes a line: one rotation happens within these 30
    for (let i = 0; i < 30; i++) f.write('stdout', `second ${String(i).padStart(2, '0')} ${'y'.repeat(20)}`);
    await f.flushed();
    expect(existsSync(`${path}.1`)).toBe(true);
    const seen: string[] = [];
    let cursor = start.cursor;
    for (let n = 0; n < 20; n++) {
      const r = await readAfter(path, cursor, 7);
      seen.push(...r.lines.map((l) => l.text));
      cursor = r.cursor;
      if (r.lines.length === 0) break;
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `second ${String(i).padStart(2, '0')} ${'y'.repeat(20)}`));
    await f.close();
  });

  it('drops and counts lines when the disk falls behind, and says so in the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'w-3.log');
    const f = createLogFile({ path, maxBytes: 1 << 20, maxPendingBytes: 300, now: () => T0 });
    for (let i = 0; i < 50; i++) f.write('stdout', `burst ${i}`);
    expect(f.dropped()).toBeGreaterThan(0);
    await f.close();
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(`spawner ${f.dropped()} line(s) dropped`);
    expect(text).toContain('burst 0');
  });

  it('never throws when the folder cannot be created', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const errors: string[] = [];
    const f = createLogFile({ path: join(dir, 'not-a-dir', 'w.log'), maxBytes: 1000, now: Date.now, onError: (e) => errors.push(e.message) });
    f.write('stderr', 'lost');
    await f.close();
    expect(errors).toHaveLength(1);
    expect(f.dropped()).toBe(1);
  });

  it('sweeps files of workers gone over an hour, keeping recent and open ones', async () => {
    const dir = tempDir();
    const logs = createWorkerLogs({ dir, maxBytes: 1000, now: Date.now, log: () => {} });
    const old = Date.now() / 1000 - 2 * 3600;
    for (const name of ['gone-1.log', 'gone-1.log.1', 'open-1.log', 'recent-1.log']) writeFileSync(join(dir, name), 'x\n');
    for (const name of ['gone-1.log', 'gone-1.log.1', 'open-1.log']) utimesSync(join(dir, name), old, old);
    const open = logs.open('open-1');
    expect(await logs.sweep()).toBe(2);
    expect(existsSync(join(dir, 'gone-1.log'))).toBe(false);
    expect(existsSync(join(dir, 'gone-1.log.1'))).toBe(false);
    expect(existsSync(join(dir, 'open-1.log'))).toBe(true);
    expect(existsSync(join(dir, 'recent-1.log'))).toBe(true);
    expect(logs.isWriting('open-1')).toBe(true);
    await open.close();
    expect(logs.isWriting('open-1')).toBe(false);
    // closing touched the file: its hour starts at the exit
    expect(await logs.sweep()).toBe(0);
  });
});
