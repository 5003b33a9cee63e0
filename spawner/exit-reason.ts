/** Why a worker process ended, classified once; what job records and the API show. */
export type ExitReason =
  | { kind: 'drained' }
  | { kind: 'crashed'; code: number | null; signal: string | null }
  | { kind: 'killed-timeout'; detail: string }
  | { kind: 'killed-memory'; detail: string }
  | { kind: 'stopped'; by: string }
  | { kind: 'failed-to-start'; code: string; message: string };

export interface ExitInfo {
  reason: ExitReason;
  code: number | null;
  signal: string | null;
  stderrTail: string[];
  peakRssMb: number | undefined;
  uptimeMs: number;
}

export function describeExit(info: ExitInfo): string {
  const r = info.reason;
  switch (r.kind) {
    case 'drained':
      return 'worker drained and exited';
    case 'crashed':
      return `worker process died (${r.signal ? `signal ${r.signal}` : `exit code ${r.code}`})`;
    case 'killed-timeout':
    case 'killed-memory':
      return r.detail;
    case 'stopped':
      return `worker stopped by ${r.by}`;
    case 'failed-to-start':
      return `worker failed to start: ${r.message}`;
  }
}
