/**
 * The `kiln` and `spawner` command lines: parses the options, picks the command
 * and imports only the module that runs it (the daemon is loaded by `serve` alone,
 * so client commands start fast).
 */
import type { CliContext, CliIo, Program } from './context';
import { apiEndpoint, spawnerEndpoint } from './endpoints';
import { exitCodeOf, usageError } from './exit-codes';
import { jobsHelp, mainHelp, submitHelp } from './help';
import { type Opts, parseCommandLine } from './options';

async function jobsCommand(ctx: CliContext, sub: string | undefined): Promise<number> {
  if (sub === undefined || sub === 'help' || (ctx.opts.help && sub !== 'submit')) {
    ctx.io.out(jobsHelp(ctx.program));
    return sub === undefined && !ctx.opts.help ? 64 : 0;
  }
  switch (sub) {
    case 'submit':
      if (ctx.opts.help) {
        ctx.io.out(submitHelp(ctx.program));
        return 0;
      }
      return (await import('./jobs-submit')).jobsSubmit(ctx);
    case 'get':
      return (await import('./jobs')).jobsGet(ctx);
    case 'list':
    case 'ls':
      return (await import('./jobs')).jobsList(ctx);
    case 'cancel':
      return (await import('./jobs')).jobsCancel(ctx);
    case 'watch': {
      const { jobIdArg } = await import('./jobs');
      return (await import('./jobs-watch')).watchJob(ctx, jobIdArg(ctx, 'watch'));
    }
    case 'logs':
      return (await import('./jobs-logs')).jobsLogs(ctx);
    default:
      throw usageError(`unknown jobs command "${sub}"; see "${ctx.program} jobs --help"`);
  }
}

/** Runs one command line; the exit status, or -1 for `serve` (the daemon keeps the process alive). */
export async function runCli(program: Program, argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  const [cmd, ...rest] = positionals;
  const ctx = (args: string[]): CliContext => ({
    program, io, opts: values as Opts, args, json: values.json ?? false,
    api: () => apiEndpoint(io.env, values['api-url']),
    spawner: () => spawnerEndpoint(io.env, values.url),
  });
  if (cmd === undefined || cmd === 'help' || (values.help && cmd !== 'jobs')) {
    io.out(mainHelp(program));
    return cmd === undefined && !values.help ? 64 : 0;
  }
  switch (cmd) {
    case 'jobs':
      return jobsCommand(ctx(rest.slice(1)), rest[0]);
    case 'status':
      return (await import('./status')).status(ctx(rest));
    case 'types':
      return (await import('./types')).typesCommand(ctx(rest));
    case 'start':
    case 'ensure':
      return (await import('./workers')).startOrEnsure(ctx(rest), cmd);
    case 'stop':
      return (await import('./workers')).stop(ctx(rest));
    case 'serve':
      await (await import('./serve')).serveCommand(values.strict ?? false);
      return -1;
    default:
      throw usageError(`unknown command "${cmd}"; see "${program} --help"`);
  }
}

function processIo(): CliIo {
  // `kiln jobs list | head`: a closed pipe ends the command quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY: process.stdout.isTTY === true,
    columns: () => process.stdout.columns || 80,
    now: Date.now,
    sleep: (ms, signal) => new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
    env: process.env,
    fetch: globalThis.fetch,
    onInterrupt(fn) {
      const h = () => fn();
      process.on('SIGINT', h);
      process.on('SIGTERM', h);
      return () => {
        process.off('SIGINT', h);
        process.off('SIGTERM', h);
      };
    },
  };
}

/**
 * Exits once stdout and stderr have taken every write: fetch keeps an idle
 * keep-alive socket that would hold the process open for most of a second.
 */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

/** The entry of a bin: runs the command line and exits with its status (`serve` keeps running). */
export function runMain(program: Program): void {
  const io = processIo();
  runCli(program, process.argv.slice(2), io).then(
    (code) => {
      if (code >= 0) exitAfterFlush(code);
    },
    (err: unknown) => {
      io.err(`${program}: ${err instanceof Error ? err.message : String(err)}\n`);
      exitAfterFlush(exitCodeOf(err));
    },
  );
}
