/**
 * A JSON Schema (as the OpenAPI 3.1 document holds it) as HTML: a type label,
 * and a field table for objects. Every string from the document goes through
 * hono/html's escaping `html` template; nothing is inserted raw.
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type JsonSchema = { [key: string]: unknown };
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const isSchema = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `code` spans of a description as <code>, the rest as text. */
export function prose(text: unknown): Html {
  if (typeof text !== 'string' || text === '') return html``;
  const parts = text.split('`');
  return html`${parts.map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : part))}`;
}

export const refName = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);
export const schemaAnchor = (name: string): string => `schema-${name}`;

/** A short type: `string | null`, `array of Job`, `map of integer`, `"queued" | "running"`. */
export function typeLabel(s: unknown): Html {
  if (!isSchema(s)) return html`any`;
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return html`<a href="#${schemaAnchor(name)}">${name}</a>`;
  }
  const alternatives = (s.anyOf ?? s.oneOf) as unknown;
  if (Array.isArray(alternatives)) return join(alternatives.map(typeLabel), ' | ');
  if (Array.isArray(s.enum)) return join(s.enum.map((v) => html`<code>${JSON.stringify(v)}</code>`), ' | ');
  if ('const' in s) return html`<code>${JSON.stringify(s.const)}</code>`;
  const types = Array.isArray(s.type) ? (s.type as unknown[]) : s.type === undefined ? [] : [s.type];
  if (types.length === 0) return isSchema(s.properties) ? html`object` : html`any`;
  return join(types.map((t) => single(s, String(t))), ' | ');
}

function single(s: JsonSchema, type: string): Html {
  if (type === 'array') return html`array of ${typeLabel(s.items)}`;
  if (type === 'object' && !isSchema(s.properties) && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    return html`map of ${typeLabel(s.additionalProperties)}`;
  }
  return typeof s.format === 'string' ? html`${type} (${s.format})` : html`${type}`;
}

function join(items: Html[], sep: string): Html {
  return html`${items.map((item, i) => (i === 0 ? item : html`${sep}${item}`))}`;
}

const CONSTRAINTS: [key: string, label: string][] = [
  ['default', 'default'], ['minimum', '≥'], ['exclusiveMinimum', '>'], ['maximum', '≤'], ['exclusiveMaximum', '<'],
  ['minLength', 'min length'], ['maxLength', 'max length'], ['pattern', 'pattern'],
];

/** Description and limits of one field (without the description where the caller shows it already). */
export function notes(s: unknown, shown?: unknown): Html {
  if (!isSchema(s)) return html``;
  const limits = CONSTRAINTS.filter(([k]) => s[k] !== undefined).map(([k, label]) => html`<span class="limit">${label} <code>${k === 'pattern' ? String(s[k]) : JSON.stringify(s[k])}</code></span>`);
  const closed = s.type === 'object' && s.additionalProperties === false ? html`<span class="limit">no other fields</span>` : html``;
  return html`${s.description === shown ? '' : prose(s.description)} ${limits} ${closed}`;
}

/** A schema in full: a field table for an object with properties (nested objects inline), else its type. */
export function schemaBlock(s: unknown, depth = 0): Html {
  if (!isSchema(s)) return html``;
  const props = isSchema(s.properties) ? s.properties : undefined;
  if (!props || typeof s.$ref === 'string' || depth > 4) return html`<p class="type">${typeLabel(s)} ${depth === 0 ? notes(s) : ''}</p>`;
  const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
  const rows = Object.entries(props).map(([name, p]) => {
    const inline = isSchema(p) && isSchema(p.properties) && p.$ref === undefined;
    return html`<tr><td><code>${name}</code>${required.has(name) ? html`<span class="req" title="required">*</span>` : ''}</td>
<td>${typeLabel(p)}</td><td>${notes(p)}${inline ? schemaBlock(p, depth + 1) : ''}</td></tr>`;
  });
  return html`${depth === 0 && s.description ? html`<p>${prose(s.description)}</p>` : ''}<table class="fields"><thead><tr><th>field</th><th>type</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`;
}
