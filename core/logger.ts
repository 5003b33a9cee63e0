/**
 * The one logger of every Kiln process (API on Node and in workerd, spawner,
 * workers). Pure: the composition root hands it a `write` and a clock.
 *
 * text: `2026-01-01T00:00:00.000Z info [spawner] worker started worker_id=node-1a2b type=node pid=42`
 * json: `{"ts":"2026-01-01T00:00:00.000Z","level":"info","component":"spawner","msg":"worker started","worker_id":"node-1a2b",…}`
 */
import { DEFAULTS, type Env } from './config';
import { KilnError } from './errors';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Record<string, unknown>;

/** The function shape passed to modules that only log: `log('warn', 'message', { worker_id })`. */
export type LogFn = (level: LogLevel, message: string, fields?: LogFields) => void;

export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Logs at a level given at run time (the LogFn shape, bound). */
  log: LogFn;
  /** A logger whose lines all carry these fields too. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  component: string;
  level?: LogLevel;
  format?: LogFormat;
  /** Receives one finished line (no trailing newline) and its level. */
  write(line: string, level: LogLevel): void;
  now?: () => number;
  fields?: LogFields;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Whether a line at `level` passes a logger set to `threshold`. */
export const levelEnabled = (threshold: LogLevel, level: LogLevel): boolean => RANK[level] >= RANK[threshold];

export function createLogger(o: LoggerOptions): Logger {
  const threshold = o.level ?? 'info';
  const format = o.format ?? 'text';
  const now = o.now ?? Date.now;
  const base = o.fields ?? {};
  const log: LogFn = (level, message, fields) => {
    if (!levelEnabled(threshold, level)) return;
    let line: string;
    try {
      const all = fields ? { ...base, ...fields } : base;
      line = format === 'json' ? jsonLine(now(), level, o.component, message, all) : textLine(now(), level, o.component, message, all);
    } catch {
      line = `${String(message)} (fields could not be formatted)`;
    }
    try {
      o.write(line, level);
    } catch {
      // logging never throws into its caller
    }
  };
  return {
    level: threshold,
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger({ ...o, level: threshold, format, now, fields: { ...base, ...fields } }),
  };
}

/** A Logger over a bare LogFn (tests, embedders that collect lines themselves); it does not filter. */
export function loggerFromFn(fn: LogFn, fields: LogFields = {}): Logger {
  const log: LogFn = (level, message, more) => {
    try {
      fn(level, message, more ? { ...fields, ...more } : Object.keys(fields).length ? fields : undefined);
    } catch {
      // logging never throws into its caller
    }
  };
  return {
    level: 'debug',
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (more) => loggerFromFn(fn, { ...fields, ...more }),
  };
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/** A value as JSON would carry it: errors as their message (and stack), the rest as is. */
function plain(v: unknown): unknown {
  if (v instanceof Error) return { name: v.name, message: v.message, ...(v.stack && { stack: v.stack }) };
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function jsonLine(ts: number, level: LogLevel, component: string, msg: string, fields: LogFields): string {
  const out: Record<string, unknown> = { ts: iso(ts), level, component, msg };
  // a field named like a reserved key keeps its value under `_<key>`
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k in out ? `_${k}` : k] = plain(v);
  return JSON.stringify(out);
}

/** key=value; a value with spaces, quotes or `=` is JSON-quoted so the line stays splittable. */
function textValue(v: unknown): string {
  const p = plain(v);
  if (p === null) return 'null';
  if (typeof p === 'object') return JSON.stringify(p);
  const s = String(p);
  return s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

function textLine(ts: number, level: LogLevel, component: string, msg: string, fields: LogFields): string {
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${textValue(v)}`);
  return [`${iso(ts)} ${level} [${component}] ${msg}`, ...kv].join(' ');
}

/** LOG_LEVEL (debug|info|warn|error, default info): a bad value is a start-up error that names the choices. */
export function parseLogLevel(raw: string | undefined, name = 'LOG_LEVEL'): LogLevel {
  const v = raw?.trim().toLowerCase();
  if (v === undefined || v === '') return DEFAULTS.LOG_LEVEL;
  if (v === 'warning') return 'warn';
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new KilnError('BAD_CONFIG', `${name}=${raw} is not a log level; use one of ${LOG_LEVELS.join(', ')}`, { status: 500 });
}

/** LOG_FORMAT (text|json, default text). */
export function parseLogFormat(raw: string | undefined, name = 'LOG_FORMAT'): LogFormat {
  const v = raw?.trim().toLowerCase();
  if (v === undefined || v === '') return DEFAULTS.LOG_FORMAT;
  if ((LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new KilnError('BAD_CONFIG', `${name}=${raw} is not a log format; use one of ${LOG_FORMATS.join(', ')}`, { status: 500 });
}

/** LOG_LEVEL and LOG_FORMAT of an environment, parsed once by a composition root. */
export function logSettingsFromEnv(env: Env): { level: LogLevel; format: LogFormat } {
  return { level: parseLogLevel(env.LOG_LEVEL), format: parseLogFormat(env.LOG_FORMAT) };
}
