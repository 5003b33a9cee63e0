/**
 * Browser module /ui/job-page.js: one job (#/jobs/<id>): state, progress,
 * timings with the cold-start phases, attempts and errors, result, the metrics
 * chart and the live log. Follows GET /jobs/:id/events for progress, polls the
 * job each second until it ends, and follows its log.
 */
export const JOB_PAGE_JS = String.raw`
import { h, render, badge, progressBar, jsonBlock, card } from './dom.js';
import { getJson, postJson } from './api.js';
import { followSse } from './sse.js';
import { createChart } from './chart.js';
import { createLogView, followLogs } from './logs.js';
import { FINISHED, ms, duration, dateTime, clock, jobWhat, jobTimes } from './format.js';

const PHASES = [['spawn_ms', 'spawn'], ['runtime_ready_ms', 'runtime ready'], ['framework_import_ms', 'framework import']];

function row(label, value, attrs) {
  return h('div', Object.assign({ class: 'kv' }, attrs || {}), h('span', { class: 'k' }, label), h('span', { class: 'v' }, value));
}

function coldStart(t) {
  if (!t) return row('Cold start', 'not reported by this API');
  const cs = t.cold_start;
  if (!cs) return row('Cold start', 'none: a warm worker took the job', { id: 'cold-start' });
  const phases = PHASES.filter(([k]) => typeof cs[k] === 'number');
  const total = typeof cs.total_ms === 'number' ? cs.total_ms : phases.reduce((n, [k]) => n + cs[k], 0);
  const sum = phases.reduce((n, [k]) => n + cs[k], 0) || 1;
  return h('div', { class: 'cold-start', id: 'cold-start' },
    row('Cold start', duration(total)),
    h('div', { class: 'stack' }, phases.map(([k, label], i) => h('div', { class: 'stack-part p' + i, title: label + ' ' + duration(cs[k]), style: { flexGrow: String(Math.max(cs[k], sum / 100)) } }))),
    h('div', { class: 'stack-legend' }, phases.map(([k, label], i) => h('span', null, h('span', { class: 'dot p' + i }), label + ' ' + duration(cs[k])))));
}

function timingsView(job, now) {
  const { wait, run } = jobTimes(job, now);
  const running = job.status === 'running';
  return [
    row('Created', dateTime(job.created_at)),
    row('Queue wait', duration(wait) + (job.status === 'queued' ? ' (waiting)' : ''), { id: 'timing-wait' }),
    row('Started', dateTime(job.started_at)),
    row('Run', duration(run) + (running ? ' (running)' : ''), { id: 'timing-run' }),
    row('Finished', dateTime(job.finished_at)),
    job.run_at && job.status === 'delayed' ? row('Next try', dateTime(job.run_at)) : null,
    coldStart(job.timings),
  ];
}

function errorBlock(e, title) {
  const details = [e.traceback, Array.isArray(e.stderr_tail) && e.stderr_tail.length ? e.stderr_tail.join('\n') : null].filter(Boolean);
  const facts = [
    e.at ? clock(e.at) : null,
    e.worker_id ? 'worker ' + e.worker_id : null,
    e.exit_code !== undefined && e.exit_code !== null ? 'exit code ' + e.exit_code : null,
    e.signal ? 'signal ' + e.signal : null,
    e.peak_rss_mb ? 'peak RSS ' + e.peak_rss_mb + ' MiB' : null,
    e.retryable === false ? 'not retryable' : null,
  ].filter(Boolean).join(' · ');
  return h('div', { class: 'error-block' },
    h('div', { class: 'error-title' }, h('strong', null, title), ' ', h('code', null, String(e.exception || e.type || 'unknown'))),
    h('div', { class: 'error-message' }, String(e.message || '')),
    facts ? h('div', { class: 'muted small' }, facts) : null,
    details.length ? h('details', null, h('summary', null, e.traceback ? 'traceback' : 'stderr'), h('pre', { class: 'json' }, details.join('\n\n'))) : null);
}

function attemptsView(job) {
  const errors = Array.isArray(job.errors) ? job.errors : [];
  const out = [row('Attempts', job.attempts + ' of ' + job.max_attempts, { id: 'job-attempts' })];
  errors.forEach((e, i) => out.push(errorBlock(e, 'Attempt ' + (e.attempt || i + 1))));
  const last = errors[errors.length - 1];
  if (job.error && !(last && last.message === job.error.message && last.type === job.error.type)) out.push(errorBlock(job.error, 'Error'));
  if (!errors.length && !job.error) out.push(h('p', { class: 'muted' }, job.status === 'failed' ? 'Failed without an error record.' : 'No errors.'));
  return out;
}

export function mountJob(root, id, app) {
  const ctl = new AbortController();
  const signal = ctl.signal;
  const chart = createChart();
  const logs = createLogView();
  const events = [];
  const seenEvents = new Set();
  let job = null;
  let pollTimer = null;
  let refreshTimer = null;

  const stateSlot = h('span', { class: 'state-slot' });
  const note = h('span', { class: 'action-msg', role: 'status' });
  const cancelBtn = h('button', { type: 'button', class: 'danger', hidden: true, onclick: cancel }, 'Cancel job');
  const meta = h('div', { class: 'job-meta' });
  const progressSlot = h('div', { class: 'job-progress' });
  const waiting = h('p', { class: 'waiting', hidden: true });
  const timings = h('div', { class: 'timings' });
  const attempts = h('div', { class: 'attempts' });
  const result = h('div');
  const payload = h('div');
  const headTitle = h('h1', { class: 'job-title' }, 'Job ', h('code', { id: 'job-id' }, id));
  root.replaceChildren(
    h('a', { href: '#/', class: 'back' }, '← All jobs'),
    h('div', { class: 'job-head' }, headTitle, stateSlot, h('span', { class: 'spacer' }), note, cancelBtn),
    meta, progressSlot, waiting,
    h('div', { class: 'grid-main' }, card('Metrics', { class: 'card chart-card' }, chart.el), card('Timings', null, timings)),
    logs.el,
    h('div', { class: 'grid-2' }, card('Attempts and errors', null, attempts), card('Result', null, result)),
    card('Payload', null, payload));
  chart.update([]);

  function history() {
    return job && Array.isArray(job.metrics_history) && job.metrics_history.length ? job.metrics_history : events;
  }

  function draw() {
    if (!job) return;
    const now = Date.now();
    render(stateSlot, job.status, () => badge(job.status, 'badge-large'));
    stateSlot.firstElementChild && (stateSlot.firstElementChild.id = 'job-state');
    cancelBtn.hidden = FINISHED.includes(job.status);
    render(meta, JSON.stringify([job.worker_type, job.kind, job.attempts, job.max_attempts, job.priority, job.worker_id]), () => [
      row('Type', job.worker_type), row('Runs', jobWhat(job)), row('Attempt', job.attempts + ' / ' + job.max_attempts),
      row('Priority', String(job.priority)), row('Worker', job.worker_id || '—'),
    ]);
    render(progressSlot, JSON.stringify([job.progress, job.progress_message, job.status]), () =>
      progressBar(job.progress, { large: true, label: job.progress_message || '', state: job.status, id: 'job-progress' }));
    waiting.hidden = !(job.status === 'queued' && job.waiting_reason);
    waiting.textContent = job.waiting_reason ? 'Waiting: ' + job.waiting_reason : '';
    render(timings, JSON.stringify([job.status, job.created_at, job.started_at, job.finished_at, job.timings, FINISHED.includes(job.status) ? 0 : Math.floor(now / 250)]), () => timingsView(job, now));
    render(attempts, JSON.stringify([job.attempts, job.max_attempts, job.errors, job.error, job.status]), () => attemptsView(job));
    render(result, JSON.stringify([job.result, job.status]), () => job.result !== null && job.result !== undefined
      ? jsonBlock(job.result)
      : h('p', { class: 'muted' }, FINISHED.includes(job.status) ? 'No result.' : 'No result yet.'));
    render(payload, JSON.stringify(job.payload), () => jsonBlock(job.payload));
    chart.update(history());
  }

  function showMissing(err) {
    ctl.abort();
    root.replaceChildren(h('a', { href: '#/', class: 'back' }, '← All jobs'), h('div', { class: 'notice error' }, err.message));
  }

  async function refresh() {
    try {
      job = await getJson('/jobs/' + encodeURIComponent(id), signal);
      app.fresh();
      draw();
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 404) return showMissing(err);
      app.failed(err);
    }
  }

  function refreshSoon() {
    if (refreshTimer || signal.aborted) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; void refresh(); }, 150);
  }

  async function poll() {
    await refresh();
    if (signal.aborted) return;
    if (!job || !FINISHED.includes(job.status)) pollTimer = setTimeout(poll, 1000);
  }

  async function followEvents() {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await followSse('/jobs/' + encodeURIComponent(id) + '/events', (ev) => {
          if (ev.id && seenEvents.has(ev.id)) return;
          if (ev.id) seenEvents.add(ev.id);
          let data = {};
          try { data = JSON.parse(ev.data); } catch {}
          if (ev.event === 'progress') {
            events.push({ ts: data.ts || Date.now(), progress: Number(data.progress), message: data.message || '', metrics: data.metrics || {} });
            if (job && !FINISHED.includes(job.status)) {
              job.progress = Number(data.progress);
              job.progress_message = data.message || null;
              job.status = 'running';
              draw();
            }
          } else if (ev.event === 'log') {
            // the log panel follows GET /jobs/:id/logs itself
          } else if (ev.event === 'end') {
            if (data && data.job_id) { job = Object.assign({}, job, data); draw(); }
            refreshSoon();
          } else {
            refreshSoon();
          }
        }, signal);
        failures = 0;
      } catch (err) {
        if (signal.aborted || (err.status >= 400 && err.status < 500 && err.status !== 429)) return; // 429: too many streams now; retry
        failures++;
      }
      if (job && FINISHED.includes(job.status)) return;
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * Math.pow(2, failures))));
    }
  }

  async function cancel() {
    cancelBtn.disabled = true;
    note.textContent = 'cancelling…';
    try {
      const r = await postJson('/jobs/' + encodeURIComponent(id) + '/cancel');
      note.textContent = r.body.status === 'cancelled' ? 'cancelled' : 'the worker was asked to stop';
      refreshSoon();
    } catch (err) {
      note.textContent = err.message;
    } finally {
      cancelBtn.disabled = false;
    }
  }

  void poll();
  void followEvents();
  void followLogs(id, logs, signal, { onEnd: () => refreshSoon(), finished: () => Boolean(job && FINISHED.includes(job.status)) });
  const tick = setInterval(() => { if (job && !FINISHED.includes(job.status)) draw(); }, 250);

  return () => {
    ctl.abort();
    clearTimeout(pollTimer);
    clearTimeout(refreshTimer);
    clearInterval(tick);
  };
}
`;
