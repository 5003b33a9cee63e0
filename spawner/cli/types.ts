/**
 * `types`: the worker types of this host's configuration (built-ins merged with
 * WORKER_TYPES_FILE), read locally, so it works with no daemon running.
 * Environment values stay hidden (names only); the interpreter is shown as configured.
 */
import { loadSpawnerConfig } from '../config';
import type { WorkerTypeConfig } from '../../core/schemas/worker-type';
import { print, type CliContext } from './context';
import { table } from './format';

const PYTHON_FRAMEWORKS = ['pytorch', 'tensorflow', 'sklearn'];

/** A type's config as the CLI shows it: env values replaced by their names. */
export function publicType(cfg: WorkerTypeConfig): Record<string, unknown> {
  const { env, ...rest } = cfg;
  return { ...rest, env: env ? Object.keys(env).sort() : [] };
}

export function typesCommand(ctx: CliContext): number {
  const config = loadSpawnerConfig(ctx.io.env);
  const types = Object.fromEntries(Object.entries(config.types).map(([name, cfg]) => [name, publicType(cfg)]));
  const source = ctx.io.env.WORKER_TYPES_FILE ? `built-in types merged with WORKER_TYPES_FILE=${ctx.io.env.WORKER_TYPES_FILE}` : 'built-in types (no WORKER_TYPES_FILE set)';
  const data = { source, default_python: config.defaultPython, types };
  print(ctx, data, () => {
    const rows = Object.entries(config.types).map(([name, c]) => ({ name, ...c }));
    const python = (c: WorkerTypeConfig) => (c.python ?? (PYTHON_FRAMEWORKS.includes(c.framework) ? `(${config.defaultPython})` : null));
    return [
      `worker types of this host: ${source}`,
      table(rows, [
        { header: 'NAME', value: (r) => r.name },
        { header: 'FRAMEWORK', value: (r) => r.framework },
        { header: 'VERSION', value: (r) => r.version },
        { header: 'GPU', value: (r) => (r.gpu ? 'yes' : 'no') },
        { header: 'MAX_JOBS', value: (r) => r.max_jobs, right: true },
        { header: 'MIN_WORKERS', value: (r) => r.min_workers, right: true },
        { header: 'SPARE_WORKERS', value: (r) => r.spare_workers, right: true },
        { header: 'MAX_WORKERS', value: (r) => r.max_workers, right: true },
        { header: 'IDLE_TIMEOUT', value: (r) => `${r.idle_timeout}s`, right: true },
        { header: 'PYTHON', value: (r) => python(r) },
        { header: 'ENV', value: (r) => Object.keys(r.env ?? {}).sort().join(',') },
      ]),
    ].join('\n');
  });
  return 0;
}
