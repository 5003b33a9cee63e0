/**
 * GET /openapi.json and GET /docs: every route the app serves is in the
 * document (and nothing else is), real answers match their documented schemas,
 * and the page escapes what it shows.
 */
import { createRoute } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { onError } from '../api/errors';
import { API_ERROR_CODES } from '../core/errors';
import { renderDocsPage, type DocsInput } from '../api/openapi/docs-page';
import { buildDocument } from '../api/openapi/document';
import { errorSchema, EXAMPLES } from '../api/openapi/responses';
import { addRoute, createRouter, type Router } from '../api/openapi/router';
import { jobLogsRoute } from '../api/routes/job-logs-spec';
import { healthSchema } from '../api/routes/system-spec';
import { createKeys } from '../core/keys';
import {
  cancelledSchema, jobListSchema, jobSummarySchema, jobViewSchema, submitAcceptedSchema, submitReplaySchema,
} from '../core/schemas/job-view';
import { workersStatusSchema, workerTypesSchema, workerViewSchema } from '../core/schemas/worker-view';
import { createTestApi, type TestApi } from './helpers/api';
import { seedContractRedis } from './helpers/contract-seed';
import { startRedis, type RedisServer } from './helpers/redis-server';

const PREFIX = 'openapi';

/**
 * Routes the app serves that are not API routes and so not in the document:
 * HTML pages (and the dashboard's static assets, when it has some). A route
 * listed here must be served; an API route never belongs here.
 */
const HTML_PAGES = ['GET /docs', 'GET /', 'GET /ui/{file}'];

