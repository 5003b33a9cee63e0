/**
 * The routes to fuzz, read from the app itself (`app.routes`, as tests/openapi.test.ts
 * does), so a new route is fuzzed without touching the fuzz; where GET /openapi.json
 * documents a route, its body, query and path parameters drive the generators.
 */
import fc from 'fast-check';
import { anyJson, deepNesting, hostileValue, type JsonTree, mutateObject, nastyString, render } from './json-tree';
import { headersArb, METHODS, paramArb, printable, queryArb, unknownPathArb, type FuzzRequest } from './http-arb';
import { type JsonSchema, schemaArb } from './schema-arb';

export interface RouteSpec {
  method: string;
  /** Hono path, e.g. `/jobs/:id/logs`. */
  path: string;
  body?: JsonSchema;
  query: Record<string, JsonSchema>;
}

interface OpenApiDoc {
  paths?: Record<string, Record<string, { parameters?: { name: string; in: string; schema?: JsonSchema }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** `METHOD path` of every route a Hono app serves (middleware left out), with what the document says of it. */
export function routeSpecs(app: { routes: readonly { method: string; path: string }[] }, doc: OpenApiDoc = {}): RouteSpec[] {
  const seen = new Set<string>();
  const out: RouteSpec[] = [];
  for (const r of app.routes) {
    if (r.method === 'ALL' || seen.has(`${r.method} ${r.path}`)) continue;
    seen.add(`${r.method} ${r.path}`);
    const op = doc.paths?.[r.path.replace(/:([^/{]+)(\{[^}]*\})?/g, '{$1}')]?.[r.method.toLowerCase()];
    const query: Record<string, JsonSchema> = {};
    for (const p of op?.parameters ?? []) if (p.in === 'query') query[p.name] = p.schema ?? {};
    const body = op?.requestBody?.content?.['application/json']?.schema;
    out.push({ method: r.method, path: r.path, query, ...(body && { body }) });
  }
  return out;
}

export interface RequestArbOptions {
  routes: RouteSpec[];
  /** Components of the OpenAPI document ($ref targets). */
  components?: Record<string, JsonSchema>;
  /** Good values per path parameter name (ids that exist, asset names). */
  known: Record<string, readonly string[]>;
  /** Good values per body field name (model types, worker types, function names). */
  hints?: Record<string, readonly string[]>;
  /** Query parameters of routes without a document (the spawner's). */
  extraQuery?: Record<string, fc.Arbitrary<string>>;
  goodAuth: readonly string[];
  /** Largest body to send; long strings stay below it. */
  maxBodyChars: number;
  /** Deepest nesting to send (see MAX_DEEP_NESTING). */
  maxDepth?: number;
  /** In-process targets only: Content-Length / Transfer-Encoding headers on GET and HEAD (issue #9 item 8 on workerd). */
  framingWithoutBody: boolean;
  /** Real HTTP only: GET, HEAD and DELETE may carry a body. */
  bodyOnAnyMethod?: boolean;
}

/** Bodies that are not JSON, or JSON of the wrong shape. */
const NOT_JSON = ['', ' ', 'null', '[]', '"text"', '0', 'true', '{', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', '\ufeff{}', '{}garbage', 'a=1&b=2', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'] as const;

export function requestArb(opts: RequestArbOptions): fc.Arbitrary<FuzzRequest> {
  const hostile = hostileValue({ maxString: Math.floor(opts.maxBodyChars / 2), ...(opts.maxDepth !== undefined && { maxDepth: opts.maxDepth }) });
  // a field of any type (a job's input or payload) sometimes nests deep: that reaches the code behind validation
  const anyValue = fc.oneof({ weight: 8, arbitrary: anyJson }, { weight: 1, arbitrary: deepNesting(opts.maxDepth) });
  const schemaOpts = { components: opts.components ?? {}, hints: opts.hints ?? {}, anyValue };
  const bodyFor = (spec: RouteSpec): fc.Arbitrary<string> => {
    const valid = spec.body ? schemaArb(spec.body, schemaOpts) : fc.constant({ t: 'obj', entries: [] } as JsonTree);
    return fc.oneof(
      { weight: 5, arbitrary: valid.map(render) },
      { weight: 4, arbitrary: valid.chain((t) => mutateObject(t, hostile)).map(render) },
      { weight: 2, arbitrary: hostile.map(render) },
      { weight: 1, arbitrary: deepNesting(opts.maxDepth).map(render) },
      { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...NOT_JSON), nastyString) },
    );
  };

  // Built once: arbitraries are costly to construct (regexes, unicode tables), cheap to draw from.
  const headers = {
    withBody: headersArb({ goodAuth: opts.goodAuth, hasBody: true, framingWithoutBody: opts.framingWithoutBody }),
    withoutBody: headersArb({ goodAuth: opts.goodAuth, hasBody: false, framingWithoutBody: opts.framingWithoutBody }),
  };
  const mayHaveBody = (m: string) => opts.bodyOnAnyMethod || (m !== 'GET' && m !== 'HEAD');

  const forRoute = (spec: RouteSpec): fc.Arbitrary<FuzzRequest> => {
    const segments = spec.path.split('/').map((seg) => {
      const m = /^:([^{]+)/.exec(seg);
      return m ? paramArb(opts.known[m[1]!] ?? []) : fc.constant(seg);
    });
    const queryParams: Record<string, fc.Arbitrary<string>> = { ...opts.extraQuery };
    for (const [name, schema] of Object.entries(spec.query)) queryParams[name] = schemaArb(schema, schemaOpts).map((t) => (t.t === 'raw' && t.text.startsWith('"') ? (JSON.parse(t.text) as string) : render(t)));
    // HEAD is GET without a body: a streaming GET route must not leave its stream running for it
    const method = fc.oneof(
      { weight: 8, arbitrary: fc.constant(spec.method) },
      { weight: spec.method === 'GET' ? 2 : 0, arbitrary: fc.constant('HEAD') },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    );
    const tail = fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/.', '/..') });
    const body = fc.option(bodyFor(spec), { freq: spec.body ? 12 : 3 });
    return fc.record({ m: method, segs: fc.tuple(...segments), query: queryArb(queryParams), tail, body, withBody: headers.withBody, withoutBody: headers.withoutBody })
      .map(({ m, segs, query, tail: t, body: b, withBody, withoutBody }) => {
        const send = b !== null && mayHaveBody(m) && (spec.body !== undefined || (m !== 'GET' && m !== 'HEAD')) ? b : undefined;
        return printable({ route: `${spec.method} ${spec.path}`, method: m, path: `${segs.join('/')}${t}${query}`, headers: send === undefined ? withoutBody : withBody, ...(send !== undefined && { body: send }) });
      });
  };

  const unknown = fc
    .record({ m: fc.constantFrom(...METHODS), path: unknownPathArb, body: fc.option(fc.oneof(fc.constantFrom(...NOT_JSON), hostile.map(render)), { freq: 2 }), withBody: headers.withBody, withoutBody: headers.withoutBody })
    .map(({ m, path, body, withBody, withoutBody }) => {
      const send = body !== null && mayHaveBody(m) ? body : undefined;
      return printable({ route: 'unknown path', method: m, path, headers: send === undefined ? withoutBody : withBody, ...(send !== undefined && { body: send }) });
    });

  return fc.oneof({ weight: 12, arbitrary: fc.oneof(...opts.routes.map(forRoute)) }, { weight: 1, arbitrary: unknown });
}
