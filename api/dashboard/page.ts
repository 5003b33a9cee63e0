/**
 * The dashboard's one HTML page, rendered on the server with hono/html (every
 * value escaped). It holds the layout and the option lists the server knows;
 * no job or worker data, so it loads without the API token.
 */
import { html } from 'hono/html';
import { KNOWN_MODEL_TYPES } from '../../core/model-types';
import { JOB_STATUSES } from '../../core/schemas/job';
import { FLAME_PATH } from './client/icon';

/** The functions every `node` worker has (worker-runtime/functions/builtins.ts): suggestions, not a limit. */
const BUILTIN_FUNCTIONS = ['echo', 'sleep', 'fail', 'progress', 'stream'];

export function dashboardPage() {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kiln</title>
<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/app.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<header class="topbar">
  <a class="brand" href="#/"><svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="${FLAME_PATH}"/></svg>Kiln</a>
  <nav>
    <a href="#/" data-nav="overview">Overview</a>
    <a href="#/submit" data-nav="submit">New job</a>
  </nav>
  <div class="topbar-status">
    <span id="health" class="pill" title="GET /health">checking…</span>
    <span id="live" class="pill" title="time since the last successful refresh">connecting…</span>
    <button id="forget-token" class="link-button" type="button" hidden>Forget token</button>
  </div>
</header>
<main id="main"><noscript>The dashboard needs JavaScript. The JSON API is at /jobs and /workers/status.</noscript></main>
<dialog id="token-dialog" aria-labelledby="token-title">
  <form id="token-form">
    <h2 id="token-title">API token</h2>
    <p>This Kiln API needs its bearer token (<code>KILN_API_TOKEN</code>). It is kept in this tab's session storage only and sent as an <code>Authorization</code> header.</p>
    <p id="token-error" class="form-error" hidden></p>
    <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" required placeholder="token">
    <div class="form-actions"><button type="submit" class="primary">Continue</button></div>
  </form>
</dialog>
<datalist id="model-types">${KNOWN_MODEL_TYPES.map((m) => html`<option value="${m}"></option>`)}</datalist>
<datalist id="function-names">${BUILTIN_FUNCTIONS.map((f) => html`<option value="${f}"></option>`)}</datalist>
<template id="job-states">${JOB_STATUSES.map((s) => html`<option value="${s}">${s}</option>`)}</template>
</body>
</html>
`;
}