/** `METHOD /path/{param}` for every route a Hono app serves (middleware left out). */
function servedRoutes(app: Router): string[] {
  const out = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:([^/]+)/g, '{$1}')}`);
  return [...new Set(out)].sort();
}

function documentedRoutes(doc: { paths?: Record<string, object> }): string[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort();
}

const undocumented = (app: Router, doc: { paths?: Record<string, object> }) => {
  const documented = new Set(documentedRoutes(doc));
  return servedRoutes(app).filter((r) => !documented.has(r) && !HTML_PAGES.includes(r));
};

/** A real answer against its documented schema: valid, and no field the schema does not name. */
function expectMatches(schema: z.ZodObject, value: unknown, what: string): void {
  const r = schema.safeParse(value);
  expect(r.success, `${what}: ${r.success ? '' : JSON.stringify(r.error.issues)}`).toBe(true);
  const extra = Object.keys(value as object).filter((k) => !(k in schema.shape));
  expect(extra, `${what}: fields missing from the documented schema`).toEqual([]);
}

let server: RedisServer;
let api: TestApi;
let doc: any;

beforeAll(async () => {
  server = await startRedis();
  await seedContractRedis(server.client(), PREFIX);
  api = createTestApi({ redis: server.client(), prefix: PREFIX });
  doc = (await api.request('GET', '/openapi.json')).body;
});
afterAll(async () => {
  await server?.stop();
});

describe('OpenAPI document (GET /openapi.json)', () => {
  it('documents every route the app serves, and serves every route it documents', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(undocumented(api.app, doc)).toEqual([]);
    const served = new Set(servedRoutes(api.app));
    expect(documentedRoutes(doc).filter((r) => !served.has(r))).toEqual([]);
    // the exclusions are real routes, and stay out of the document
    for (const page of HTML_PAGES) {
      expect(served.has(page), page).toBe(true);
      expect(documentedRoutes(doc)).not.toContain(page);
    }
    expect(documentedRoutes(doc)).toEqual(expect.arrayContaining(['POST /jobs', 'GET /jobs/{id}', 'GET /workers/status', 'GET /health', 'GET /openapi.json']));
  });

  it('fails for a route served without its createRoute', async () => {
    const other = createTestApi({ redis: server.client(), prefix: PREFIX });
    other.app.get('/jobs/:id/extra', (c) => c.text('x'));
    const otherDoc = (await other.request('GET', '/openapi.json')).body;
    expect(undocumented(other.app, otherDoc)).toEqual(['GET /jobs/{id}/extra']);
  });

  it('describes the submit bodies with examples, the parameters, and the error shape on every 4xx/5xx', () => {
    const schemas = doc.components.schemas;
    for (const [path, ref] of [['/jobs/training', 'TrainingRequest'], ['/jobs/inference', 'InferenceRequest'], ['/jobs', 'GenericJobRequest']] as const) {
      const body = doc.paths[path].post.requestBody;
      expect(body.required, path).toBe(true);
      expect(body.content['application/json'].schema.$ref).toBe(`#/components/schemas/${ref}`);
      expect(Object.keys(body.content['application/json'].examples).length, path).toBeGreaterThan(0);
      expect(Object.keys(doc.paths[path].post.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '409', '413', '422', '503']));
    }
    expect(schemas.GenericJobRequest.anyOf.map((s: { $ref: string }) => s.$ref)).toEqual(['#/components/schemas/FunctionRequest', '#/components/schemas/TypedRequest']);
    expect(schemas.TrainingRequest.required).toEqual(['model_type', 'data_path']);
    expect(schemas.TrainingRequest.additionalProperties).toBe(false);
    const list = doc.paths['/jobs'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(list).toEqual(['query:status', 'query:worker_type', 'query:limit', 'query:cursor']);
    expect(doc.paths['/jobs/{id}'].get.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(Object.keys(doc.paths['/jobs/{id}/cancel'].post.responses)).toEqual(expect.arrayContaining(['200', '202', '404', '409']));
    for (const [path, item] of Object.entries<Record<string, { responses: Record<string, any> }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (Number(status) < 400 || path === '/health') continue;
          expect(res.content['application/json'].schema.$ref, `${method} ${path} ${status}`).toBe('#/components/schemas/Error');
        }
      }
    }
    expect(doc.components.securitySchemes.bearerToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/jobs'].post.security).toEqual([{ bearerToken: [] }]);
    expect(doc.paths['/health'].get.security).toEqual([]);
  });

  it('documents error codes from the one closed list (core/errors.ts API_ERROR_CODES)', () => {
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual([...API_ERROR_CODES]);
    const known = new Set<string>(API_ERROR_CODES);
    // a code opens an error answer's description and follows each "; " or " or " before its colon
    const named = new Set<string>();
    for (const item of Object.values<Record<string, { responses: Record<string, { description: string }> }>>(doc.paths)) {
      for (const op of Object.values(item)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          for (const m of res.description.matchAll(/(?:^|; |, | or )([A-Z][A-Z_]{3,})(?=[:,;]| or |$)/g)) named.add(m[1]!);
        }
      }
    }
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((c) => !known.has(c) && !c.startsWith('KILN_'))).toEqual([]);
    expect(Object.keys(EXAMPLES).filter((c) => !known.has(c))).toEqual([]);
  });

  it('writes only listed error codes in the JSON error bodies built by hand', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const known = new Set<string>(API_ERROR_CODES);
    const files = ['api', 'api/routes', 'core', 'spawner'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.ts')).map((f) => join(d, f)))
      // the REST gateway speaks the Upstash protocol: its codes are its own (spawner/redis-gateway-allow-list.ts)
      .filter((f) => !f.includes('redis-gateway'));
    const written = files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\bcode: '([A-Z][A-Z_]+)'/g)].map((m) => `${f}: ${m[1]!}`));
    expect(written.length).toBeGreaterThan(5);
    expect(written.filter((w) => !known.has(w.split(': ')[1]!))).toEqual([]);
  });

  it('writes null where a documented view field may be null', () => {
    const views = [jobViewSchema, jobSummarySchema, workerViewSchema, workersStatusSchema, jobListSchema, submitAcceptedSchema, cancelledSchema];
    for (const view of views) {
      const name = String(view.meta()?.id);
      const props = doc.components.schemas[name].properties as Record<string, { type?: unknown; anyOf?: { type?: string }[] }>;
      for (const [field, schema] of Object.entries(view.shape)) {
        if (!(schema as z.ZodType).safeParse(null).success) continue;
        const p = props[field]!;
        const allowsNull = (Array.isArray(p.type) && p.type.includes('null')) || (p.anyOf ?? []).some((s) => s.type === 'null') || Object.keys(p).every((k) => k === 'description');
        expect(allowsNull, `${name}.${field}: ${JSON.stringify(p)}`).toBe(true);
      }
    }
  });
});

