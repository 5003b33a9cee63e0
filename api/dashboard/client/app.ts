/**
 * Browser module /ui/app.js, the page's entry: the hash router (#/, #/jobs/<id>,
 * #/submit), the token prompt, and the header's health and "live" indicators.
 */
export const APP_JS = String.raw`
import { onTokenPrompt, onTokenChange, storedToken, forgetToken } from './api.js';
import { mountOverview } from './overview.js';
import { mountJob } from './job-page.js';
import { mountSubmit } from './submit.js';
import { ago } from './format.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
const health = document.getElementById('health');
const forget = document.getElementById('forget-token');
const dialog = document.getElementById('token-dialog');
const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token-input');
const tokenError = document.getElementById('token-error');

let lastOk = 0;
let lastError = null;

const app = {
  state: { filters: { status: '', type: '' }, submitKind: 'function' },
  fresh() { lastOk = Date.now(); lastError = null; paintLive(); },
  failed(err) { lastError = err; paintLive(); },
  go(hash) { location.hash = hash; },
};

function paintLive() {
  const age = Date.now() - lastOk;
  if (lastError && (!lastOk || age > 2500)) {
    live.textContent = 'offline: ' + lastError.message;
    live.dataset.state = 'error';
  } else if (lastOk) {
    live.textContent = age < 2500 ? 'live' : 'updated ' + ago(lastOk);
    live.dataset.state = age < 2500 ? 'ok' : 'stale';
  }
}
setInterval(paintLive, 500);

onTokenPrompt((refused) => new Promise((resolve) => {
  tokenError.hidden = !refused;
  tokenError.textContent = refused ? 'That token was refused. Enter the API token again.' : '';
  tokenInput.value = '';
  live.textContent = 'token needed';
  live.dataset.state = 'stale';
  tokenForm.onsubmit = (e) => {
    e.preventDefault();
    const value = tokenInput.value.trim();
    if (!value) return;
    tokenForm.onsubmit = null;
    dialog.close();
    resolve(value);
  };
  if (!dialog.open) dialog.showModal();
  tokenInput.focus();
}));
// Nothing works without the token: Escape does not dismiss the prompt.
dialog.addEventListener('cancel', (e) => e.preventDefault());
onTokenChange((token) => { forget.hidden = !token; });
forget.hidden = !storedToken();
forget.addEventListener('click', () => forgetToken());

async function checkHealth() {
  try {
    const res = await fetch('/health', { cache: 'no-store', credentials: 'omit' });
    const body = await res.json();
    health.textContent = 'redis ' + body.redis + ' · spawner ' + body.spawner;
    health.dataset.state = body.status === 'ok' ? 'ok' : body.status === 'degraded' ? 'stale' : 'error';
  } catch (err) {
    health.textContent = 'API unreachable';
    health.dataset.state = 'error';
  }
  setTimeout(checkHealth, 5000);
}

let stop = null;
function route() {
  if (stop) stop();
  stop = null;
  const hash = location.hash || '#/';
  const job = /^#\/jobs\/([^/?#]+)/.exec(hash);
  const view = job ? 'job' : hash.startsWith('#/submit') ? 'submit' : 'overview';
  for (const a of document.querySelectorAll('[data-nav]')) a.setAttribute('aria-current', a.dataset.nav === view ? 'page' : 'false');
  main.dataset.view = view;
  if (job) {
    const id = decodeURIComponent(job[1]);
    document.title = 'Kiln · job ' + id.slice(0, 8);
    stop = mountJob(main, id, app);
  } else if (view === 'submit') {
    document.title = 'Kiln · new job';
    stop = mountSubmit(main, app);
  } else {
    document.title = 'Kiln';
    stop = mountOverview(main, app);
  }
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
route();
void checkHealth();
`;
