/**
 * The API's contract, written once and run against every runtime: the Node app
 * (tests/contract.node.test.ts) and the workerd entry (tests/workers/).
 * Only vitest and web-standard APIs here: no Node imports.
 */
import { describe, expect, it } from 'vitest';
import { CONTRACT_CAPPED_TYPE, LOG_JOBS, LOG_T0, MODEL_JOBS } from '../helpers/contract-seed';

export interface ContractClient {
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
}

/** Server-Sent Events of a finished response body. */
export function parseSse(text: string): { event: string; id?: string; data: any }[] {
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
    const id = field('id');
    return { event: field('event') ?? 'message', ...(id !== undefined && { id }), data: JSON.parse(field('data') ?? 'null') };
  });
}

export function defineContractSuite(name: string, client: () => ContractClient): void {
  const req = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => client().request(method, path, body, headers);

  describe(`API contract (${name})`, () => {
    it('POST /jobs/training answers 202 with the chosen worker type', async () => {
      const r = await req('POST', '/jobs/training', { model_type: 'bert', data_path: '/data/train.csv', requires_gpu: false });
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'queued', worker_type: 'pytorch-2.1' });
      expect(typeof r.body.job_id).toBe('string');
      expect(typeof r.body.worker_ensured).toBe('boolean');
      const gpu = await req('POST', '/jobs/training', { model_type: 'resnet', data_path: 'x.csv', requires_gpu: true });
      expect(gpu.body.worker_type).toBe('pytorch-2.1-gpu');
      const sk = await req('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'iris.csv', hyperparameters: { n_estimators: 10 } });
      expect(sk.body.worker_type).toBe('sklearn');
    });

    it('GET /jobs/:id returns the job with its payload', async () => {
      const r = await req('POST', '/jobs/training', { model_type: 'logistic_regression', data_path: 'a.csv', hyperparameters: { C: 0.5 }, priority: 3 });
      const j = await req('GET', `/jobs/${r.body.job_id}`);
      expect(j.status).toBe(200);
      expect(j.body).toMatchObject({
        job_id: r.body.job_id, status: 'queued', worker_type: 'sklearn', kind: 'training', priority: 3, attempts: 0,
        payload: { model_type: 'logistic_regression', data_path: 'a.csv', hyperparameters: { C: 0.5 }, requires_gpu: false },
      });
      expect(new Date(j.body.created_at).getTime()).toBeGreaterThan(0);
    });

    it('POST /jobs/inference and the generic POST /jobs', async () => {
      const inf = await req('POST', '/jobs/inference', { model_type: 'svm', model_path: MODEL_JOBS.sklearn, inputs: [[1, 2]] });
      expect(inf.status).toBe(202);
      expect(inf.body.worker_type).toBe('sklearn');
      const fn = await req('POST', '/jobs', { function: 'echo', input: { a: 1 } });
      expect(fn.status).toBe(202);
      expect(fn.body.worker_type).toBe('node');
      expect((await req('GET', `/jobs/${fn.body.job_id}`)).body).toMatchObject({ kind: 'function', payload: { function: 'echo', input: { a: 1 } } });
      const typed = await req('POST', '/jobs', { worker_type: 'sklearn', payload: { handler: 'mine' } });
      expect(typed.status).toBe(202);
      expect((await req('GET', `/jobs/${typed.body.job_id}`)).body).toMatchObject({ kind: 'generic', worker_type: 'sklearn', payload: { handler: 'mine' } });
    });

    it('POST /jobs/inference: model_path is a training job that succeeded, of the same framework — else a 4xx naming model_path', async () => {
      const ok = await req('POST', '/jobs/inference', { model_type: 'svm', model_path: MODEL_JOBS.sklearn, inputs: [[1, 2]] });
      expect(ok.status, JSON.stringify(ok.body)).toBe(202);
      expect((await req('GET', `/jobs/${ok.body.job_id}`)).body.payload.model_path).toBe(MODEL_JOBS.sklearn);
      const torch = await req('POST', '/jobs/inference', { model_type: 'mlp', model_path: MODEL_JOBS.torch, inputs: [[1, 2]] });
      expect(torch.status, JSON.stringify(torch.body)).toBe(202);
      expect(torch.body.worker_type).toBe('pytorch-2.1');
      const refused = async (body: Record<string, unknown>, status: number, code: string, says: RegExp) => {
        const r = await req('POST', '/jobs/inference', { inputs: [[1, 2]], ...body });
        expect(r.status, JSON.stringify(body)).toBe(status);
        expect(r.body.error, JSON.stringify(body)).toMatchObject({ code, field: 'model_path' });
        expect(r.body.error.message, JSON.stringify(body)).toMatch(says);
      };
      for (const path of [`${MODEL_JOBS.sklearn}/model.pkl`, '/etc/passwd', '../artifacts/x', 'model.pkl', '']) {
        await refused({ model_type: 'svm', model_path: path }, 400, 'VALIDATION_ERROR', /id of the training job/);
      }
      await refused({ model_type: 'svm' }, 400, 'VALIDATION_ERROR', /required: the id of the training job/);
      await refused({ model_type: 'svm', model_path: 'no-such-job' }, 404, 'MODEL_NOT_FOUND', /no job no-such-job.*training job that succeeded/);
      await refused({ model_type: 'svm', model_path: MODEL_JOBS.fn }, 404, 'MODEL_NOT_FOUND', /function job, not a training job/);
      await refused({ model_type: 'svm', model_path: MODEL_JOBS.queued }, 409, 'MODEL_NOT_READY', /still queued; wait until it has succeeded/);
      await refused({ model_type: 'svm', model_path: MODEL_JOBS.failed }, 409, 'MODEL_NOT_READY', /failed, so it made no model/);
      await refused({ model_type: 'svm', model_path: MODEL_JOBS.torch }, 400, 'MODEL_INCOMPATIBLE', /pytorch model .*would run on sklearn/);
      await refused({ model_type: 'bert', model_path: MODEL_JOBS.sklearn }, 400, 'MODEL_INCOMPATIBLE', /sklearn model .*would run on pytorch/);
      await refused({ model_type: 'random_forest', model_path: MODEL_JOBS.sklearn }, 400, 'MODEL_INCOMPATIBLE', /made a svm model, not random_forest/);
      await refused({ model_type: 'svm', model_path: MODEL_JOBS.sklearn, worker_type: 'pytorch-2.1' }, 400, 'MODEL_INCOMPATIBLE', /worker type pytorch-2\.1/);
    });

    it('GET /jobs lists newest first, filters, and pages with a cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await req('POST', '/jobs', { worker_type: 'tensorflow', payload: { i } })).body.job_id);
      const page1 = await req('GET', '/jobs?worker_type=tensorflow&limit=3');
      expect(page1.status).toBe(200);
      expect(page1.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([ids[4], ids[3], ids[2]]);
      expect(page1.body.next_cursor).toBeTruthy();
      const page2 = await req('GET', `/jobs?worker_type=tensorflow&limit=3&cursor=${page1.body.next_cursor}`);
      expect(page2.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([ids[1], ids[0]]);
      const queued = await req('GET', '/jobs?status=queued&limit=500');
      expect(queued.body.jobs.every((j: { status: string }) => j.status === 'queued')).toBe(true);
      expect((await req('GET', '/jobs?status=done')).status).toBe(400);
      expect((await req('GET', '/jobs?limit=0')).status).toBe(400);
    });

    it('validation errors are 400 with code, message and field', async () => {
      const missing = await req('POST', '/jobs/training', { data_path: 'x.csv' });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'model_type' });
      const wrongType = await req('POST', '/jobs/training', { model_type: 'bert', data_path: 'x', requires_gpu: 'yes' });
      expect(wrongType.body.error.field).toBe('requires_gpu');
      const extra = await req('POST', '/jobs/training', { model_type: 'bert', data_path: 'x', colour: 'red' });
      expect(extra.status).toBe(400);
      expect(extra.body.error.message).toContain('colour');
      const badJson = await req('POST', '/jobs/training', '{"model_type": ');
      expect(badJson.status).toBe(400);
      expect(badJson.body.error.code).toBe('INVALID_JSON');
      const notObject = await req('POST', '/jobs', [1, 2]);
      expect(notObject.status).toBe(400);
      const badPriority = await req('POST', '/jobs', { function: 'echo', priority: 1.5 });
      expect(badPriority.body.error.field).toBe('priority');
      const dotdot = await req('POST', '/jobs/training', { model_type: 'svm', data_path: '../etc/passwd' });
      expect(dotdot.status).toBe(400);
      expect(dotdot.body.error).toMatchObject({ code: 'PATH_OUTSIDE_DATA_ROOT', field: 'data_path' });
    });

    it('an unknown model_type lists the known ones; an unknown worker_type is refused', async () => {
      const r = await req('POST', '/jobs/training', { model_type: 'quantum_forest', data_path: 'x.csv' });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('UNKNOWN_MODEL_TYPE');
      expect(r.body.error.message).toContain('random_forest');
      expect(r.body.error.message).toContain('bert');
      const t = await req('POST', '/jobs', { worker_type: 'cobol-85', payload: {} });
      expect(t.status).toBe(400);
      expect(t.body.error).toMatchObject({ code: 'UNKNOWN_WORKER_TYPE', field: 'worker_type' });
      expect(t.body.error.message).toContain('node');
      const override = await req('POST', '/jobs/training', { model_type: 'quantum_forest', data_path: 'x.csv', worker_type: 'sklearn' });
      expect(override.status).toBe(202);
    });

    it('unknown routes are 404 JSON; bodies over 1 MiB are 413', async () => {
      const nf = await req('GET', '/nope');
      expect(nf.status).toBe(404);
      expect(nf.body.error.code).toBe('NOT_FOUND');
      expect((await req('GET', '/jobs/does-not-exist')).status).toBe(404);
      const big = await req('POST', '/jobs', JSON.stringify({ function: 'echo', input: 'x'.repeat(1024 * 1024 + 10) }));
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('cancels a queued job at once; a finished one is 409; its events end with it', async () => {
      const id = (await req('POST', '/jobs', { worker_type: 'tensorflow', payload: { n: 1 } })).body.job_id;
      const c = await req('POST', `/jobs/${id}/cancel`);
      expect(c.status).toBe(200);
      expect(c.body).toMatchObject({ job_id: id, status: 'cancelled' });
      expect((await req('GET', `/jobs/${id}`)).body.status).toBe('cancelled');
      const again = await req('DELETE', `/jobs/${id}`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('JOB_FINISHED');
      const events = await req('GET', `/jobs/${id}/events`);
      expect(events.status).toBe(200);
      expect(events.headers.get('content-type')).toContain('text/event-stream');
      const text = String(events.body);
      expect(text).toContain('"status":"queued"');
      expect(text).toContain('"status":"cancelled"');
      expect(text).toContain('event: end');
      const statuses = parseSse(text).filter((e) => e.event === 'status').map((e) => e.data as { ts: string });
      expect(statuses.length).toBeGreaterThan(1);
      for (const s of statuses) expect(new Date(s.ts).toISOString(), 'an ISO-8601 time, as in the job view').toBe(s.ts);
    });

    it('an Idempotency-Key returns the same job; reused with another body it is 422', async () => {
      const key = `key-${crypto.randomUUID()}`;
      const body = { function: 'echo', input: { n: 1 } };
      const a = await req('POST', '/jobs', body, { 'idempotency-key': key });
      const b = await req('POST', '/jobs', body, { 'idempotency-key': key });
      expect(a.status).toBe(202);
      expect(b.status).toBe(200);
      expect(b.body).toMatchObject({ job_id: a.body.job_id, idempotent_replay: true });
      const c = await req('POST', '/jobs', { ...body, input: { n: 2 } }, { 'idempotency-key': key });
      expect(c.status).toBe(422);
      expect(c.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('?wait=: a job that ends within the wait is 200 with the job (cancelled here, as GET /jobs/:id shows it)', async () => {
      const newestQueued = async () => (await req('GET', '/jobs?worker_type=tensorflow&status=queued&limit=1')).body.jobs[0]?.job_id as string | undefined;
      const before = await newestQueued();
      const waiting = req('POST', '/jobs?wait=20', { worker_type: 'tensorflow', payload: { sync: true } });
      let id: string | undefined;
      for (const until = Date.now() + 10_000; Date.now() < until;) {
        const newest = await newestQueued();
        if (newest !== undefined && newest !== before) {
          id = newest;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(id, 'the waiting submit queued its job').toBeDefined();
      expect((await req('POST', `/jobs/${id}/cancel`)).status).toBe(200);
      const r = await waiting;
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ job_id: id, status: 'cancelled', kind: 'generic', payload: { sync: true } });
      expect(r.body).toEqual((await req('GET', `/jobs/${id}`)).body);
    });

    it('?wait=: a job still queued when the wait runs out is 202 with wait_expired, after the wait, on every submit route', async () => {
      const routes: [string, unknown][] = [
        ['/jobs', { worker_type: 'tensorflow', payload: {} }],
        ['/jobs/training', { model_type: 'random_forest', data_path: 'a.csv' }],
        ['/jobs/inference', { model_type: 'svm', model_path: MODEL_JOBS.sklearn, inputs: [[1, 2]] }],
      ];
      for (const [path, body] of routes) {
        const t0 = Date.now();
        const r = await req('POST', `${path}?wait=0.3`, body);
        expect(r.status, path).toBe(202);
        expect(Date.now() - t0, path).toBeGreaterThanOrEqual(290);
        expect(r.body, path).toMatchObject({ status: 'queued', wait_expired: true });
        expect((await req('GET', `/jobs/${r.body.job_id}`)).body.status).toBe('queued');
      }
      const none = await req('POST', '/jobs?wait=0', { worker_type: 'tensorflow', payload: {} });
      expect(none.status).toBe(202);
      expect(none.body.wait_expired).toBeUndefined();
    });

    it('?wait=: a replayed Idempotency-Key waits for the same job, answered at once when it has ended', async () => {
      const key = `wait-${crypto.randomUUID()}`;
      const body = { worker_type: 'tensorflow', payload: { replay: 1 } };
      const a = await req('POST', '/jobs', body, { 'idempotency-key': key });
      expect(a.status).toBe(202);
      const pending = await req('POST', '/jobs?wait=0.1', body, { 'idempotency-key': key });
      expect(pending.status).toBe(200);
      expect(pending.body).toMatchObject({ job_id: a.body.job_id, idempotent_replay: true, status: 'queued', wait_expired: true });
      await req('POST', `/jobs/${a.body.job_id}/cancel`);
      const t0 = Date.now();
      const done = await req('POST', '/jobs?wait=30', body, { 'idempotency-key': key });
      expect(done.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(done.body).toMatchObject({ job_id: a.body.job_id, status: 'cancelled', payload: { replay: 1 } });
    });

    it('?wait= outside 0-60 s, or not a number, is a 400 naming wait and its bounds; nothing is queued', async () => {
      const capped = { worker_type: CONTRACT_CAPPED_TYPE, payload: {} };
      const count = async () => (await req('GET', `/jobs?worker_type=${CONTRACT_CAPPED_TYPE}&limit=500`)).body.jobs.length as number;
      const before = await count();
      for (const wait of ['-1', '60.5', '61', 'abc', '', 'NaN', 'Infinity', '1e3']) {
        for (const path of ['/jobs', '/jobs/training', '/jobs/inference']) {
          const r = await req('POST', `${path}?wait=${encodeURIComponent(wait)}`, path === '/jobs' ? capped : { model_type: 'svm', model_path: MODEL_JOBS.sklearn, inputs: [[1]] });
          expect(r.status, `${path}?wait=${wait}`).toBe(400);
          expect(r.body.error, wait).toMatchObject({ code: 'VALIDATION_ERROR', field: 'wait' });
          expect(r.body.error.message, wait).toMatch(/0 to 60/);
        }
      }
      expect(await count()).toBe(before);
      const ok = await req('POST', '/jobs?wait=0.05', { worker_type: 'tensorflow', payload: {} });
      expect(ok.status).toBe(202);
    });

    it('quotas: a full queue is 429 with Retry-After; values above a type\'s ceilings or a hyperparameter\'s bounds are 400', async () => {
      const capped = { worker_type: CONTRACT_CAPPED_TYPE, payload: {} };
      const first = await req('POST', '/jobs', capped); // max_queued 1: 202, or 429 when an earlier run left one waiting
      expect([202, 429]).toContain(first.status);
      const full = await req('POST', '/jobs', capped);
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(full.body.error.code).toBe('QUEUE_FULL');
      expect(full.body.error.message).toContain(`"${CONTRACT_CAPPED_TYPE}"`);
      const slow = await req('POST', '/jobs', { ...capped, timeout_s: 61 });
      expect(slow.status).toBe(400);
      expect(slow.body.error).toMatchObject({ code: 'TIMEOUT_ABOVE_CEILING', field: 'timeout_s' });
      const tries = await req('POST', '/jobs', { ...capped, max_attempts: 3 });
      expect(tries.body.error).toMatchObject({ code: 'ATTEMPTS_ABOVE_CEILING', field: 'max_attempts' });
      const hp = await req('POST', '/jobs/training', { model_type: 'random_forest', data_path: 'a.csv', hyperparameters: { n_estimators: 10 ** 6 } });
      expect(hp.status).toBe(400);
      expect(hp.body.error).toMatchObject({ code: 'HYPERPARAMETER_OUT_OF_RANGE', field: 'hyperparameters.n_estimators' });
      expect((await req('GET', '/jobs?status=expired')).status).toBe(200);
    });

    it('GET /jobs/:id/logs returns the kept lines, led by what was cut, and ends with a null cursor', async () => {
      const r = await req('GET', `/jobs/${LOG_JOBS.done}/logs`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        job_id: LOG_JOBS.done,
        lines: [
          { ts: new Date(LOG_T0).toISOString(), stream: 'warn', text: '[kiln] 3 earlier lines were cut (limit: 5,000 lines / 1 MiB per job)' },
          { ts: new Date(LOG_T0).toISOString(), stream: 'stdout', text: 'hello from stdout' },
          { ts: new Date(LOG_T0 + 1000).toISOString(), stream: 'stderr', text: 'a warning on stderr' },
          { ts: new Date(LOG_T0 + 2000).toISOString(), stream: 'info', text: 'step 1/2' },
          { ts: new Date(LOG_T0 + 3000).toISOString(), stream: 'info', text: 'step 2/2' },
          { ts: new Date(LOG_T0 + 4000).toISOString(), stream: 'error', text: 'last line' },
        ],
        next_cursor: null,
      });
    });

    it('GET /jobs/:id/logs pages with limit and cursor; a running job always has a next_cursor', async () => {
      const texts = (b: any) => b.lines.map((l: { text: string }) => l.text);
      const p1 = await req('GET', `/jobs/${LOG_JOBS.done}/logs?limit=2`);
      expect(texts(p1.body)).toEqual([expect.stringContaining('3 earlier lines were cut'), 'hello from stdout']);
      expect(p1.body.next_cursor).toBe(`${LOG_T0}-0`);
      const p2 = await req('GET', `/jobs/${LOG_JOBS.done}/logs?limit=3&cursor=${p1.body.next_cursor}`);
      expect(texts(p2.body)).toEqual(['a warning on stderr', 'step 1/2', 'step 2/2']);
      expect(p2.body.next_cursor).toBe(`${LOG_T0 + 3000}-0`);
      const p3 = await req('GET', `/jobs/${LOG_JOBS.done}/logs?limit=3&cursor=${p2.body.next_cursor}`);
      expect(texts(p3.body)).toEqual(['last line']);
      expect(p3.body.next_cursor).toBeNull();
      const running = await req('GET', `/jobs/${LOG_JOBS.running}/logs`);
      expect(texts(running.body)).toEqual(['still running']);
      expect(running.body.next_cursor).toBe(`${LOG_T0}-0`);
      const later = await req('GET', `/jobs/${LOG_JOBS.running}/logs?cursor=${running.body.next_cursor}`);
      expect(later.body).toEqual({ job_id: LOG_JOBS.running, lines: [], next_cursor: `${LOG_T0}-0` });
    });

    it('GET /jobs/:id/logs?follow=true on a finished job sends the kept lines, then end; Last-Event-ID resumes', async () => {
      const r = await req('GET', `/jobs/${LOG_JOBS.done}/logs?follow=true`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/event-stream');
      const events = parseSse(String(r.body));
      expect(events.map((e) => e.event)).toEqual(['log', 'log', 'log', 'log', 'log', 'log', 'end']);
      expect(events[1]).toEqual({ event: 'log', id: `${LOG_T0}-0`, data: { ts: new Date(LOG_T0).toISOString(), stream: 'stdout', text: 'hello from stdout' } });
      expect(events.at(-1)?.data).toMatchObject({ job_id: LOG_JOBS.done, status: 'succeeded' });
      const resumed = parseSse(String((await req('GET', `/jobs/${LOG_JOBS.done}/logs?follow=true`, undefined, { 'last-event-id': `${LOG_T0 + 2000}-0` })).body));
      expect(resumed.map((e) => e.data.text ?? e.event)).toEqual(['step 2/2', 'last line', 'end']);
    });

    it('GET /jobs/:id/events carries the job\'s log lines', async () => {
      const events = parseSse(String((await req('GET', `/jobs/${LOG_JOBS.done}/events`)).body));
      const logs = events.filter((e) => e.event === 'log');
      expect(logs).toHaveLength(6);
      expect(logs[1]?.data).toEqual({ job_id: LOG_JOBS.done, ts: new Date(LOG_T0).toISOString(), stream: 'stdout', text: 'hello from stdout' });
      expect(events.at(-1)?.event).toBe('end');
    });

    it('GET /jobs/:id/logs: an unknown job is 404, a bad cursor or limit is 400 naming it', async () => {
      const nf = await req('GET', '/jobs/no-such-job/logs');
      expect(nf.status).toBe(404);
      expect(nf.body.error.code).toBe('JOB_NOT_FOUND');
      expect((await req('GET', '/jobs/no-such-job/logs?follow=true')).status).toBe(404);
      for (const [query, field] of [['cursor=abc', 'cursor'], ['limit=0', 'limit'], ['limit=5001', 'limit'], ['follow=maybe', 'follow']]) {
        const r = await req('GET', `/jobs/${LOG_JOBS.done}/logs?${query}`);
        expect(r.status, query).toBe(400);
        expect(r.body.error.field, query).toBe(field);
      }
    });

    it('a job carries progress_metrics; GET /jobs/:id adds metrics_history, lists do not', async () => {
      const queued = await req('POST', '/jobs', { worker_type: 'tensorflow', payload: { metrics: true } });
      const q = await req('GET', `/jobs/${queued.body.job_id}`);
      expect(q.body).toMatchObject({ progress_metrics: null, metrics_history: [] });
      const j = await req('GET', '/jobs/contract-metrics-job');
      expect(j.status).toBe(200);
      expect(j.body.progress_metrics).toEqual({ loss: 0.25, accuracy: 0.875 });
      expect(j.body.metrics_history).toEqual([
        { ts: '2023-11-14T22:13:20.000Z', progress: 0.5, message: 'epoch 1/2', metrics: { loss: 0.5, accuracy: 0.75 } },
        { ts: '2023-11-14T22:13:21.000Z', progress: 1, message: null, metrics: { loss: 0.25, accuracy: 0.875 } },
      ]);
      const listed = (await req('GET', '/jobs?worker_type=sklearn&status=succeeded&limit=500')).body.jobs
        .find((x: { job_id: string }) => x.job_id === 'contract-metrics-job');
      expect(listed.progress_metrics).toEqual({ loss: 0.25, accuracy: 0.875 });
      expect(listed).not.toHaveProperty('metrics_history');
    });

    it('submits need Content-Type: application/json (415 otherwise, naming what to send)', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        for (const path of ['/jobs', '/jobs/training', '/jobs/inference']) {
          const r = await req('POST', path, { function: 'echo' }, { 'content-type': type });
          expect(r.status, `${path} ${type}`).toBe(415);
          expect(r.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', field: 'Content-Type', message: expect.stringContaining('Content-Type: application/json') });
        }
      }
      const charset = await req('POST', '/jobs', { function: 'echo' }, { 'content-type': 'Application/JSON; charset=utf-8' });
      expect(charset.status).toBe(202);
    });

    it('JSON nested deeper than 64 is a 400 JSON_TOO_DEEP; 64 levels are accepted', async () => {
      const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
      const array = await req('POST', '/jobs', `{"function":"echo","input":${nested(4000)}}`);
      expect(array.status).toBe(400);
      expect(array.body.error).toMatchObject({ code: 'JSON_TOO_DEEP', message: expect.stringContaining('64 levels') });
      const just = await req('POST', '/jobs', `{"function":"echo","input":${nested(64)}}`);
      expect(just.status).toBe(400);
      expect(just.body.error.code).toBe('JSON_TOO_DEEP');
      const objects = await req('POST', '/jobs/training', `{"model_type":"svm","data_path":"x.csv","hyperparameters":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}`);
      expect(objects.body.error?.code).toBe('JSON_TOO_DEEP');
      const deepest = await req('POST', '/jobs', `{"function":"echo","input":${nested(63)}}`); // 64 levels with the body's object
      expect(deepest.status).toBe(202);
      // brackets inside strings do not count
      const strings = await req('POST', '/jobs', { function: 'echo', input: { text: '[{'.repeat(5000) + '\\"[' } });
      expect(strings.status).toBe(202);
    });

    it('without KILN_API_TOKEN only loopback Host names are answered (403 HOST_NOT_ALLOWED naming the Host)', async () => {
      for (const host of ['evil.example', 'evil.example:8000', '127.0.0.1.nip.io', '10.0.0.5:8000']) {
        const r = await req('GET', '/jobs', undefined, { host });
        expect(r.status, host).toBe(403);
        expect(r.body.error).toMatchObject({ code: 'HOST_NOT_ALLOWED', message: expect.stringContaining(host) });
        expect(r.body.error.message).toContain('KILN_API_TOKEN');
      }
      expect((await req('POST', '/jobs', { function: 'echo' }, { host: 'evil.example' })).status).toBe(403);
      for (const host of ['localhost', 'localhost:8000', '127.0.0.1:8000', '[::1]:8000', 'app.localhost:8000']) {
        expect((await req('GET', '/health', undefined, { host })).status, host).toBe(200);
      }
    });

    it('GET /jobs lists summaries: no payload or result, strings cut short', async () => {
      const big = 'x'.repeat(300_000);
      const id = (await req('POST', '/jobs', { worker_type: 'tensorflow', payload: { handler: 'big', blob: big } })).body.job_id;
      const small = (await req('POST', '/jobs', { function: 'echo', input: { a: 1 } })).body.job_id;
      const list = await req('GET', '/jobs?limit=500');
      expect(list.status).toBe(200);
      const byId = new Map(list.body.jobs.map((j: { job_id: string }) => [j.job_id, j]));
      const listed = byId.get(id) as Record<string, unknown>;
      expect(listed).toMatchObject({ job_id: id, status: 'queued', worker_type: 'tensorflow', kind: 'generic', attempts: 0, label: null, error: null });
      expect(byId.get(small)).toMatchObject({ label: 'echo()', kind: 'function' });
      for (const j of list.body.jobs) {
        expect(j).not.toHaveProperty('payload');
        expect(j).not.toHaveProperty('result');
        expect(j).not.toHaveProperty('errors');
        expect(j).not.toHaveProperty('metrics_history');
      }
      expect(JSON.stringify(list.body).length).toBeLessThan(list.body.jobs.length * 4096);
      expect((await req('GET', `/jobs/${id}`)).body.payload.blob).toHaveLength(big.length);
      expect((await req('GET', '/jobs?limit=501')).status).toBe(400);
      await req('POST', `/jobs/${id}/cancel`);
      await req('POST', `/jobs/${small}/cancel`);
    });

    it('a finished job\'s events come from its record at once', async () => {
      const events = parseSse(String((await req('GET', `/jobs/${LOG_JOBS.done}/events`)).body));
      expect(events.filter((e) => e.event === 'status').map((e) => e.data.status)).toEqual(['queued', 'running', 'succeeded']);
      expect(events.at(-1)).toMatchObject({ event: 'end', data: { job_id: LOG_JOBS.done, status: 'succeeded' } });
      expect((await req('GET', `/jobs/${LOG_JOBS.done}/events`, undefined, { 'last-event-id': 'yesterday' })).status).toBe(400);
    });

    it('GET /workers/types lists what the spawners registered', async () => {
      const t = await req('GET', '/workers/types');
      expect(t.status).toBe(200);
      expect(Object.keys(t.body.types)).toEqual(expect.arrayContaining(['node', 'sklearn', 'tensorflow']));
    });

    it('GET / serves the dashboard page and its assets, with a strict CSP', async () => {
      const page = await req('GET', '/');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(String(page.body)).toContain('<script type="module" src="/ui/app.js"></script>');
      const js = await req('GET', '/ui/app.js');
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toContain('text/javascript');
      expect(String(js.body)).toContain("from './job-page.js'");
      const css = await req('GET', '/ui/app.css');
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toContain('text/css');
      const missing = await req('GET', '/ui/nope.js');
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
    });

    it('GET /health and GET /workers/status', async () => {
      const h = await req('GET', '/health');
      expect(h.status).toBe(200);
      expect(h.body.redis).toBe('ok');
      const s = await req('GET', '/workers/status');
      expect(s.status).toBe(200);
      expect(s.body).toMatchObject({ total_workers: expect.any(Number), active_workers: expect.any(Number), workers_by_type: expect.any(Object), worker_details: expect.any(Object) });
    });

    it('GET /workers/status explains every registered type: counts, workers, capacity, waiting reason', async () => {
      const id = (await req('POST', '/jobs', { worker_type: 'pytorch-2.1', payload: { status: 'case' } })).body.job_id;
      const queued = (await req('GET', '/jobs?status=queued&worker_type=pytorch-2.1&limit=500')).body.jobs.length;
      const s = await req('GET', '/workers/status');
      expect(s.status).toBe(200);
      expect(Object.keys(s.body.types)).toEqual(expect.arrayContaining(['node', 'sklearn', 'pytorch-2.1', 'pytorch-2.1-gpu', 'tensorflow']));
      for (const t of Object.values(s.body.types) as Record<string, unknown>[]) {
        expect(t).toEqual({
          queued: expect.any(Number), delayed: expect.any(Number), running: expect.any(Number), workers: expect.any(Object),
          capacity: { max_workers: null, max_jobs: null, slots: null, hosts: 0 },
          spare_workers: null, spare_ready: 0,
          waiting_reason: null, warning: null,
        });
      }
      expect(s.body.types['pytorch-2.1'].queued).toBe(queued);
      expect(queued).toBeGreaterThan(0);
      const job = await req('GET', `/jobs/${id}`);
      expect(job.body).toMatchObject({ status: 'queued', waiting_reason: null, timings: { queue_wait_ms: null, run_ms: null, cold_start: null } });
      await req('POST', `/jobs/${id}/cancel`);
    });

    it('GET /openapi.json is an OpenAPI 3.1 document with the submit routes', async () => {
      const r = await req('GET', '/openapi.json');
      expect(r.status).toBe(200);
      expect(r.body.openapi).toMatch(/^3\.1/);
      for (const path of ['/jobs', '/jobs/training', '/jobs/inference']) {
        expect(r.body.paths[path]?.post?.requestBody?.content?.['application/json']?.schema, path).toBeDefined();
      }
      expect(r.body.paths['/jobs/{id}']?.get?.responses?.['200']).toBeDefined();
    });

    it('GET /docs is an HTML page of the document', async () => {
      const r = await req('GET', '/docs');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/html');
      expect(String(r.body)).toMatch(/^<!doctype html>/);
      expect(String(r.body)).toContain('<code>/jobs/training</code>');
    });
  });
  defineBadInputSuite(name, client);
}

/** Malformed requests: every one is a 4xx JSON error with a code and a message, never a 500. */
export const BAD_REQUESTS: [method: string, path: string, body?: unknown, headers?: Record<string, string>][] = [
  ['GET', '/jobs?limit=abc'],
  ['GET', '/jobs?cursor=abc'],
  ['GET', '/jobs?colour=red'],
  ['GET', '/jobs?status='],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x.csv', hyperparameters: 'C=1' }],
  ['POST', '/jobs/training', { model_type: '', data_path: 'x.csv' }],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x\u0000.csv' }],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x.csv', priority: 10_000 }],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x.csv', timeout_s: -1 }],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x.csv', max_attempts: 0 }],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x.csv', backoff: { delay_ms: 'soon' } }],
  ['POST', '/jobs/training', { model_type: 'svm', data_path: 'x.csv', worker_type: 'Bad Type' }],
  ['POST', '/jobs/inference', { model_type: 'svm', model_path: '../../etc/passwd' }],
  ['POST', '/jobs/inference', { model_type: 'svm', inputs: [[1]] }],
  ['POST', '/jobs/inference', { model_type: 'svm', model_path: 'no-such-job' }],
  ['POST', '/jobs/inference', { model_type: 'svm', model_path: 'contract-model-queued' }],
  ['POST', '/jobs', {}],
  ['POST', '/jobs', { function: 'rm -rf /' }],
  ['POST', '/jobs', { function: 'echo', worker_type: 'node', payload: {} }],
  ['POST', '/jobs', 'null'],
  ['POST', '/jobs', '"a string"'],
  ['POST', '/jobs', ''],
  ['POST', '/jobs', { function: 'echo' }, { 'idempotency-key': 'has spaces in it' }],
  ['POST', '/jobs/nope/cancel'],
  ['DELETE', '/jobs/nope'],
  ['GET', '/jobs/nope/events'],
  ['GET', '/jobs/nope/logs'],
  ['GET', '/jobs/nope/logs?follow=true'],
  ['GET', '/jobs/contract-logs-done/logs?cursor=1-2-3'],
  ['GET', '/jobs/contract-logs-done/logs?limit=many'],
  ['GET', '/jobs/contract-logs-done/logs?colour=red'],
  ['GET', '/jobs/contract-logs-done/logs?follow=true', undefined, { 'last-event-id': 'not-a-cursor' }],
  ['GET', '/jobs/contract-logs-done/events', undefined, { 'last-event-id': 'not-an-id' }],
  ['POST', '/jobs', '{"function":"echo"}', { 'content-type': 'text/plain' }],
  ['POST', '/jobs', `[${'['.repeat(5000)}${']'.repeat(5000)}]`],
  ['GET', '/workers/nope'],
  ['PUT', '/jobs'],
  ['POST', '/health'],
];

export function defineBadInputSuite(name: string, client: () => ContractClient): void {
  describe(`bad input (${name})`, () => {
    it('answers every malformed request with a 4xx that names the problem', async () => {
      for (const [method, path, body, headers] of BAD_REQUESTS) {
        const r = await client().request(method, path, body, headers);
        const what = `${method} ${path} ${typeof body === 'string' ? body : JSON.stringify(body ?? '')}`;
        expect(r.status, what).toBeGreaterThanOrEqual(400);
        expect(r.status, what).toBeLessThan(500);
        expect(typeof r.body?.error?.code, what).toBe('string');
        expect(r.body.error.message.length, what).toBeGreaterThan(10);
      }
    });
  });
}