describe('real answers match their documented schemas', () => {
  it('submits, the job view, the list, cancel and the error shape', async () => {
    const key = `k-${crypto.randomUUID()}`;
    const sub = await api.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'iris.csv', hyperparameters: { n: 1 } }, { 'idempotency-key': key });
    expect(sub.status).toBe(202);
    expectMatches(submitAcceptedSchema, sub.body, 'submit 202');
    const replay = await api.request('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'iris.csv', hyperparameters: { n: 1 } }, { 'idempotency-key': key });
    expect(replay.status).toBe(200);
    expectMatches(submitReplaySchema, replay.body, 'submit 200');

    const job = await api.request('GET', `/jobs/${sub.body.job_id}`);
    expectMatches(jobViewSchema, job.body, 'queued job');
    const list = await api.request('GET', '/jobs?limit=5');
    expectMatches(jobListSchema, list.body, 'job list');
    for (const j of list.body.jobs) expectMatches(jobSummarySchema, j, 'listed job');

    const cancel = await api.request('POST', `/jobs/${sub.body.job_id}/cancel`);
    expectMatches(cancelledSchema, cancel.body, 'cancel 200');
    const cancelled = await api.request('GET', `/jobs/${sub.body.job_id}`);
    expect(cancelled.body.error).not.toBeNull();
    expectMatches(jobViewSchema, cancelled.body, 'cancelled job');

    const errors = [
      await api.request('POST', '/jobs/training', { data_path: 'x.csv' }),
      await api.request('POST', '/jobs', '{"function": '),
      await api.request('GET', `/jobs/${crypto.randomUUID()}`),
      await api.request('DELETE', `/jobs/${sub.body.job_id}`),
      await api.request('GET', '/nope'),
    ];
    expect(errors.map((e) => e.status)).toEqual([400, 400, 404, 409, 404]);
    for (const e of errors) {
      expectMatches(errorSchema, e.body, `error ${e.status}`);
      expectMatches(errorSchema.shape.error, e.body.error, `error ${e.status}`);
    }
    expect(errors[0]!.body.error.field).toBe('model_type');
  });

  it('workers, worker types and health', async () => {
    const keys = createKeys(PREFIX);
    const redis = server.client();
    const now = Date.now();
    await redis.sadd(keys.workers(), 'node-openapi1');
    await redis.hset(keys.worker('node-openapi1'), {
      worker_id: 'node-openapi1', worker_type: 'node', process_id: 4242, status: 'idle', created_at: now, last_activity: now,
      job_count: 0, max_jobs: 16, working_directory: '/tmp', host: 'h1', rss_bytes: 50_000_000, last_heartbeat: now,
    });
    await redis.hset(keys.types(), 'sklearn-doc', JSON.stringify({ framework: 'sklearn', version: '1.3.0', gpu: false, host: 'h1' }));
    const status = await api.request('GET', '/workers/status');
    expectMatches(workersStatusSchema, status.body, 'workers status');
    expectMatches(workerViewSchema, status.body.worker_details['node-openapi1'], 'worker in status');
    const one = await api.request('GET', '/workers/node-openapi1');
    expectMatches(workerViewSchema, one.body, 'worker');
    const types = await api.request('GET', '/workers/types');
    expectMatches(workerTypesSchema, { types: { 'sklearn-doc': types.body.types['sklearn-doc'] } }, 'worker types');
    const health = await api.request('GET', '/health');
    expectMatches(healthSchema, health.body, 'health');
  });
});

describe('how a route declares itself', () => {
  it('addRoute serves and documents a route under its mount; the logs route spec is ready for its handler', () => {
    const app = createRouter();
    const jobs = createRouter();
    addRoute(jobs, jobLogsRoute, (c) => c.json({ job_id: c.req.param('id'), lines: [], next_cursor: null }));
    app.route('/jobs', jobs);
    const logsDoc = buildDocument(app) as any;
    expect(servedRoutes(app)).toEqual(['GET /jobs/{id}/logs']);
    const op = logsDoc.paths['/jobs/{id}/logs'].get;
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(['id', 'cursor', 'limit', 'follow']);
    expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
    expect(logsDoc.components.schemas.LogLine.properties.stream.enum).toEqual(['stdout', 'stderr', 'debug', 'info', 'warn', 'error']);
  });

  it("a route validated the library's way (app.openapi) answers the API's error format", async () => {
    const app = createRouter();
    app.onError(onError);
    app.openapi(
      createRoute({ method: 'get', path: '/n', request: { query: z.object({ n: z.coerce.number().int() }) }, responses: { 200: { description: 'n' } } }),
      (c) => c.json({ n: c.req.valid('query').n }, 200),
    );
    expect(await (await app.request('/n?n=3')).json()).toEqual({ n: 3 });
    const bad = await app.request('/n?n=x');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: unknown };
    expectMatches(errorSchema, body, 'hook error');
    expect(body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'n' });
  });
});

describe('docs page (GET /docs)', () => {
  it('shows every operation and schema of the document, loads nothing from elsewhere', async () => {
    const res = await api.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    for (const route of documentedRoutes(doc)) {
      const [method, path] = route.split(' ') as [string, string];
      expect(page, route).toContain(`<span class="method ${method.toLowerCase()}">${method}</span> <code>${path}</code>`);
    }
    for (const name of Object.keys(doc.components.schemas)) expect(page, name).toContain(`id="schema-${name}"`);
    expect(page).toContain('random_forest'); // an example body
    expect(page).toContain('idempotency-key'); // a header parameter
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page).not.toContain('<script');
  });

  it('escapes everything it takes from the document', () => {
    const evil = '<script>alert(1)</script>';
    const page = renderDocsPage({
      info: { title: evil, version: `"><img src=x onerror=alert(1)>`, description: `a \`${evil}\` b` },
      tags: [{ name: evil, description: evil }],
      paths: {
        [`/x/${evil}`]: {
          get: {
            tags: [evil], summary: evil, description: evil,
            parameters: [{ name: evil, in: 'query', description: evil, schema: { type: 'string', pattern: evil, description: evil } }],
            responses: { 200: { description: evil, content: { 'application/json': { schema: { $ref: `#/components/schemas/${evil}` }, example: { [evil]: evil } } } } },
          },
        },
      },
      components: { schemas: { [evil]: { type: 'object', description: evil, properties: { [evil]: { type: 'string', enum: [evil], description: evil } } } } },
    } as DocsInput);
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
