/**
 * Browser module /ui/dom.js: builds DOM nodes. Every value becomes a text node
 * or an attribute through DOM APIs, never markup, so job payloads and log lines
 * cannot inject HTML.
 */
export const DOM_JS = String.raw`
const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(el, attrs, children, isSvg) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') isSvg ? el.setAttribute('class', v) : (el.className = v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** h('div', {class: 'x'}, 'text', child…) */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children, false);
}

export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children, true);
}

/** Replaces an element's children, only when the data they show changed (keeps text selections). */
export function render(el, key, build) {
  if (el.__kilnKey === key) return;
  el.__kilnKey = key;
  el.replaceChildren(...[build()].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

export function badge(state, extra) {
  return h('span', { class: 'badge' + (extra ? ' ' + extra : ''), dataset: { state: String(state) } }, String(state));
}

/** A progress bar for a 0..1 fraction. */
export function progressBar(fraction, opts) {
  const o = opts || {};
  const pct = Math.max(0, Math.min(100, Math.round((Number(fraction) || 0) * 100)));
  return h('div', { class: 'bar' + (o.large ? ' bar-large' : ''), role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, dataset: { state: o.state || '' }, id: o.id },
    h('div', { class: 'bar-fill', style: { width: pct + '%' } }),
    h('span', { class: 'bar-label' }, o.label ? pct + '% · ' + o.label : pct + '%'));
}

export function jsonBlock(value) {
  return h('pre', { class: 'json' }, value === undefined ? '—' : JSON.stringify(value, null, 2));
}

export function empty(text, colspan) {
  return colspan ? h('tr', { class: 'empty' }, h('td', { colspan }, text)) : h('p', { class: 'empty' }, text);
}

export function card(title, attrs, ...children) {
  return h('section', Object.assign({ class: 'card' }, attrs || {}), title ? h('h2', null, title) : null, ...children);
}
`;
