/**
 * Runs Node functions in the worker's own process. With a JobConsole, a function's
 * console output goes to its job's log (ctx.output). A generator function (async or
 * not) streams: each value it yields is an output (ctx.emit), and its result is what it
 * returns, or, when it returns nothing, the list of what it yielded.
 */
import type { JobRecord } from '../core/schemas/job';
import { type ExecContext, type Executor, JobFailure } from './executor';
import type { FunctionRegistry } from './functions/types';
import type { JobConsole } from './job-console';

export function createNodeExecutor(functions: FunctionRegistry, jobConsole?: JobConsole): Executor {
  return {
    // functions run concurrently in this process: max_jobs is the only bound
    capacity: Number.POSITIVE_INFINITY,
    async start() {
      return { framework: 'node', version: process.versions.node };
    },
    async run(job: JobRecord, ctx: ExecContext) {
      const payload = (job.payload ?? {}) as { function?: unknown; input?: unknown };
      const name = typeof payload.function === 'string' ? payload.function : undefined;
      const fn = name === undefined ? undefined : Object.hasOwn(functions, name) ? functions[name] : undefined;
      if (!fn) {
        throw new JobFailure(
          { type: 'unknown_function', message: `no function "${name ?? ''}" on node workers; available: ${Object.keys(functions).sort().join(', ')}` },
          { retryable: false },
        );
      }
      const call = async () => {
        const value = await fn(payload.input, { ...ctx, jobId: job.id, attempt: job.attempts });
        return isGenerator(value) ? drain(value, ctx) : value;
      };
      const output = ctx.output?.bind(ctx);
      return await (jobConsole && output ? jobConsole.run(output, call) : call());
    },
    async stop() {},
  };
}

/** Built-ins plus the functions exported by KILN_FUNCTIONS_MODULE, if set. */
export async function loadFunctions(builtins: FunctionRegistry, modulePath: string | undefined): Promise<FunctionRegistry> {
  if (!modulePath) return builtins;
  const mod = (await import(modulePath)) as Record<string, unknown> & { default?: unknown };
  const source = (mod.default && typeof mod.default === 'object' ? mod.default : mod) as Record<string, unknown>;
  const extra: FunctionRegistry = {};
  for (const [k, v] of Object.entries(source)) if (typeof v === 'function') extra[k] = v as FunctionRegistry[string];
  return { ...builtins, ...extra };
}

type AnyGenerator = AsyncGenerator<unknown, unknown> | Generator<unknown, unknown>;

/** What a generator function (`function*`, `async function*`) returns when called. */
function isGenerator(value: unknown): value is AnyGenerator {
  if (typeof value !== 'object' || value === null) return false;
  const g = value as Record<symbol | string, unknown>;
  return typeof g.next === 'function' && typeof g.throw === 'function' && (Symbol.asyncIterator in g || Symbol.iterator in g);
}

/** Runs a generator to its end, each yield an output; the result is its return value, else the list of yields. */
async function drain(gen: AnyGenerator, ctx: ExecContext): Promise<unknown> {
  const yielded: unknown[] = [];
  for (;;) {
    const step = await gen.next();
    if (step.done) return step.value === undefined ? yielded : step.value;
    try {
      ctx.signal.throwIfAborted();
      yielded.push(step.value);
      ctx.emit?.(step.value);
    } catch (err) {
      await gen.return(undefined); // runs the generator's finally blocks
      throw err;
    }
  }
}
