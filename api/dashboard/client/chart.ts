/**
 * Browser module /ui/chart.js: a job's progress history as an inline SVG line
 * chart. One line per metric key on the left axis; progress dashed on a 0–100 %
 * axis (the right one when metrics share the chart). Legend entries toggle lines;
 * hovering reads the values at a point.
 */
export const CHART_JS = String.raw`
import { h, s } from './dom.js';
import { ms } from './format.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563'];
const PROGRESS_COLOR = '#64748b';
const W = 720;
const H = 260;
const M = { l: 56, r: 52, t: 14, b: 36 };

export function niceTicks(min, max, count) {
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const n = raw / mag;
  const step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
  const first = Math.floor(lo / step) * step;
  const last = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo: first, hi: last, ticks };
}

export function fmtNum(v) {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(a >= 100 ? 6 : 4)));
}

/** Points sorted by time; one series per metric key (first-seen order), and progress. */
export function toSeries(history) {
  const points = (Array.isArray(history) ? history : [])
    .map((p) => ({ t: ms(p && p.ts), progress: Number(p && p.progress), message: (p && p.message) || '', metrics: (p && p.metrics && typeof p.metrics === 'object') ? p.metrics : {} }))
    .filter((p) => p.t !== null)
    .sort((a, b) => a.t - b.t);
  const keys = [];
  for (const p of points) for (const [k, v] of Object.entries(p.metrics)) if (typeof v === 'number' && Number.isFinite(v) && !keys.includes(k)) keys.push(k);
  const series = keys.map((key, i) => ({ key, color: COLORS[i % COLORS.length], progress: false, values: points.map((p) => (typeof p.metrics[key] === 'number' && Number.isFinite(p.metrics[key]) ? p.metrics[key] : null)) }));
  if (points.some((p) => Number.isFinite(p.progress))) {
    series.push({ key: 'progress', color: PROGRESS_COLOR, progress: true, values: points.map((p) => (Number.isFinite(p.progress) ? p.progress * 100 : null)) });
  }
  return { points, series };
}

function timeUnit(spanMs) {
  if (spanMs > 3 * 3600e3) return { div: 3600e3, label: 'h' };
  if (spanMs > 180e3) return { div: 60e3, label: 'min' };
  return { div: 1000, label: 's' };
}

export function createChart() {
  const hidden = new Set();
  const plot = h('div', { class: 'chart-plot' });
  const legend = h('div', { class: 'chart-legend' });
  const readout = h('div', { class: 'chart-readout' });
  const el = h('div', { class: 'chart', id: 'job-chart' }, plot, legend, readout);
  let lastKey = null;
  let lastHistory = [];

  function summary(data, i) {
    const p = data.points[i];
    if (!p) return '';
    const parts = [];
    for (const se of data.series) {
      const v = se.values[i];
      if (v !== null) parts.push(se.key + ' ' + (se.progress ? Math.round(v) + '%' : fmtNum(v)));
    }
    const t = ((p.t - data.points[0].t) / 1000).toFixed(1) + ' s';
    return (i === data.points.length - 1 ? 'latest' : 'at ' + t) + (p.message ? ' — ' + p.message : '') + ' · ' + parts.join(' · ');
  }

  function draw(history) {
    const data = toSeries(history);
    if (data.points.length === 0) {
      plot.replaceChildren(h('p', { class: 'empty' }, 'No progress reported. The chart draws what a job reports with ctx.progress(value, message, metrics).'));
      legend.replaceChildren();
      readout.textContent = '';
      return;
    }
    const metrics = data.series.filter((x) => !x.progress);
    const visible = data.series.filter((x) => !hidden.has(x.key));
    const progressOnRight = metrics.length > 0;
    const leftValues = [];
    for (const se of visible) if (!se.progress || !progressOnRight) for (const v of se.values) if (v !== null) leftValues.push(v);
    const left = progressOnRight
      ? niceTicks(leftValues.length ? Math.min(...leftValues) : 0, leftValues.length ? Math.max(...leftValues) : 1, 5)
      : { lo: 0, hi: 100, ticks: [0, 25, 50, 75, 100] };
    const t0 = data.points[0].t;
    const span = data.points.length > 1 ? Math.max(1, data.points[data.points.length - 1].t - t0) : 1000;
    const unit = timeUnit(span);
    const xMax = span / unit.div;
    const xt = niceTicks(0, xMax, 6);
    const pw = W - M.l - M.r;
    const ph = H - M.t - M.b;
    const X = (t) => M.l + ((t - t0) / unit.div / xMax) * pw;
    const YL = (v) => M.t + ph - ((v - left.lo) / (left.hi - left.lo || 1)) * ph;
    const YP = (v) => M.t + ph - (v / 100) * ph;

    const svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart-svg', role: 'img', 'aria-label': 'chart of ' + data.series.map((x) => x.key).join(', ') + ' over time' });
    const axes = s('g', { class: 'axes' });
    for (const v of left.ticks) {
      const y = YL(v);
      axes.append(s('line', { x1: M.l, x2: W - M.r, y1: y, y2: y, class: 'grid' }));
      axes.append(s('text', { x: M.l - 8, y: y + 4, 'text-anchor': 'end' }, progressOnRight ? fmtNum(v) : v + '%'));
    }
    if (progressOnRight) {
      for (const v of [0, 50, 100]) axes.append(s('text', { x: W - M.r + 8, y: YP(v) + 4, 'text-anchor': 'start', class: 'right-tick' }, v + '%'));
    }
    for (const v of xt.ticks) {
      if (v > xMax + 1e-9) continue;
      const x = M.l + (v / xMax) * pw;
      axes.append(s('line', { x1: x, x2: x, y1: M.t + ph, y2: M.t + ph + 5, class: 'tick' }));
      axes.append(s('text', { x, y: M.t + ph + 19, 'text-anchor': 'middle' }, fmtNum(v) + ' ' + unit.label));
    }
    axes.append(s('line', { x1: M.l, x2: W - M.r, y1: M.t + ph, y2: M.t + ph, class: 'axis' }));
    axes.append(s('line', { x1: M.l, x2: M.l, y1: M.t, y2: M.t + ph, class: 'axis' }));
    axes.append(s('text', { x: W - M.r, y: H - 2, 'text-anchor': 'end', class: 'axis-title' }, 'time since the first report'));
    svg.append(axes);

    for (const se of visible) {
      const Y = se.progress && progressOnRight ? YP : se.progress ? YP : YL;
      let d = '';
      let pen = false;
      se.values.forEach((v, i) => {
        if (v === null) { pen = false; return; }
        d += (pen ? 'L' : 'M') + X(data.points[i].t).toFixed(1) + ' ' + Y(v).toFixed(1);
        pen = true;
      });
      const g = s('g', { class: 'series', dataset: { series: se.key } });
      g.append(s('path', { d, fill: 'none', stroke: se.color, 'stroke-width': 2, 'stroke-linejoin': 'round', 'stroke-dasharray': se.progress ? '6 4' : null, class: 'line', dataset: { series: se.key, points: se.values.filter((v) => v !== null).length } }));
      if (data.points.length <= 60) {
        se.values.forEach((v, i) => { if (v !== null) g.append(s('circle', { cx: X(data.points[i].t).toFixed(1), cy: Y(v).toFixed(1), r: 2.6, fill: se.color })); });
      }
      svg.append(g);
    }
    const cursor = s('line', { x1: 0, x2: 0, y1: M.t, y2: M.t + ph, class: 'cursor', visibility: 'hidden' });
    svg.append(cursor);
    const latest = summary(data, data.points.length - 1);
    readout.textContent = latest;
    svg.addEventListener('mousemove', (e) => {
      const box = svg.getBoundingClientRect();
      const x = ((e.clientX - box.left) / box.width) * W;
      let best = 0;
      data.points.forEach((p, i) => { if (Math.abs(X(p.t) - x) < Math.abs(X(data.points[best].t) - x)) best = i; });
      const bx = X(data.points[best].t);
      cursor.setAttribute('x1', bx);
      cursor.setAttribute('x2', bx);
      cursor.setAttribute('visibility', 'visible');
      readout.textContent = summary(data, best);
    });
    svg.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); readout.textContent = latest; });
    plot.replaceChildren(svg);

    legend.replaceChildren(...data.series.map((se) => h('button', {
      type: 'button', class: 'legend-item' + (hidden.has(se.key) ? ' off' : ''), 'aria-pressed': String(!hidden.has(se.key)), dataset: { series: se.key },
      title: hidden.has(se.key) ? 'show ' + se.key : 'hide ' + se.key,
      onclick: () => { hidden.has(se.key) ? hidden.delete(se.key) : hidden.add(se.key); lastKey = null; update(lastHistory); },
    }, h('span', { class: 'swatch' + (se.progress ? ' dashed' : ''), style: { borderColor: se.color, backgroundColor: se.progress ? 'transparent' : se.color } }), se.key + (se.progress && progressOnRight ? ' (%, right)' : se.progress ? ' (%)' : ''))));
  }

  function update(history) {
    const key = JSON.stringify(history);
    if (key === lastKey) return;
    lastKey = key;
    lastHistory = history;
    draw(history);
  }
  return { el, update };
}
`;
