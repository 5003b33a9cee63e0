/**
 * GET /docs: the OpenAPI document as one self-contained HTML page (inline CSS,
 * no script, no CDN), grouped by tag: each operation with its parameters,
 * request body, responses and examples, then the named schemas. Everything from
 * the document is escaped (hono/html).
 */
import { html, raw } from 'hono/html';
import { type Html, type JsonSchema, notes, prose, refName, schemaAnchor, schemaBlock, typeLabel } from './schema-html';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, MediaType> };
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}
interface MediaType {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}
/** The parts of an OpenAPI 3.1 document the page reads. */
export interface DocsInput {
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  security?: unknown[];
  paths?: Record<string, Partial<Record<string, unknown>>>;
  components?: { schemas?: Record<string, unknown> };
}

const pretty = (v: unknown) => JSON.stringify(v, null, 2);
const opAnchor = (method: string, path: string) => `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;

function examples(media: MediaType): Html {
  const list = Object.entries(media.examples ?? {}).map(([name, ex]) => ({ title: ex.summary ?? name, value: ex.value }));
  if (media.example !== undefined) list.unshift({ title: 'example', value: media.example });
  return html`${list.map((ex) => html`<details><summary>${ex.title}</summary><pre>${pretty(ex.value)}</pre></details>`)}`;
}

type Resolve = (s: JsonSchema | undefined) => JsonSchema | undefined;

/** A request body: its named schema expanded into a field table, and its examples. */
function requestBody(body: NonNullable<Operation['requestBody']>, resolve: Resolve): Html {
  return html`<h4>Request body${body.required ? '' : ' (optional)'}</h4>
${Object.entries(body.content ?? {}).map(([type, media]) => html`<div class="media"><span class="ct">${type}</span> ${typeLabel(media.schema)}
${schemaBlock(resolve(media.schema))}${examples(media)}</div>`)}`;
}

function responses(op: Operation): Html {
  const rows = Object.entries(op.responses ?? {}).map(([status, r]) => html`<tr><td><span class="status s${status.charAt(0)}">${status}</span></td><td>${prose(r.description)}</td>
<td>${Object.entries(r.content ?? {}).map(([type, media]) => html`<div><span class="ct">${type}</span> ${typeLabel(media.schema)}${examples(media)}</div>`)}</td></tr>`);
  return html`<h4>Responses</h4><table class="fields"><tbody>${rows}</tbody></table>`;
}

function parameters(op: Operation): Html {
  if (!op.parameters?.length) return html``;
  const rows = op.parameters.map((p) => html`<tr><td><code>${p.name}</code>${p.required ? html`<span class="req" title="required">*</span>` : ''}</td><td>${p.in}</td><td>${typeLabel(p.schema)}</td><td>${prose(p.description)} ${notes(p.schema, p.description)}</td></tr>`);
  return html`<h4>Parameters</h4><table class="fields"><thead><tr><th>name</th><th>in</th><th>type</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function operation(method: string, path: string, op: Operation, docSecurity: unknown[] | undefined, resolve: Resolve): Html {
  const security = op.security ?? docSecurity ?? [];
  return html`<article class="op" id="${opAnchor(method, path)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${path}</code></h3>
<p class="summary">${prose(op.summary)}${security.length > 0 ? html` <span class="lock" title="needs the bearer token when KILN_API_TOKEN is set">token</span>` : ''}</p>
${op.description ? html`<p>${prose(op.description)}</p>` : ''}
${parameters(op)}
${op.requestBody ? requestBody(op.requestBody, resolve) : ''}
${responses(op)}
</article>`;
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2329;background:#fafbfc}
header,main{max-width:1100px;margin:0 auto;padding:0 1.2rem}header{padding-top:1rem}
h1 small{font-weight:normal;color:#667}h2{border-bottom:2px solid #dde;padding-bottom:.2rem;margin-top:2.2rem}
nav ul{columns:2;padding-left:1.2rem}code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f0f2f4;padding:.6rem;overflow:auto;border-radius:4px}
.op{background:#fff;border:1px solid #dde;border-radius:6px;padding:.2rem 1rem .6rem;margin:1rem 0}
.method{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;color:#fff;font-size:.8em;padding:.1em .4em}
.get{background:#2b7bb9}.post{background:#2e8b57}.delete{background:#c0392b}.put,.patch{background:#b9770e}
.status{display:inline-block;min-width:2.6em;font-weight:bold}.s2{color:#2e8b57}.s4{color:#b9770e}.s5{color:#c0392b}
.lock{font-size:.75em;border:1px solid #99a;border-radius:3px;padding:0 .3em;color:#556}
table.fields{border-collapse:collapse;width:100%;margin:.3rem 0}table.fields td,table.fields th{border-top:1px solid #e4e6ea;padding:.25rem .4rem;vertical-align:top;text-align:left}
table.fields table.fields{font-size:.95em}.req{color:#c0392b}.limit{color:#667;font-size:.85em;margin-right:.6em}
.ct{color:#667;font-size:.85em}.media,.resp{margin:.4rem 0}details summary{cursor:pointer;color:#2b7bb9}
`;

/** The whole page. */
export function renderDocsPage(doc: DocsInput): string {
  const ops: { tag: string; method: string; path: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method] as Operation | undefined;
      if (op) ops.push({ tag: op.tags?.[0] ?? 'other', method, path, op });
    }
  }
  const tagNames = [...new Set([...(doc.tags ?? []).map((t) => t.name), ...ops.map((o) => o.tag)])].filter((t) => ops.some((o) => o.tag === t));
  const tagText = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  const schemas = Object.entries(doc.components?.schemas ?? {});
  const named = new Map(schemas);
  const resolve: Resolve = (s) => (typeof s?.$ref === 'string' ? (named.get(refName(s.$ref)) as JsonSchema | undefined) : s);
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${doc.info.title} ${doc.info.version}</title><style>${raw(STYLE)}</style></head>
<body><header><h1>${doc.info.title} <small>${doc.info.version}</small></h1>
${(doc.info.description ?? '').split('\n\n').map((para) => html`<p>${prose(para)}</p>`)}
<p>The machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
<nav><ul>${ops.map((o) => html`<li><a href="#${opAnchor(o.method, o.path)}">${o.method.toUpperCase()} ${o.path}</a> ${prose(o.op.summary)}</li>`)}</ul></nav></header>
<main>
${tagNames.map((tag) => html`<section><h2>${tag}</h2>${tagText.get(tag) ? html`<p>${prose(tagText.get(tag))}</p>` : ''}
${ops.filter((o) => o.tag === tag).map((o) => operation(o.method, o.path, o.op, doc.security, resolve))}</section>`)}
<section id="schemas"><h2>Schemas</h2>
${schemas.map(([name, s]) => html`<article class="op" id="${schemaAnchor(name)}"><h3>${name}</h3>${schemaBlock(s)}</article>`)}
</section></main></body></html>`;
  if (page instanceof Promise) throw new Error('the docs page rendered asynchronously');
  return page.toString();
}
