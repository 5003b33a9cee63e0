/** The dashboard's stylesheet, /ui/app.css. */
export const APP_CSS = String.raw`
:root {
  --bg: #f4f5f7; --card: #fff; --border: #e2e5ea; --text: #1f2937; --muted: #6b7280; --accent: #f97316;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  --queued-bg: #eef2ff; --queued: #4338ca; --delayed-bg: #f3e8ff; --delayed: #7e22ce;
  --running-bg: #dbeafe; --running: #1d4ed8; --succeeded-bg: #dcfce7; --succeeded: #15803d;
  --failed-bg: #fee2e2; --failed: #b91c1c; --cancelled-bg: #fef3c7; --cancelled: #92400e;
  --idle-bg: #ccfbf1; --idle: #0f766e; --gray-bg: #f3f4f6; --gray: #4b5563; --expired-bg: #e5e7eb; --expired: #374151;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; background: var(--bg); color: var(--text); }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
a { color: #2563eb; text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 20px; margin: 0 0 14px; font-weight: 650; }
h2 { font-size: 13px; margin: 0; font-weight: 650; text-transform: uppercase; letter-spacing: .04em; color: #374151; }
[hidden] { display: none !important; }

.topbar { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 24px; padding: 0 24px; height: 52px; background: #111827; color: #e5e7eb; box-shadow: 0 1px 0 rgba(0,0,0,.2); }
.brand { display: flex; align-items: center; gap: 8px; color: #fff; font-weight: 700; font-size: 17px; letter-spacing: .01em; }
.brand:hover { text-decoration: none; }
.brand svg { fill: var(--accent); }
.topbar nav { display: flex; gap: 4px; }
.topbar nav a { color: #cbd5e1; padding: 6px 12px; border-radius: 6px; font-weight: 500; }
.topbar nav a:hover { background: #1f2937; color: #fff; text-decoration: none; }
.topbar nav a[aria-current="page"] { background: #374151; color: #fff; }
.topbar-status { margin-left: auto; display: flex; align-items: center; gap: 10px; font-size: 12px; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px; background: #1f2937; color: #cbd5e1; max-width: 360px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pill::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #6b7280; flex: none; }
.pill[data-state="ok"]::before { background: #22c55e; box-shadow: 0 0 0 3px rgba(34,197,94,.2); }
.pill[data-state="stale"]::before { background: #f59e0b; }
.pill[data-state="error"]::before { background: #ef4444; }
.link-button { background: none; border: 0; color: #93c5fd; cursor: pointer; font: inherit; padding: 0; }

main { max-width: 1440px; margin: 0 auto; padding: 20px 24px 48px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 14px 16px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(16,24,40,.04); min-width: 0; }
.card > h2 { margin-bottom: 10px; }
.card-head { display: flex; align-items: center; gap: 10px; margin-bottom: 10px; flex-wrap: wrap; }
.spacer { flex: 1; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.empty { color: var(--muted); text-align: center; padding: 18px 8px; margin: 0; }
.notice { padding: 14px 16px; border-radius: 8px; margin: 12px 0; }
.notice.error { background: var(--failed-bg); color: var(--failed); }
.warning { color: #b45309; }

.stats { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 16px; margin-bottom: 16px; }
.stat { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 12px 16px; border-top: 3px solid #cbd5e1; }
#stat-workers { border-top-color: #0f766e; } #stat-queued { border-top-color: #6366f1; } #stat-running { border-top-color: #2563eb; }
#stat-succeeded { border-top-color: #16a34a; } #stat-failed { border-top-color: #dc2626; }
.stat-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
.stat-value { font-size: 26px; font-weight: 650; line-height: 1.25; font-variant-numeric: tabular-nums; }
.stat-sub { color: var(--muted); font-size: 12px; }

.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; }
td { padding: 8px 10px; border-bottom: 1px solid #eef0f3; vertical-align: middle; }
tr:last-child td { border-bottom: 0; }
tr.clickable { cursor: pointer; }
tr.clickable:hover td { background: #f8fafc; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.has-queue td:nth-child(2) { font-weight: 700; color: var(--queued); }
.ellipsis { display: inline-block; max-width: 240px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
.ellipsis-cell { max-width: 220px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.clamp { max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.reason { max-width: 360px; }
.waiting-reason { color: #b45309; }
.chip { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 999px; background: var(--gray-bg); color: var(--gray); margin: 1px 4px 1px 0; white-space: nowrap; }
.progress-cell { min-width: 150px; width: 18%; }

.badge { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; background: var(--gray-bg); color: var(--gray); white-space: nowrap; }
.badge-large { font-size: 13px; padding: 3px 12px; }
.badge[data-state="queued"], .chip[data-state="starting"] { background: var(--queued-bg); color: var(--queued); }
.badge[data-state="delayed"], .badge[data-state="draining"], .chip[data-state="draining"] { background: var(--delayed-bg); color: var(--delayed); }
.badge[data-state="running"], .badge[data-state="busy"], .chip[data-state="busy"] { background: var(--running-bg); color: var(--running); }
.badge[data-state="succeeded"] { background: var(--succeeded-bg); color: var(--succeeded); }
.badge[data-state="failed"], .badge[data-state="errored"], .chip[data-state="errored"] { background: var(--failed-bg); color: var(--failed); }
.badge[data-state="cancelled"], .badge[data-state="starting"] { background: var(--cancelled-bg); color: var(--cancelled); }
.badge[data-state="expired"] { background: var(--expired-bg); color: var(--expired); }
.badge[data-state="idle"], .chip[data-state="idle"] { background: var(--idle-bg); color: var(--idle); }
.badge[data-state="running"]::before, .badge[data-state="busy"]::before { content: ""; display: inline-block; width: 6px; height: 6px; border-radius: 50%; background: currentColor; margin-right: 6px; vertical-align: 1px; animation: pulse 1.2s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .25; } }

.bar { position: relative; height: 18px; background: #eef0f3; border-radius: 5px; overflow: hidden; min-width: 90px; }
.bar-large { height: 26px; border-radius: 7px; margin: 4px 0 14px; }
.bar-fill { height: 100%; background: #94a3b8; transition: width .35s ease; }
.bar[data-state="running"] .bar-fill { background: linear-gradient(90deg, #3b82f6, #2563eb); background-size: 200% 100%; }
.bar[data-state="succeeded"] .bar-fill { background: #22c55e; }
.bar[data-state="failed"] .bar-fill { background: #ef4444; }
.bar[data-state="cancelled"] .bar-fill { background: #f59e0b; }
.bar[data-state="expired"] .bar-fill { background: #9ca3af; }
.bar-label { position: absolute; inset: 0; display: flex; align-items: center; padding: 0 8px; font-size: 11.5px; font-weight: 600; color: #111827; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; text-shadow: 0 0 3px rgba(255,255,255,.85); }
.bar-large .bar-label { font-size: 13px; padding: 0 12px; }

select, input, textarea { font: inherit; color: inherit; border: 1px solid #d1d5db; border-radius: 6px; padding: 6px 9px; background: #fff; }
select:focus, input:focus, textarea:focus { outline: 2px solid #93c5fd; outline-offset: 0; border-color: #60a5fa; }
input[type="search"] { width: 200px; }
textarea { font-family: var(--mono); font-size: 13px; width: 100%; resize: vertical; }
[aria-invalid="true"] { border-color: #ef4444; outline-color: #fca5a5; }
button { font: inherit; cursor: pointer; border-radius: 6px; border: 1px solid #d1d5db; background: #fff; padding: 6px 14px; }
button:hover { background: #f9fafb; }
button:disabled { opacity: .6; cursor: default; }
button.primary { background: #111827; border-color: #111827; color: #fff; font-weight: 600; }
button.primary:hover { background: #1f2937; }
button.danger { color: var(--failed); border-color: #fca5a5; }
button.danger:hover { background: var(--failed-bg); }

.back { display: inline-block; margin-bottom: 8px; font-size: 13px; }
.job-head { display: flex; align-items: center; gap: 12px; margin-bottom: 8px; flex-wrap: wrap; }
.job-title { margin: 0; }
.job-title code { font-size: 17px; font-weight: 600; }
.action-msg { color: var(--muted); font-size: 13px; }
.job-meta { display: flex; flex-wrap: wrap; gap: 6px 26px; margin: 4px 0 10px; }
.job-meta .kv { display: flex; flex-direction: column; }
.kv .k { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
.timings .kv, .attempts > .kv { display: flex; justify-content: space-between; gap: 12px; padding: 5px 0; border-bottom: 1px dashed #eef0f3; }
.timings .kv .v, .attempts .kv .v { font-variant-numeric: tabular-nums; text-align: right; }
.waiting { background: #fffbeb; border: 1px solid #fde68a; color: #92400e; padding: 8px 12px; border-radius: 8px; margin: 0 0 14px; }
.grid-main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(280px, 1fr); gap: 16px; align-items: start; }
.grid-2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; align-items: start; }
.grid-main > .card, .grid-2 > .card { margin-bottom: 16px; }

.cold-start { padding-top: 4px; }
.cold-start .kv { border-bottom: 0 !important; }
.stack { display: flex; height: 12px; border-radius: 4px; overflow: hidden; background: #eef0f3; margin: 4px 0 6px; }
.stack-part { min-width: 2px; }
.p0 { background: #f97316; } .p1 { background: #6366f1; } .p2 { background: #14b8a6; }
.stack-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 5px; }

.chart-plot { min-height: 120px; }
.chart-svg { width: 100%; height: auto; display: block; font-size: 11px; font-family: system-ui, sans-serif; }
.chart-svg text { fill: #6b7280; }
.chart-svg .grid { stroke: #eef0f3; }
.chart-svg .axis, .chart-svg .tick { stroke: #9ca3af; }
.chart-svg .axis-title { fill: #9ca3af; font-size: 10.5px; }
.chart-svg .cursor { stroke: #9ca3af; stroke-dasharray: 3 3; }
.chart-legend { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; font-size: 12px; border-radius: 999px; }
.legend-item.off { opacity: .45; text-decoration: line-through; }
.swatch { width: 14px; height: 3px; border: 2px solid; border-radius: 2px; }
.swatch.dashed { border-style: dashed; height: 0; }
.chart-readout { font-size: 12px; color: var(--muted); min-height: 18px; margin-top: 4px; font-variant-numeric: tabular-nums; }

.log-card { padding-bottom: 12px; }
.log-status { font-size: 12px; color: var(--muted); display: inline-flex; align-items: center; gap: 6px; }
.log-status::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: #9ca3af; }
.log-status[data-state="live"]::before { background: #22c55e; animation: pulse 1.2s ease-in-out infinite; }
.log-status[data-state="warn"]::before, .log-status[data-state="error"]::before { background: #ef4444; }
.log-count { font-size: 12px; color: var(--muted); }
.toggle { font-size: 12px; color: var(--muted); display: inline-flex; align-items: center; gap: 4px; }
.log-lines { background: #0f172a; color: #e2e8f0; border-radius: 8px; padding: 8px 0; min-height: 120px; max-height: 420px; overflow: auto; font-family: var(--mono); font-size: 12.5px; line-height: 1.55; }
.log-lines:empty::after { content: "no output"; color: #64748b; padding: 0 12px; }
.log-line { display: grid; grid-template-columns: 92px 52px 1fr; gap: 10px; padding: 0 12px; white-space: pre-wrap; word-break: break-word; }
.log-lines.nowrap .log-line { white-space: pre; }
.log-line:hover { background: #1e293b; }
.log-ts { color: #64748b; }
.log-stream { color: #94a3b8; text-align: right; }
.log-line[data-stream="stderr"] .log-text, .log-line[data-stream="error"] .log-text { color: #fca5a5; }
.log-line[data-stream="stderr"] .log-stream, .log-line[data-stream="error"] .log-stream { color: #f87171; }
.log-line[data-stream="warn"] .log-text { color: #fcd34d; }
.log-line[data-stream="debug"] .log-text { color: #94a3b8; }
.log-line[data-stream="info"] .log-stream { color: #7dd3fc; }

pre.json { background: #f8fafc; border: 1px solid #eef0f3; border-radius: 6px; padding: 10px 12px; margin: 0; overflow: auto; max-height: 340px; white-space: pre-wrap; word-break: break-word; }
.error-block { border-left: 3px solid #ef4444; background: #fef2f2; border-radius: 6px; padding: 8px 12px; margin-top: 10px; }
.error-message { white-space: pre-wrap; word-break: break-word; margin: 2px 0; }
.error-block details { margin-top: 6px; }
.error-block pre.json { background: #fff; }

.submit-form { display: flex; flex-direction: column; gap: 14px; }
.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--border); }
.tab { border: 0; border-bottom: 2px solid transparent; border-radius: 0; background: none; padding: 8px 14px; font-weight: 600; color: var(--muted); }
.tab[aria-selected="true"] { color: var(--text); border-bottom-color: var(--accent); }
.fields { display: grid; gap: 12px; }
.fields-4 { grid-template-columns: repeat(4, minmax(0, 1fr)); padding-top: 10px; }
.field { display: flex; flex-direction: column; gap: 4px; }
.field-label { font-weight: 600; font-size: 13px; }
.field-hint { color: var(--muted); font-size: 12px; }
.check { display: flex; align-items: center; gap: 6px; }
.advanced summary { cursor: pointer; color: var(--muted); font-weight: 600; }
.form-error { background: var(--failed-bg); color: var(--failed); border: 1px solid #fecaca; padding: 8px 12px; border-radius: 6px; white-space: pre-wrap; }
.form-actions { display: flex; justify-content: flex-end; gap: 8px; }
pre.curl { white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; }

dialog { border: 0; border-radius: 12px; padding: 22px 24px; width: min(440px, 92vw); box-shadow: 0 20px 50px rgba(0,0,0,.3); }
dialog::backdrop { background: rgba(17,24,39,.55); }
dialog h2 { font-size: 17px; text-transform: none; letter-spacing: 0; margin-bottom: 8px; color: var(--text); }
dialog p { color: #4b5563; margin: 0 0 12px; }
dialog input { width: 100%; margin-bottom: 14px; }

@media (max-width: 1100px) {
  .stats { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .grid-main, .grid-2 { grid-template-columns: minmax(0, 1fr); }
  .fields-4 { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
`;
