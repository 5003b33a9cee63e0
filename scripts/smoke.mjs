// `npm run smoke`: the seed's test_local_dynamic.py checks against a running
// system (npm start): health, spawning, submission, status, cleanup.
// API_URL (default http://127.0.0.1:8000), WORKER_MANAGER_URL (default http://127.0.0.1:8001).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const api = (process.env.API_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
const spawner = (process.env.WORKER_MANAGER_URL ?? 'http://127.0.0.1:8001').replace(/\/+$/, '');
const stateDir = process.env.KILN_STATE_DIR ?? join(process.cwd(), '.kiln');
let token = process.env.SPAWNER_TOKEN;
try {
  token ??= readFileSync(join(stateDir, 'spawner.token'), 'utf8').trim();
} catch {
  // no token file: the spawner calls will say 401
}

let failures = 0;
const check = (name, ok, detail = '') => {
  if (!ok) failures++;
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `  (${detail})` : ''}`);
};
const call = async (base, method, path, body, auth = false) => {
  const headers = { 'content-type': 'application/json', ...(auth && token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(`${base}${path}`, { method, headers, ...(body && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json().catch(() => null) };
};
const wait = async (fn, ms = 20_000) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
};

/** Workers this run started (never one that was there before): stopped by id at the end. */
const startedHere = [];
try {
  const h = await call(api, 'GET', '/health');
  check('API health', h.status === 200 && h.body?.redis === 'ok', JSON.stringify(h.body));
  const sh = await call(spawner, 'GET', '/health');
  check('spawner health', sh.status === 200, JSON.stringify(sh.body));

  const ensured = await call(spawner, 'POST', '/workers/ensure/node', undefined, true);
  check('spawning: ensure a node worker', ensured.status < 300 && Boolean(ensured.body?.worker_id), JSON.stringify(ensured.body));
  if (ensured.body?.action === 'started' && ensured.body.worker_id) startedHere.push(ensured.body.worker_id);

  const sub = await call(api, 'POST', '/jobs', { function: 'echo', input: { smoke: true } });
  check('submission: POST /jobs', sub.status === 202 && Boolean(sub.body?.job_id), JSON.stringify(sub.body));
  const done = await wait(async () => {
    const j = await call(api, 'GET', `/jobs/${sub.body?.job_id}`);
    return j.body?.status === 'succeeded' && j.body;
  });
  check('status: the job succeeded with its result', done?.result?.smoke === true, done ? `worker ${done.worker_id}` : 'timed out');

  const train = await call(api, 'POST', '/jobs/training', { model_type: 'bert', data_path: '/data/train.csv', requires_gpu: false });
  check('submission: POST /jobs/training', train.status === 202 && train.body?.worker_type === 'pytorch-2.1', JSON.stringify(train.body));
  // the worker the API had started for it is this run's too
  if (train.body?.ensure_action === 'started' && train.body.ensure_worker_id) startedHere.push(train.body.ensure_worker_id);
  // not left queued for ever: cancel it if the API supports it
  if (train.body?.job_id) await call(api, 'POST', `/jobs/${train.body.job_id}/cancel`).catch(() => {});

  const status = await call(api, 'GET', '/workers/status');
  check('status: GET /workers/status lists the worker', Boolean(status.body?.worker_details?.[ensured.body?.worker_id]), `${status.body?.total_workers} worker(s)`);
} catch (err) {
  check('reach the running system', false, `${err.message}; is it running (npm start)?`);
}
// cleanup: exactly the workers this run started, by id, whatever failed above
for (const id of startedHere) {
  try {
    const stop = await call(spawner, 'POST', `/workers/stop/${encodeURIComponent(id)}`, undefined, true);
    check(`cleanup: stop ${id} (started by this run)`, stop.status === 200, JSON.stringify(stop.body));
    const gone = await wait(async () => !(await call(api, 'GET', '/workers/status')).body?.worker_details?.[id]);
    check(`cleanup: ${id} is gone from the status`, Boolean(gone));
  } catch (err) {
    check(`cleanup: stop ${id}`, false, err.message);
  }
}
if (startedHere.length === 0) console.log('cleanup: this run started no worker (one was running already); none stopped');
console.log(failures === 0 ? '\nsmoke: all checks passed' : `\nsmoke: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
