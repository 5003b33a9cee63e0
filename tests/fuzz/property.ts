/**
 * Runs one bounded fuzz property: `numRuns` generated requests through `send`, each
 * answer checked; the first failure stops the run (no shrinking against a stateful
 * server) and fast-check's report names the seed and the request. Counts answers per
 * status class for the test's summary line.
 */
import fc from 'fast-check';
import { answerProblems, type CheckOptions, type FuzzAnswer } from './check';
import { describeRequest, type FuzzRequest } from './http-arb';
import type { Sender } from './send';

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'other';
export interface FuzzStats {
  requests: number;
  classes: Record<StatusClass, number>;
  statuses: Record<number, number>;
  ms: number;
  seed: number;
}

export const statusClass = (s: number): StatusClass => (s >= 200 && s < 600 ? (`${Math.floor(s / 100)}xx` as StatusClass) : 'other');

export function newStats(seed: number): FuzzStats {
  return { requests: 0, classes: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 }, statuses: {}, ms: 0, seed };
}

export function countAnswer(stats: FuzzStats, ans: FuzzAnswer): void {
  stats.requests++;
  stats.classes[statusClass(ans.status)]++;
  stats.statuses[ans.status] = (stats.statuses[ans.status] ?? 0) + 1;
}

export function formatStats(name: string, s: FuzzStats): string {
  const classes = (['2xx', '3xx', '4xx', '5xx', 'other'] as const).filter((c) => s.classes[c] > 0 || c === '5xx').map((c) => `${c} ${s.classes[c]}`).join(', ');
  return `fuzz ${name}: ${s.requests} requests in ${(s.ms / 1000).toFixed(1)} s (seed ${s.seed}): ${classes}`;
}

export interface FuzzRunOptions extends CheckOptions {
  arb: fc.Arbitrary<FuzzRequest>;
  send: Sender;
  numRuns: number;
  /** Replays a failure when given (fast-check prints it); default: a fresh one. */
  seed?: number | undefined;
  /** An answer slower than this fails the run, naming the request (default 10 s). */
  answerTimeoutMs?: number;
  /** Extra checks after each answer (e.g. nothing logged at error level); return problems. */
  after?(req: FuzzRequest, ans: FuzzAnswer): string[];
}

export async function runFuzz(opts: FuzzRunOptions): Promise<FuzzStats> {
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const stats = newStats(seed);
  const started = Date.now();
  const timeoutMs = opts.answerTimeoutMs ?? 10_000;
  await fc.assert(
    fc.asyncProperty(opts.arb, async (req) => {
      const ans = await withTimeout(opts.send(req), timeoutMs, () => `no answer within ${timeoutMs} ms to ${describeRequest(req)}`);
      countAnswer(stats, ans);
      const problems = [...answerProblems(req, ans, opts), ...(opts.after?.(req, ans) ?? [])];
      if (problems.length) {
        const body = ans.body.length > 500 ? `${ans.body.slice(0, 500)}…` : ans.body;
        throw new Error(`${problems.join('; ')}\n  request: ${describeRequest(req)}\n  answer: ${ans.status} ${ans.headers['content-type'] ?? '(no content-type)'} ${body}`);
      }
    }),
    { numRuns: opts.numRuns, seed, endOnFailure: true },
  );
  stats.ms = Date.now() - started;
  return stats;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
