/**
 * Browser module /ui/api.js: calls the JSON API. The bearer token, when the API
 * asks for one (401), is asked for once, kept in sessionStorage only and sent
 * as an Authorization header: never in a URL.
 */
export const API_JS = String.raw`
const TOKEN_KEY = 'kiln.apiToken';
let askToken = async () => { throw new Error('the API needs a token'); };
let pending = null;
const listeners = new Set();

export function onTokenPrompt(fn) { askToken = fn; }
export function onTokenChange(fn) { listeners.add(fn); }

export function storedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

export function forgetToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch {}
  listeners.forEach((fn) => fn(null));
}

function tokenNeeded(refused) {
  if (!pending) {
    pending = askToken(refused).then((token) => {
      sessionStorage.setItem(TOKEN_KEY, token);
      listeners.forEach((fn) => fn(token));
    }).finally(() => { pending = null; });
  }
  return pending;
}

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const e = body && body.error ? body.error : {};
    super(e.message || fallback || ('HTTP ' + status));
    this.status = status;
    this.code = e.code || null;
    this.field = e.field || null;
  }
}

/** fetch() against the API: adds the token, and on a 401 asks for one (once for all callers) and retries. */
export async function apiFetch(path, init) {
  const opts = init || {};
  for (;;) {
    const token = storedToken();
    const headers = new Headers(opts.headers || {});
    if (token) headers.set('authorization', 'Bearer ' + token);
    const res = await fetch(path, Object.assign({}, opts, { headers, cache: 'no-store', credentials: 'omit', redirect: 'error' }));
    if (res.status !== 401) return res;
    await res.body?.cancel();
    if (storedToken() !== token) continue; // another caller has just stored a new token
    await tokenNeeded(Boolean(token));
  }
}

async function readBody(res) {
  const text = await res.text();
  try { return JSON.parse(text); } catch { return text; }
}

export async function getJson(path, signal) {
  const res = await apiFetch(path, { signal, headers: { accept: 'application/json' } });
  const body = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, body, 'GET ' + path + ' answered ' + res.status);
  return body;
}

export async function postJson(path, value) {
  const res = await apiFetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: value === undefined ? undefined : JSON.stringify(value) });
  const body = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, body, 'POST ' + path + ' answered ' + res.status);
  return { status: res.status, body };
}
`;
