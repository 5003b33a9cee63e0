/**
 * Every option the CLI knows, in one parseArgs table (strict: an unknown or
 * misspelt option is a usage error), and readers that turn option strings into
 * checked numbers and JSON.
 */
import { parseArgs } from 'node:util';
import { usageError } from './exit-codes';

const s = { type: 'string' } as const;
const b = { type: 'boolean' } as const;

export const OPTIONS = {
  json: b,
  help: { type: 'boolean', short: 'h' },
  'api-url': s,
  url: s,
  // spawner commands
  'grace-ms': s,
  strict: b,
  // jobs submit
  function: s,
  input: s,
  'model-type': s,
  'data-path': s,
  'model-path': s,
  inputs: s,
  hp: { type: 'string', multiple: true },
  gpu: b,
  body: s,
  priority: s,
  'timeout-s': s,
  'max-attempts': s,
  'idempotency-key': s,
  'worker-type': s,
  watch: b,
  // jobs list
  status: s,
  type: s,
  limit: s,
  cursor: s,
  // logs, watch, status --watch
  follow: { type: 'boolean', short: 'f' },
  'interval-ms': s,
  count: s,
} as const;

export type Opts = ReturnType<typeof parseCommandLine>['values'];

export function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' own messages name the option ("Unknown option '--stauts'")
    throw usageError(err instanceof Error ? err.message : String(err));
  }
}

export function intOption(opts: Opts, name: keyof Opts, range: { min: number; max: number }): number | undefined {
  const raw = opts[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < range.min || n > range.max) {
    throw usageError(`--${name} must be a whole number from ${range.min} to ${range.max} (got "${String(raw)}")`);
  }
  return n;
}

export function numberOption(opts: Opts, name: keyof Opts, range: { min: number; max: number }): number | undefined {
  const raw = opts[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < range.min || n > range.max) {
    throw usageError(`--${name} must be a number from ${range.min} to ${range.max} (got "${String(raw)}")`);
  }
  return n;
}

export function jsonOption(opts: Opts, name: keyof Opts): unknown {
  const raw = opts[name];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(String(raw)) as unknown;
  } catch (err) {
    throw usageError(`--${name} is not valid JSON (${err instanceof Error ? err.message : String(err)}); quote it for the shell, e.g. --${name} '{"a": 1}'`);
  }
}
