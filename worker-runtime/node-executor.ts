/**
 * Runs Node functions in the worker's own process. With a JobConsole, a function's
 * console output goes to its job's log (ctx.output).
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
      const call = () => fn(payload.input, { ...ctx, jobId: job.id, attempt: job.attempts });
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
