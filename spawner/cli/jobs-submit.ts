/**
 * `jobs submit`: a function job (`--function`), a training or inference job, or
 * a raw JSON body (`--body FILE|-`), with the common options on top.
 */
import { readFileSync } from 'node:fs';
import { print, printLine, type CliContext } from './context';
import { usageError } from './exit-codes';
import { callJson } from './http';
import { asRecord, str } from './job-view';
import { intOption, jsonOption, numberOption } from './options';
import { watchJob } from './jobs-watch';

const MODES = ['function', 'training', 'inference'] as const;
type Mode = (typeof MODES)[number];

/** `--hp lr=0.1 --hp name=x`: values that parse as JSON are JSON (numbers, booleans), others strings. */
function hyperparameters(pairs: string[] | undefined): Record<string, unknown> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw usageError(`--hp takes key=value (got "${p}"), e.g. --hp n_estimators=50`);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      // a plain string
    }
    out[p.slice(0, eq)] = value;
  }
  return out;
}

function readBodyFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw usageError(`--body ${file} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (err) {
    throw usageError(`--body ${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw usageError(`--body ${file} must hold a JSON object`);
  return body as Record<string, unknown>;
}

function need(ctx: CliContext, flag: 'model-type' | 'model-path' | 'data-path' | 'function', mode: string): string {
  const v = ctx.opts[flag];
  if (!v) throw usageError(`${ctx.program} jobs submit ${mode} needs --${flag} (see "${ctx.program} jobs submit --help")`);
  return v;
}

export function buildSubmission(ctx: CliContext): { path: string; body: Record<string, unknown> } {
  const o = ctx.opts;
  const word = ctx.args[0];
  if (word !== undefined && !(MODES as readonly string[]).includes(word)) {
    throw usageError(`unknown job kind "${word}": use "training", "inference", or --function NAME`);
  }
  const mode: Mode = (word as Mode | undefined) ?? 'function';
  const path = mode === 'function' ? '/jobs' : `/jobs/${mode}`;
  let body: Record<string, unknown>;
  if (o.body !== undefined) {
    body = readBodyFile(o.body);
  } else if (mode === 'training') {
    body = { model_type: need(ctx, 'model-type', mode), data_path: need(ctx, 'data-path', mode) };
  } else if (mode === 'inference') {
    body = {
      model_type: need(ctx, 'model-type', mode),
      model_path: need(ctx, 'model-path', mode),
      ...(o.inputs !== undefined && { inputs: jsonOption(o, 'inputs') }),
      ...(o['data-path'] !== undefined && { data_path: o['data-path'] }),
    };
  } else {
    if (o['model-type'] !== undefined) throw usageError(`--model-type belongs to "${ctx.program} jobs submit training" or "… inference"`);
    body = { function: need(ctx, 'function', 'function'), ...(o.input !== undefined && { input: jsonOption(o, 'input') }) };
  }
  if (mode !== 'function' && o.body === undefined) {
    const hp = hyperparameters(o.hp);
    if (hp) body.hyperparameters = hp;
    if (o.gpu) body.requires_gpu = true;
  }
  const priority = intOption(o, 'priority', { min: -1000, max: 1000 });
  const timeout = numberOption(o, 'timeout-s', { min: 0.001, max: 7 * 24 * 3600 });
  const attempts = intOption(o, 'max-attempts', { min: 1, max: 100 });
  if (priority !== undefined) body.priority = priority;
  if (timeout !== undefined) body.timeout_s = timeout;
  if (attempts !== undefined) body.max_attempts = attempts;
  if (o['worker-type'] !== undefined) body.worker_type = o['worker-type'];
  return { path, body };
}

export async function jobsSubmit(ctx: CliContext): Promise<number> {
  const { path, body } = buildSubmission(ctx);
  const key = ctx.opts['idempotency-key'];
  const answer = await callJson(ctx.io.http, ctx.api(), 'POST', path, { body, ...(key !== undefined && { headers: { 'idempotency-key': key } }) });
  const a = asRecord(answer.body);
  const id = str(a.job_id);
  if (!id) throw new Error(`the API accepted the job but named no job_id: ${JSON.stringify(answer.body)}`);
  if (ctx.opts.watch && ctx.json) printLine(ctx, { event: 'submitted', ...a });
  else print(ctx, answer.body, () => id);
  if (!ctx.json) {
    if (a.idempotent_replay === true) ctx.io.err(`note: this idempotency key was used before; that job is ${String(a.status)}\n`);
    if (typeof a.ensure_error === 'string') ctx.io.err(`note: no worker was started yet (${a.ensure_error}); the job waits until a spawner takes it\n`);
  }
  return ctx.opts.watch ? watchJob(ctx, id) : 0;
}
