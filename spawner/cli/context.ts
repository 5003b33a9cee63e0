/**
 * What every command gets: the parsed options, the terminal, the clock, HTTP and
 * the two servers. Built once from the real process in main.ts.
 */
import type { Endpoint } from './http';
import type { Transport } from './transport';
import type { Opts } from './options';

export type Program = 'kiln' | 'spawner';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: live redraws instead of plain lines. */
  isTTY: boolean;
  columns(): number;
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  env: Record<string, string | undefined>;
  http: Transport;
  /** Runs fn on Ctrl-C / SIGTERM instead of dying at once; returns the unsubscribe. */
  onInterrupt(fn: () => void): () => void;
}

export interface CliContext {
  program: Program;
  io: CliIo;
  opts: Opts;
  /** Positionals after the command words. */
  args: string[];
  json: boolean;
  api(): Endpoint;
  spawner(): Endpoint;
}

/** One JSON document (pretty) or the human text. */
export function print(ctx: CliContext, data: unknown, human: () => string): void {
  ctx.io.out(`${ctx.json ? JSON.stringify(data, null, 2) : human()}\n`);
}

/** One JSON object per line, for streams (watch, follow). */
export function printLine(ctx: CliContext, data: unknown): void {
  ctx.io.out(`${JSON.stringify(data)}\n`);
}
