/**
 * The `kiln` and `spawner` command lines: parses the options, picks the command
 * and imports only the module that runs it (the daemon is loaded by `serve` alone,
 * so client commands start fast).
 */
import type { CliContext, CliIo, Program } from './context';
import { apiEndpoint, spawnerEndpoint } from './endpoints';
import { exitCodeOf, usageError } from './exit-codes';
import { exitAfterFlush, processIo } from './process-io';
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
