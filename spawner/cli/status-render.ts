/** The text of `status`: workers, then one row per worker type (from the status `types` object when the server has it). */
import { bytes, clip, duration, msOf, table } from './format';
import { asRecord, num, str } from './job-view';

type Rec = Record<string, unknown>;

function workersTable(details: Rec[], now: number): string {
  return table(details, [
    { header: 'WORKER_ID', value: (w) => str(w.worker_id) },
    { header: 'WORKER_TYPE', value: (w) => str(w.worker_type) },
    { header: 'PID', value: (w) => num(w.process_id), right: true },
    { header: 'STATUS', value: (w) => str(w.status) },
    { header: 'JOBS_DONE', value: (w) => num(w.job_count) ?? 0, right: true },
    { header: 'MAX_JOBS', value: (w) => num(w.max_jobs), right: true },
    { header: 'RSS', value: (w) => bytes(num(w.rss_bytes)), right: true },
    { header: 'GPU', value: (w) => str(w.gpu) },
    { header: 'LAST_ACTIVE', value: (w) => { const t = msOf(w.last_activity); return t === undefined ? '-' : `${duration(now - t)} ago`; }, right: true },
    { header: 'NOTE', value: (w) => clip(str(w.status_reason) ?? str(asRecord(w.exit).message) ?? '', 50) },
  ]);
}

const pairs = (v: unknown): string => Object.entries(asRecord(v)).map(([k, x]) => `${k}=${typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)}`).join(' ');

/** `64 slots (4 workers × 16 jobs × 1 host)` for the API's capacity object; other shapes as key=value. */
function capacity(v: unknown): string {
  const c = asRecord(v);
  if (!('slots' in c)) return pairs(c);
  const hosts = num(c.hosts);
  return `${num(c.slots) ?? '?'} slots (${num(c.max_workers) ?? '?'} workers × ${num(c.max_jobs) ?? '?'} jobs × ${hosts ?? '?'} host${hosts === 1 ? '' : 's'})`;
}

/** `2 (2/host)`: idle spares now, and spare_workers per host; empty for a type without spares (or an older server). */
function spares(t: Rec): string {
  const per = num(t.spare_workers);
  return per ? `${num(t.spare_ready) ?? 0} (${per}/host)` : '';
}

function typesTable(types: Rec): string {
  const rows: Rec[] = Object.entries(types).map(([name, t]) => ({ ...asRecord(t), name }));
  return table(rows, [
    { header: 'TYPE', value: (t) => str(t.name) },
    { header: 'QUEUED', value: (t) => num(t.queued), right: true },
    { header: 'DELAYED', value: (t) => num(t.delayed), right: true },
    { header: 'RUNNING', value: (t) => num(t.running), right: true },
    { header: 'WORKERS', value: (t) => pairs(t.workers) },
    { header: 'CAPACITY', value: (t) => capacity(t.capacity) },
    { header: 'SPARE', value: spares, right: true },
    { header: 'WAITING', value: (t) => clip([str(t.waiting_reason), str(t.warning) && `warning: ${str(t.warning)}`].filter(Boolean).join('; '), 70) },
  ]);
}

/** A spawner's Python templates (GET /workers/templates), merged into its status by the CLI. */
function templatesTable(list: Rec[], now: number): string {
  return table(list, [
    { header: 'TEMPLATE', value: (t) => str(t.worker_type) },
    { header: 'STATE', value: (t) => str(t.state) },
    { header: 'PID', value: (t) => num(t.pid), right: true },
    { header: 'RSS', value: (t) => bytes(num(t.rss_bytes)), right: true },
    { header: 'FORKS', value: (t) => num(t.forks) ?? 0, right: true },
    { header: 'RUNNERS', value: (t) => num(t.runners) ?? 0, right: true },
    { header: 'STARTED', value: (t) => { const at = num(t.started_at); return at === null ? '-' : `${duration(now - at)} ago`; }, right: true },
    { header: 'NOTE', value: (t) => clip(str(t.reason) ?? '', 60) },
  ]);
}

export function statusText(body: unknown, now: number): string {
  const s = asRecord(body);
  const details = Object.values(asRecord(s.worker_details)).map(asRecord);
  const parts = [`${num(s.total_workers) ?? details.length} worker(s), ${num(s.active_workers) ?? 0} busy`];
  if (details.length > 0) parts.push(workersTable(details, now));
  const types = asRecord(s.types);
  if (Object.keys(types).length > 0 && Object.values(types).some((t) => 'queued' in asRecord(t))) {
    parts.push('', typesTable(types));
  } else {
    // servers without the per-type view: the errored/backoff notes they keep
    parts.push(...Object.entries(asRecord(s.type_state)).map(([t, why]) => `${t}: ${String(why)}`));
  }
  const templates = Array.isArray(s.templates) ? s.templates.map(asRecord) : [];
  if (templates.length > 0) parts.push('', templatesTable(templates, now));
  return parts.join('\n');
}
