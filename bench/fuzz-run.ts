/**
 * One target of `npm run fuzz`: draws requests from a fast-check arbitrary in
 * batches (batch k from seed + k, so request #i is reproducible from the seed
 * alone), sends them with a few in flight, checks each answer with the same
 * properties as `npm test`, and stops at the count or the deadline.
 */
import fc from 'fast-check';
import { answerProblems, type CheckOptions, type FuzzAnswer } from '../tests/fuzz/check';
import { describeRequest, type FuzzRequest } from '../tests/fuzz/http-arb';
import { countAnswer, type FuzzStats, newStats } from '../tests/fuzz/property';
import type { Sender } from '../tests/fuzz/send';

export const BATCH = 250;

export interface Failure {
  target: string;
  index: number;
  request: string;
  answer: string;
  problems: string[];
}

export interface TargetRun extends CheckOptions {
  name: string;
  arb: fc.Arbitrary<FuzzRequest>;
  send: Sender;
  requests: number;
  seed: number;
  deadline: number;
  concurrency: number;
  /** Extra problems after each answer (errors a server logged, crashes of this process). */
  after?(req: FuzzRequest, ans: FuzzAnswer): string[];
  /** Only request #index (a replay). */
  only?: number;
}

/** Request #index of a run with this seed. */
export function requestAt(arb: fc.Arbitrary<FuzzRequest>, seed: number, index: number): FuzzRequest {
  return fc.sample(arb, { numRuns: BATCH, seed: (seed + Math.floor(index / BATCH)) | 0 })[index % BATCH]!;
}

export async function runTarget(t: TargetRun): Promise<{ stats: FuzzStats; failures: Failure[]; stoppedByDeadline: boolean }> {
  const stats = newStats(t.seed);
  const failures: Failure[] = [];
  const started = Date.now();
  let next = t.only ?? 0;
  const end = t.only === undefined ? t.requests : t.only + 1;
  let batchNo = -1;
  let batch: FuzzRequest[] = [];
  let stoppedByDeadline = false;

  const take = (): { index: number; req: FuzzRequest } | undefined => {
    if (next >= end) return undefined;
    if (Date.now() > t.deadline) {
      stoppedByDeadline = true;
      return undefined;
    }
    const index = next++;
    const b = Math.floor(index / BATCH);
    if (b !== batchNo) {
      batchNo = b;
      batch = fc.sample(t.arb, { numRuns: BATCH, seed: (t.seed + b) | 0 });
    }
    return { index, req: batch[index % BATCH]! };
  };

  const fail = (index: number, req: FuzzRequest, answer: string, problems: string[]) =>
    failures.push({ target: t.name, index, request: describeRequest(req), answer, problems });

  async function lane(): Promise<void> {
    for (let job = take(); job; job = take()) {
      const { index, req } = job;
      let ans: FuzzAnswer;
      try {
        ans = await t.send(req);
      } catch (err) {
        stats.requests++;
        stats.classes.other++;
        fail(index, req, '(no answer)', [`the request failed: ${err instanceof Error ? err.message : String(err)}`]);
        continue;
      }
      countAnswer(stats, ans);
      const problems = [...answerProblems(req, ans, t), ...(t.after?.(req, ans) ?? [])];
      if (problems.length) {
        const body = ans.body.length > 300 ? `${ans.body.slice(0, 300)}…` : ans.body;
        fail(index, req, `${ans.status} ${ans.headers['content-type'] ?? '(no content-type)'} ${body}`, problems);
      }
    }
  }

  await Promise.all(Array.from({ length: t.only === undefined ? t.concurrency : 1 }, lane));
  stats.ms = Date.now() - started;
  return { stats, failures, stoppedByDeadline };
}
