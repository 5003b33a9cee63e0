/**
 * Browser module /ui/logs.js: a job's log panel, and the loop that follows
 * GET /jobs/:id/logs?follow=true, resuming from the last cursor when the
 * connection drops.
 */
export const LOGS_JS = String.raw`
import { h } from './dom.js';
import { followSse } from './sse.js';
import { clock } from './format.js';

const MAX_LINES = 5000;

export function createLogView() {
  const lines = h('div', { class: 'log-lines', id: 'job-log', role: 'log', tabindex: 0 });
  const status = h('span', { class: 'log-status', id: 'job-log-status' }, 'connecting…');
  const count = h('span', { class: 'log-count' }, '');
  let n = 0;
  const wrap = h('input', { type: 'checkbox', checked: true, onchange: () => lines.classList.toggle('nowrap', !wrap.checked) });
  const el = h('section', { class: 'card log-card' },
    h('div', { class: 'card-head' }, h('h2', null, 'Log'), status, h('span', { class: 'spacer' }), count, h('label', { class: 'toggle' }, wrap, ' wrap')),
    lines);

  function append(line) {
    const atBottom = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 8;
    const stream = String(line.stream || 'stdout');
    lines.append(h('div', { class: 'log-line', dataset: { stream } },
      h('span', { class: 'log-ts' }, clock(line.ts)),
      h('span', { class: 'log-stream' }, stream),
      h('span', { class: 'log-text' }, String(line.text === undefined ? '' : line.text))));
    n++;
    while (lines.childElementCount > MAX_LINES) lines.firstElementChild.remove();
    count.textContent = n + (n === 1 ? ' line' : ' lines') + (n > MAX_LINES ? ' (showing the last ' + MAX_LINES + ')' : '');
    if (atBottom) lines.scrollTop = lines.scrollHeight;
  }
  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }
  return { el, append, setStatus, count: () => n };
}

function sleep(msDelay, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, msDelay);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** Follows the job's log until it ends; hooks.onEnd(jobView) on the end event, hooks.finished() says whether to stop after a drop. */
export async function followLogs(jobId, view, signal, hooks) {
  let cursor = null;
  let failures = 0;
  while (!signal.aborted) {
    let ended = false;
    let lifetimeUp = false;
    const path = '/jobs/' + encodeURIComponent(jobId) + '/logs?follow=true' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
    view.setStatus(failures ? 'reconnecting…' : 'live', 'live');
    try {
      const how = await followSse(path, (ev) => {
        if (ev.event === 'log') {
          let line = null;
          try { line = JSON.parse(ev.data); } catch { line = { text: ev.data }; }
          view.append(line || {});
          if (ev.id) cursor = ev.id;
          failures = 0;
        } else if (ev.event === 'reconnect') {
          if (ev.id) cursor = ev.id;
          lifetimeUp = true; // the stream reached its lifetime (KILN_SSE_MAX_LIFETIME_S): go on from here at once
        } else if (ev.event === 'end') {
          ended = true;
          let job = null;
          try { job = JSON.parse(ev.data); } catch {}
          if (hooks.onEnd) hooks.onEnd(job);
        }
      }, signal);
      if (how === 'aborted') return;
    } catch (err) {
      if (signal.aborted) return;
      if (err && err.status === 404) {
        view.setStatus(err.code === 'NOT_FOUND' ? 'this API does not keep job logs (no GET /jobs/:id/logs)' : err.message, 'off');
        return;
      }
      if (err && err.status >= 400 && err.status < 500 && err.status !== 429) { view.setStatus(err.message, 'error'); return; }
      failures++;
    }
    if (lifetimeUp) continue;
    if (ended || (hooks.finished && hooks.finished() && failures === 0)) {
      view.setStatus(view.count() ? 'ended' : 'ended · no output', 'ended');
      return;
    }
    view.setStatus('connection lost · reconnecting…', 'warn');
    await sleep(Math.min(5000, 500 * Math.pow(2, Math.min(failures, 4))), signal);
  }
}
`;
