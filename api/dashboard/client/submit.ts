/**
 * Browser module /ui/submit.js: the form that submits a job (#/submit): a Node
 * function with its JSON input, or a training job. The API's 4xx message is
 * shown as it is; on success the job's page opens.
 */
export const SUBMIT_JS = String.raw`
import { h, card } from './dom.js';
import { postJson, storedToken } from './api.js';

function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint ? h('span', { class: 'field-hint' }, hint) : null);
}

function parseJsonField(el, name) {
  const text = el.value.trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    const e = new Error(name + ' is not valid JSON: ' + err.message);
    e.field = name;
    throw e;
  }
}

export function mountSubmit(root, app) {
  let kind = app.state.submitKind || 'function';
  const fn = h('input', { name: 'function', id: 'submit-function', list: 'function-names', value: 'progress', required: true, spellcheck: 'false', autocomplete: 'off' });
  const input = h('textarea', { name: 'input', id: 'submit-input', rows: 5, spellcheck: 'false' });
  input.value = '{"steps": 20, "ms": 250}';
  const model = h('input', { name: 'model_type', id: 'submit-model', list: 'model-types', value: 'random_forest', spellcheck: 'false', autocomplete: 'off' });
  const dataPath = h('input', { name: 'data_path', id: 'submit-data-path', value: 'iris.csv', spellcheck: 'false' });
  const hyper = h('textarea', { name: 'hyperparameters', id: 'submit-hyperparameters', rows: 4, spellcheck: 'false' });
  hyper.value = '{"n_estimators": 50}';
  const gpu = h('input', { type: 'checkbox', name: 'requires_gpu', id: 'submit-gpu' });
  const workerType = h('input', { name: 'worker_type', id: 'submit-worker-type', placeholder: 'chosen for you', spellcheck: 'false', autocomplete: 'off' });
  const priority = h('input', { name: 'priority', type: 'number', step: 1, min: -1000, max: 1000, placeholder: '0' });
  const attempts = h('input', { name: 'max_attempts', type: 'number', step: 1, min: 1, max: 100, placeholder: 'default' });
  const timeout = h('input', { name: 'timeout_s', type: 'number', min: 1, placeholder: 'default' });
  const error = h('div', { class: 'form-error', id: 'submit-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary', id: 'submit-button' }, 'Submit job');
  const curl = h('pre', { class: 'json curl', id: 'submit-curl' });

  const fnFields = h('div', { class: 'fields' },
    field('Function', fn, 'a function the node workers have: echo, sleep, fail, progress, or your own'),
    field('Input (JSON)', input, 'passed to the function as its input'));
  const trainFields = h('div', { class: 'fields' },
    field('Model type', model, 'picks the worker type: sklearn, PyTorch or TensorFlow'),
    field('Data path', dataPath, 'inside the data root'),
    field('Hyperparameters (JSON object)', hyper),
    h('label', { class: 'check' }, gpu, ' requires a GPU'));
  const tabs = h('div', { class: 'tabs', role: 'tablist' },
    ['function', 'training'].map((k) => h('button', { type: 'button', role: 'tab', class: 'tab', dataset: { kind: k }, onclick: () => { kind = k; app.state.submitKind = k; paint(); } }, k === 'function' ? 'Node function' : 'Training')));

  function body() {
    const out = {};
    if (kind === 'function') {
      out.function = fn.value.trim();
      const v = parseJsonField(input, 'input');
      if (v !== undefined) out.input = v;
    } else {
      out.model_type = model.value.trim();
      out.data_path = dataPath.value.trim();
      const hp = parseJsonField(hyper, 'hyperparameters');
      if (hp !== undefined) out.hyperparameters = hp;
      if (gpu.checked) out.requires_gpu = true;
    }
    if (workerType.value.trim()) out.worker_type = workerType.value.trim();
    for (const [el, k] of [[priority, 'priority'], [attempts, 'max_attempts'], [timeout, 'timeout_s']]) if (el.value !== '') out[k] = Number(el.value);
    return out;
  }
  const path = () => (kind === 'function' ? '/jobs' : '/jobs/training');

  function paintCurl() {
    let json;
    try { json = JSON.stringify(body()); } catch (err) { curl.textContent = err.message; return; }
    const auth = storedToken() ? " -H 'authorization: Bearer '\"$KILN_API_TOKEN\"" : '';
    curl.textContent = 'curl -s -X POST ' + location.origin + path() + " -H 'content-type: application/json'" + auth + " -d '" + json.replace(/'/g, "'\\''") + "'";
  }

  function paint() {
    for (const t of tabs.children) t.setAttribute('aria-selected', String(t.dataset.kind === kind));
    fnFields.hidden = kind !== 'function';
    trainFields.hidden = kind !== 'training';
    paintCurl();
  }

  function showError(message, fieldName) {
    error.hidden = false;
    error.textContent = message;
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const bad = fieldName ? form.querySelector('[name="' + CSS.escape(String(fieldName).split('.')[0]) + '"]') : null;
    if (bad) { bad.setAttribute('aria-invalid', 'true'); bad.focus(); }
  }

  async function submit(e) {
    e.preventDefault();
    error.hidden = true;
    let payload;
    try { payload = body(); } catch (err) { return showError(err.message, err.field); }
    button.disabled = true;
    try {
      const r = await postJson(path(), payload);
      app.go('#/jobs/' + encodeURIComponent(r.body.job_id));
    } catch (err) {
      showError(err.status ? err.message + (err.code ? ' (' + err.code + (err.field ? ', field ' + err.field : '') + ')' : '') : 'could not reach the API: ' + err.message, err.field);
    } finally {
      button.disabled = false;
    }
  }

  const form = h('form', { id: 'submit-form', class: 'submit-form', novalidate: true, onsubmit: submit, oninput: paintCurl },
    tabs, fnFields, trainFields,
    h('details', { class: 'advanced' }, h('summary', null, 'Options'),
      h('div', { class: 'fields fields-4' }, field('Worker type', workerType), field('Priority', priority), field('Max attempts', attempts), field('Timeout (s)', timeout))),
    error,
    h('div', { class: 'form-actions' }, button));
  root.replaceChildren(
    h('h1', null, 'New job'),
    h('div', { class: 'grid-main' }, card(null, null, form), card('The same request with curl', null, curl)));
  paint();
  return () => {};
}
`;
