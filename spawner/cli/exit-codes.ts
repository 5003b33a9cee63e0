/**
 * Exit statuses of the CLI, the same for every command, so scripts can tell a
 * failed job from an unreachable API. Errors are KilnErrors whose code picks one.
 */
import { KilnError } from '../../core/errors';

export const EXIT = {
  ok: 0,
  /** `jobs watch` (and `submit --watch`): the job failed. */
  jobFailed: 1,
  /** `jobs watch`: the job was cancelled. */
  jobCancelled: 2,
  /** The job or worker does not exist (never did, or expired). */
  notFound: 3,
  /** The API or the spawner could not be reached. */
  unreachable: 4,
  /** The server answered with an error (bad input, wrong token, conflict, 5xx), or a local config error. */
  refused: 5,
  /** `jobs watch`: the job expired in its queue (queued_ttl_s) without ever starting. */
  jobExpired: 6,
  /** Bad command line. */
  usage: 64,
} as const;

export const usageError = (message: string): KilnError => new KilnError('USAGE', message, { status: 400 });

export function exitCodeOf(err: unknown): number {
  if (!(err instanceof KilnError)) return EXIT.refused;
  if (err.code === 'USAGE') return EXIT.usage;
  if (err.code === 'UNREACHABLE') return EXIT.unreachable;
  if (err.status === 404) return EXIT.notFound;
  return EXIT.refused;
}

/** The exit status `watch` gives a finished job. */
export function exitCodeOfStatus(status: string): number {
  if (status === 'succeeded') return EXIT.ok;
  if (status === 'failed') return EXIT.jobFailed;
  if (status === 'cancelled') return EXIT.jobCancelled;
  if (status === 'expired') return EXIT.jobExpired;
  return EXIT.notFound;
}
