/** Browser module /ui/format.js: durations, sizes, times and job summaries as text. */
export const FORMAT_JS = String.raw`
export const FINISHED = ['succeeded', 'failed', 'cancelled', 'expired'];

export function ms(iso) {
  if (iso === null || iso === undefined || iso === '') return null;
  const n = typeof iso === 'number' ? iso : Date.parse(iso);
  return Number.isFinite(n) ? n : null;
}

export function duration(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const v = Math.max(0, value);
  if (v < 1000) return Math.round(v) + ' ms';
  if (v < 60000) return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
  const m = Math.floor(v / 60000);
  const sec = Math.floor((v % 60000) / 1000);
  if (m < 60) return m + 'm ' + sec + 's';
  const hours = Math.floor(m / 60);
  if (hours < 48) return hours + 'h ' + (m % 60) + 'm';
  return Math.floor(hours / 24) + 'd ' + (hours % 24) + 'h';
}

export function ago(iso, now) {
  const t = ms(iso);
  if (t === null) return '—';
  const d = (now || Date.now()) - t;
  if (d < 2000) return 'just now';
  return duration(d).replace(/\.\d+ s$/, ' s') + ' ago';
}

export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

export function clock(iso) {
  const t = ms(iso);
  if (t === null) return '—';
  const d = new Date(t);
  const pad = (x, n) => String(x).padStart(n || 2, '0');
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

export function dateTime(iso) {
  const t = ms(iso);
  return t === null ? '—' : new Date(t).toLocaleString();
}

export function shortId(id) {
  const s = String(id || '');
  return s.length > 13 ? s.slice(0, 8) : s;
}

/** What a job runs: its function, its model type, or its handler. */
export function jobWhat(job) {
  if (job && typeof job.label === 'string') return job.label; // a listing's summary says it
  const p = job && job.payload && typeof job.payload === 'object' ? job.payload : {};
  if (typeof p.function === 'string') return p.function + '()';
  if (typeof p.model_type === 'string') return job.kind + ' · ' + p.model_type;
  if (typeof p.handler === 'string') return p.handler;
  return job ? job.kind : '';
}

/** Queue wait and run time: the API's timings when it reports them, else from the timestamps (live while it waits or runs). */
export function jobTimes(job, now) {
  const t = job.timings || {};
  const created = ms(job.created_at);
  const started = ms(job.started_at);
  const finished = ms(job.finished_at);
  const waiting = job.status === 'queued' || job.status === 'delayed';
  const num = (v) => typeof v === 'number' && Number.isFinite(v);
  let wait = num(t.queue_wait_ms) ? t.queue_wait_ms : null;
  if (wait === null && created !== null) wait = waiting ? now - created : started !== null ? started - created : null;
  let run = num(t.run_ms) && !waiting ? t.run_ms : null;
  if (run === null && started !== null && !waiting) run = (finished !== null ? finished : now) - started;
  return { wait, run };
}

export function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many || one + 's');
}
`;
