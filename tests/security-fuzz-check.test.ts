/**
 * The fuzz's own judge (tests/fuzz/check.ts): it passes well-formed answers and names
 * what is wrong with the others, so a green fuzz means something.
 */
import { describe, expect, it } from 'vitest';
import { answerProblems, type FuzzAnswer } from './fuzz/check';
import type { FuzzRequest } from './fuzz/http-arb';

const req = (over: Partial<FuzzRequest> = {}): FuzzRequest => ({ route: 'test', method: 'GET', path: '/jobs/x', headers: {}, ...over });
const json = (status: number, body: unknown): FuzzAnswer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('answerProblems', () => {
  it('passes well-formed answers', () => {
    expect(answerProblems(req(), json(200, { ok: true }))).toEqual([]);
    expect(answerProblems(req(), json(404, { error: { code: 'JOB_NOT_FOUND', message: 'no job x' } }))).toEqual([]);
    expect(answerProblems(req(), json(400, { error: { code: 'VALIDATION_ERROR', message: 'bad', field: 'a.b' } }))).toEqual([]);
    expect(answerProblems(req(), json(400, { error: 'ERR bad' }), { errorShapes: () => ['gateway'] })).toEqual([]);
    expect(answerProblems(req(), json(403, { error: 'ERR refused', code: 'COMMAND_REFUSED' }), { errorShapes: () => ['gateway'] })).toEqual([]);
    expect(answerProblems(req({ method: 'HEAD' }), { status: 200, headers: {}, body: '' })).toEqual([]);
    const stream: FuzzAnswer = { status: 200, headers: { 'content-type': 'text/event-stream' }, body: 'event: log\nid: 1-0\ndata: {"a":1}\n\n: ping\ndata: {"b"', cut: true };
    expect(answerProblems(req(), stream, { streams: () => true })).toEqual([]);
  });

  it('names a 5xx, a non-JSON error, and every malformed error body', () => {
    expect(answerProblems(req(), json(503, { error: { code: 'REDIS_UNAVAILABLE', message: 'down' } }))).toEqual(['status 503 (5xx)']);
    expect(answerProblems(req(), { status: 404, headers: { 'content-type': 'text/plain' }, body: '404 Not Found' })[0]).toMatch(/not JSON/);
    expect(answerProblems(req(), { status: 400, headers: {}, body: '' })[0]).toMatch(/not JSON/);
    const malformed = [
      { error: 'text' },
      { error: { code: 'bad_code', message: 'm' } },
      { error: { code: 'X', message: '' } },
      { error: { code: 'X', message: 'm', field: 3 } },
      { error: { code: 'X', message: 'm', stack: 'at …' } },
      { error: { code: 'X', message: 'm' }, detail: 'more' },
      [],
    ];
    for (const body of malformed) expect(answerProblems(req(), json(400, body)), JSON.stringify(body)).toEqual([expect.stringMatching(/^malformed error body/)]);
    expect(answerProblems(req(), json(401, { error: { code: 'UNAUTHORIZED', message: 'm' } }), { errorShapes: () => ['gateway'] })[0]).toMatch(/malformed/);
    expect(answerProblems(req(), json(400, { error: 'ERR x', code: 'lower' }), { errorShapes: () => ['gateway'] })[0]).toMatch(/malformed/);
    expect(answerProblems(req(), json(400, { error: 'ERR x', detail: 'y' }), { errorShapes: () => ['gateway'] })[0]).toMatch(/malformed/);
    expect(answerProblems(req(), { status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":' })).toEqual(['content-type says JSON but the body does not parse']);
  });

  it('names a stream that is not one, and a streaming route that answered something else', () => {
    expect(answerProblems(req(), { status: 200, headers: { 'content-type': 'text/event-stream' }, body: 'hello\n\n' })[0]).toMatch(/is not SSE/);
    expect(answerProblems(req(), { status: 404, headers: { 'content-type': 'text/event-stream' }, body: '' }).join()).toMatch(/event stream with status 404/);
    expect(answerProblems(req(), json(200, { job_id: 'x' }), { streams: () => true })[0]).toMatch(/not text\/event-stream/);
  });

  it('names a token in an answer, unless the request itself put it in its path or body', () => {
    const leak = json(401, { error: { code: 'UNAUTHORIZED', message: 'the token is s3cret-token-value' } });
    expect(answerProblems(req({ headers: { authorization: 'Bearer s3cret-token-value' } }), leak, { secrets: ['s3cret-token-value'] })[0]).toMatch(/carries/);
    expect(answerProblems(req({ path: '/jobs/s3cret-token-value' }), leak, { secrets: ['s3cret-token-value'] })).toEqual([]);
    expect(answerProblems(req(), json(200, { dir: '/tmp/state' }), { internals: ['/tmp/state'] })).toEqual([]);
    expect(answerProblems(req(), json(404, { error: { code: 'X', message: 'see /tmp/state' } }), { internals: ['/tmp/state'] })[0]).toMatch(/carries/);
  });
});
