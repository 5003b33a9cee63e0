/**
 * Browser module /ui/overview.js: the front page (#/): counters, queues per
 * worker type with their waiting reasons, the workers, and the recent jobs with
 * a filter. Polls GET /workers/status and GET /jobs every second.
 */
export const OVERVIEW_JS = String.raw`
import { h, render, badge, progressBar, card, empty } from './dom.js';
import { getJson } from './api.js';
import { FINISHED, ago, duration, bytes, shortId, jobWhat, jobTimes, ms, dateTime, plural } from './format.js';

const WORKER_STATES = ['starting', 'idle', 'busy', 'draining', 'stopping', 'errored', 'exited'];
const POLL_MS = 1000;

function table(id, headers, body) {
  return h('div', { class: 'table-wrap' }, h('table', { id }, h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))), body));
}

function chips(byState) {
  const out = WORKER_STATES.filter((st) => byState[st] > 0).map((st) => h('span', { class: 'chip', dataset: { state: st } }, byState[st] + ' ' + st));
  for (const [st, n] of Object.entries(byState)) if (!WORKER_STATES.includes(st) && n > 0) out.push(h('span', { class: 'chip' }, n + ' ' + st));
  return out.length ? out : h('span', { class: 'muted' }, 'none');
}

function capacityText(cap) {
  if (cap === null || cap === undefined) return '—';
  if (typeof cap !== 'object') return String(cap);
  if (typeof cap.slots === 'number' && typeof cap.max_workers === 'number' && typeof cap.max_jobs === 'number') {
    const hosts = typeof cap.hosts === 'number' ? cap.hosts : 1;
    return [h('div', null, plural(cap.slots, 'slot')), h('div', { class: 'muted' }, plural(cap.max_workers, 'worker') + ' × ' + cap.max_jobs + ' jobs × ' + plural(hosts, 'host'))];
  }
  const parts = Object.entries(cap).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => k.replace(/_/g, ' ') + ' ' + (typeof v === 'object' ? JSON.stringify(v) : v));
  return parts.length ? parts.join(' · ') : '—';
}

/** "2 spare ready (2/host)" for a type that keeps spare_workers; nothing for one that keeps none. */
function spareText(t) {
  if (!t || typeof t.spare_workers !== 'number' || t.spare_workers <= 0) return null;
  return h('div', { class: 'muted spare' }, (typeof t.spare_ready === 'number' ? t.spare_ready : 0) + ' spare ready (' + t.spare_workers + '/host)');
}

// own keys only: a worker type may be named "constructor"
const own = (o, k) => (o && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

function workersByType(status) {
  const out = Object.create(null);
  for (const w of Object.values(status.worker_details || {})) {
    const t = (out[w.worker_type] = out[w.worker_type] || Object.create(null));
    t[w.status] = (t[w.status] || 0) + 1;
  }
  return out;
}

function queueRows(status, knownTypes) {
  const types = status.types && typeof status.types === 'object' ? status.types : null;
  const byType = workersByType(status);
  const names = new Set([].concat(knownTypes, Object.keys(status.workers_by_type || {}), Object.keys(status.type_state || {}), Object.keys(types || {})));
  const rows = [...names].sort().map((name) => {
    const t = types ? own(types, name) || {} : null;
    const reason = t ? t.waiting_reason : own(status.type_state, name);
    const warning = t ? t.warning : null;
    const num = (v) => h('td', { class: 'num' }, t && typeof v === 'number' ? String(v) : '—');
    return h('tr', { dataset: { type: name }, class: t && t.queued > 0 ? 'has-queue' : '' },
      h('td', null, h('code', null, name)),
      num(t && t.queued), num(t && t.delayed), num(t && t.running),
      h('td', null, chips(t && t.workers ? t.workers : byType[name] || {})),
      h('td', { class: 'small' }, capacityText(t ? t.capacity : null), spareText(t)),
      h('td', { class: 'reason' },
        reason ? h('span', { class: 'waiting-reason' }, String(reason)) : null,
        warning ? h('span', { class: 'warning' }, '⚠ ' + String(warning)) : null,
        !reason && !warning ? h('span', { class: 'muted' }, t && t.queued > 0 ? 'starting a worker' : '—') : null));
  });
  return rows.length ? rows : [empty('No worker types registered: is a spawner running?', 7)];
}

function workerRows(status, now) {
  const rank = (w) => (w.status === 'exited' ? 1 : 0);
  const ws = Object.values(status.worker_details || {}).sort((a, b) => rank(a) - rank(b) || (a.worker_type === b.worker_type ? ms(a.created_at) - ms(b.created_at) : a.worker_type < b.worker_type ? -1 : 1));
  if (!ws.length) return [empty('No workers: they start when jobs arrive and stop when idle.', 10)];
  return ws.map((w) => {
    const exit = w.exit || null;
    const why = exit ? [exit.reason, exit.message].filter(Boolean).join(': ') : w.status_reason;
    return h('tr', { dataset: { workerId: w.worker_id, state: w.status } },
      h('td', null, h('code', { class: 'ellipsis', title: w.worker_id }, w.worker_id), h('div', { class: 'muted small' }, w.host || '')),
      h('td', null, h('code', null, w.worker_type)),
      h('td', { class: 'num' }, String(w.process_id), w.runner_pid ? h('div', { class: 'muted small' }, 'runner ' + w.runner_pid) : null),
      h('td', null, badge(w.status), why ? h('div', { class: 'muted small clamp', title: String(why) }, String(why)) : null,
        w.warning ? h('div', { class: 'warning small' }, '⚠ ' + String(w.warning)) : null),
      h('td', { class: 'num' }, String(w.job_count), h('div', { class: 'muted small' }, 'max ' + w.max_jobs + ' at once')),
      h('td', { class: 'num' }, w.status === 'idle' ? duration(now - ms(w.last_activity)) : w.status === 'busy' ? 'busy' : '—'),
      h('td', { class: 'num' }, duration(now - ms(w.created_at))),
      h('td', { class: 'num' }, bytes(w.rss_bytes)),
      h('td', null, w.gpu !== null && w.gpu !== undefined ? 'GPU ' + w.gpu + (w.gpu_memory_mb ? ' · ' + w.gpu_memory_mb + ' MiB' : '') : h('span', { class: 'muted' }, 'none')),
      h('td', { class: 'num' }, ago(w.last_heartbeat, now)));
  });
}

function jobRows(jobs, now, app, status) {
  const types = status.types && typeof status.types === 'object' ? status.types : {};
  const typeReason = (j) => (own(types, j.worker_type) && own(types, j.worker_type).waiting_reason) || own(status.type_state, j.worker_type) || null;
  if (!jobs.length) return [empty('No jobs match. Submit one with “New job”.', 9)];
  return jobs.map((j) => {
    const { wait, run } = jobTimes(j, now);
    const href = '#/jobs/' + encodeURIComponent(j.job_id);
    const note = j.status === 'queued' ? j.waiting_reason || typeReason(j) : (j.status === 'failed' || j.status === 'expired') && j.error ? j.error.message : null;
    return h('tr', { class: 'clickable', dataset: { jobId: j.job_id, state: j.status }, onclick: (e) => { if (!e.target.closest('a')) app.go(href); } },
      h('td', null, h('a', { href, title: j.job_id }, h('code', null, shortId(j.job_id)))),
      h('td', null, h('code', null, j.worker_type)),
      h('td', { class: 'ellipsis-cell', title: jobWhat(j) }, jobWhat(j)),
      h('td', null, badge(j.status), note ? h('div', { class: 'muted small clamp', title: String(note) }, String(note)) : null),
      h('td', { class: 'num' }, j.attempts + '/' + j.max_attempts),
      h('td', { class: 'progress-cell' }, progressBar(j.progress, { state: j.status })),
      h('td', { class: 'num', title: dateTime(j.created_at) }, ago(j.created_at, now)),
      h('td', { class: 'num' }, duration(wait)),
      h('td', { class: 'num' }, duration(run)));
  });
}

function stat(label, value, sub, id) {
  return h('div', { class: 'stat', id }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, String(value)), h('div', { class: 'stat-sub' }, sub));
}

export function mountOverview(root, app) {
  const ctl = new AbortController();
  const signal = ctl.signal;
  const filters = app.state.filters;
  let timer = null;
  let knownTypes = [];
  let typesAt = 0;

  const stats = h('div', { class: 'stats' });
  const queuesBody = h('tbody', { id: 'queues-body' });
  const workersBody = h('tbody', { id: 'workers-body' });
  const jobsBody = h('tbody', { id: 'jobs-body' });
  const stateSel = h('select', { id: 'filter-state', 'aria-label': 'state', onchange: () => { filters.status = stateSel.value; kick(); } }, h('option', { value: '' }, 'all states'));
  stateSel.append(document.getElementById('job-states').content.cloneNode(true));
  stateSel.value = filters.status;
  const typeSel = h('select', { id: 'filter-type', 'aria-label': 'worker type', onchange: () => { filters.type = typeSel.value; kick(); } }, h('option', { value: '' }, 'all types'));
  const find = h('input', { type: 'search', id: 'find-job', placeholder: 'open job by id…', 'aria-label': 'open a job by its id', onkeydown: (e) => { if (e.key === 'Enter' && find.value.trim()) app.go('#/jobs/' + encodeURIComponent(find.value.trim())); } });

  root.replaceChildren(
    stats,
    card(null, null, h('div', { class: 'card-head' }, h('h2', null, 'Queues'), h('span', { class: 'muted small' }, 'per worker type')),
      table('queues', ['Type', 'Queued', 'Delayed', 'Running', 'Workers', 'Capacity', 'Waiting because'], queuesBody)),
    card(null, null, h('div', { class: 'card-head' }, h('h2', null, 'Workers')),
      table('workers', ['Worker', 'Type', 'PID', 'State', 'Jobs done', 'Idle for', 'Up', 'RSS', 'GPU', 'Heartbeat'], workersBody)),
    card(null, null, h('div', { class: 'card-head' }, h('h2', null, 'Recent jobs'), h('span', { class: 'spacer' }), find, stateSel, typeSel),
      table('jobs', ['Job', 'Type', 'Runs', 'State', 'Tries', 'Progress', 'Created', 'Wait', 'Run'], jobsBody)));

  function syncTypeOptions(names) {
    const want = [''].concat(names);
    const have = [...typeSel.options].map((o) => o.value);
    if (want.join('|') === have.join('|')) return;
    typeSel.replaceChildren(...want.map((n) => h('option', { value: n }, n || 'all types')));
    typeSel.value = names.includes(filters.type) ? filters.type : '';
  }

  function paintStats(status, jobs, unfiltered) {
    const types = status.types && typeof status.types === 'object' ? Object.values(status.types) : null;
    const sum = (k) => types.reduce((n, t) => n + (typeof t[k] === 'number' ? t[k] : 0), 0);
    const byState = {};
    for (const w of Object.values(status.worker_details || {})) byState[w.status] = (byState[w.status] || 0) + 1;
    const count = (st) => jobs.filter((j) => j.status === st).length;
    const recent = unfiltered ? 'in the last ' + plural(jobs.length, 'job') : 'filter on';
    const key = JSON.stringify([status.total_workers, byState, types, unfiltered && jobs.map((j) => j.status)]);
    render(stats, key, () => [
      stat('Workers', status.total_workers, [byState.busy ? byState.busy + ' busy' : null, byState.idle ? byState.idle + ' idle' : null, byState.starting ? byState.starting + ' starting' : null].filter(Boolean).join(' · ') || 'scaled to zero', 'stat-workers'),
      stat('Queued', types ? sum('queued') : unfiltered ? count('queued') : '—', types ? (sum('delayed') ? sum('delayed') + ' delayed' : 'across ' + plural(types.length, 'type')) : recent, 'stat-queued'),
      stat('Running', types ? sum('running') : unfiltered ? count('running') : '—', types ? 'jobs on workers now' : recent, 'stat-running'),
      stat('Succeeded', unfiltered ? count('succeeded') : '—', recent, 'stat-succeeded'),
      stat('Failed', unfiltered ? count('failed') : '—', recent, 'stat-failed'),
    ]);
  }

  let busy = false;
  let again = false;
  async function tick() {
    clearTimeout(timer);
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    try {
      const q = new URLSearchParams({ limit: '50' });
      if (filters.status) q.set('status', filters.status);
      if (filters.type) q.set('worker_type', filters.type);
      const wantTypes = Date.now() - typesAt > 10000;
      const [status, list, types] = await Promise.all([
        getJson('/workers/status', signal), getJson('/jobs?' + q.toString(), signal), wantTypes ? getJson('/workers/types', signal) : null,
      ]);
      if (types) { knownTypes = Object.keys(types.types || {}).sort(); typesAt = Date.now(); }
      const now = Date.now();
      const jobs = list.jobs || [];
      const names = [...new Set(knownTypes.concat(Object.keys(status.workers_by_type || {})))].sort();
      syncTypeOptions(names);
      paintStats(status, jobs, !filters.status && !filters.type);
      render(queuesBody, JSON.stringify([status.types, status.type_state, workersByType(status), knownTypes]), () => queueRows(status, knownTypes));
      render(workersBody, JSON.stringify([status.worker_details, Math.floor(now / 1000)]), () => workerRows(status, now));
      render(jobsBody, JSON.stringify([jobs, status.types, status.type_state, Math.floor(now / 1000)]), () => jobRows(jobs, now, app, status));
      app.fresh();
    } catch (err) {
      if (!signal.aborted) app.failed(err);
    } finally {
      busy = false;
    }
    if (signal.aborted) return;
    if (again) { again = false; void tick(); return; }
    timer = setTimeout(tick, POLL_MS);
  }

  function kick() {
    void tick();
  }

  void tick();
  return () => { ctl.abort(); clearTimeout(timer); };
}
`;
