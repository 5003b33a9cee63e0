/**
 * Dynamic batching in the Python runner: one `run_batch` message, one handler call, one outcome per job.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  hasPython, hasSklearn, hasTorch, keyFile, killRunners, type Msg, removeTemps, RunnerProc, tempDir, writeTabular,
} from './helpers/python-runner';

afterEach(killRunners);
afterAll(removeTemps);

const job = (id: string, payload: unknown, kind = 'generic') => ({ id, kind, type: 'test', payload, attempt: 1, timeout_ms: 60_000 });

describe.skipIf(!hasPython)('python runner: run_batch with user handlers', () => {
  it('calls handle_batch once for the batch; a bad input fails that job alone', async () => {
    const r = new RunnerProc({ KILN_FRAMEWORK: 'fake' });
    await r.ready();
    r.send({ type: 'run_batch', jobs: [job('a', { handler: 'batched', x: 1 }), job('b', { handler: 'batched', x: 'bad' }), job('c', { handler: 'batched', x: 3 })] });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => r.outcome(id)));
    expect(a).toMatchObject({ type: 'result', result: { doubled: 2, batch_size: 3 } });
    expect(c).toMatchObject({ type: 'result', result: { doubled: 6, batch_size: 3 } });
    expect(b).toMatchObject({ type: 'error', error: { exception: 'ValueError', message: "x must be a number, not 'bad'" } });
    // the batch ctx's log reaches every job of the batch
    for (const id of ['a', 'b', 'c']) expect(r.messages).toContainEqual(expect.objectContaining({ type: 'log', job_id: id, message: 'batch of 3' }));
    // the runner is free again: a plain run works
    expect((await r.call('d', { handler: 'echo', v: 1 })).type).toBe('result');
  });

  it('calls handle per job for a module without handle_batch, and fails a job whose handler cannot be found alone', async () => {
    const r = new RunnerProc({ KILN_FRAMEWORK: 'fake' });
    await r.ready();
    r.send({ type: 'run_batch', jobs: [job('e1', { handler: 'echo', v: 1 }), job('e2', { handler: 'no_such_module' }), job('e3', { handler: 'echo', v: 3 })] });
    const [e1, e2, e3] = await Promise.all(['e1', 'e2', 'e3'].map((id) => r.outcome(id)));
    expect(e1!.type).toBe('result');
    expect(e3!.type).toBe('result');
    expect(e2).toMatchObject({ type: 'error', error: { retryable: false, message: expect.stringContaining('not found') } });
  });
});

/** Trains a model, runs each payload alone, then all as one batch: same results (batch_size aside); a bad input fails alone. */
async function batchMatchesSingle(framework: string, training: Msg, probabilities: boolean): Promise<void> {
  const base = tempDir('kiln-batch-');
  const data = join(base, 'data');
  const artifacts = join(base, 'artifacts');
  mkdirSync(data);
  mkdirSync(artifacts);
  writeTabular(data);
  const r = new RunnerProc({ KILN_FRAMEWORK: framework, KILN_DATA_ROOT: data, KILN_ARTIFACT_ROOT: artifacts, KILN_ARTIFACT_KEY_FILE: keyFile(base) });
  await r.ready();
  const trained = await r.call('m', training, 'training', 30_000);
  expect(trained.type, JSON.stringify(trained.error)).toBe('result');
  const payloads: Msg[] = [
    { model_path: 'm', inputs: [[0.9, 0.5, 0, 0], [-0.9, -0.5, 0, 0]], return_probabilities: probabilities },
    { model_path: 'm', inputs: [[1, 2, 3]] }, // 3 values for 4 features: this job alone fails
    { model_path: 'm', inputs: { f1: 0.2, f2: -0.7, f3: 0.1, f4: 0 } },
    { model_path: 'm', inputs: [[0.1, 0.1, 0.1, 0.1], [0.3, -0.2, 0, 1], [-1, 1, 0, 0]] },
  ];
  const single: Msg[] = [];
  for (const [i, p] of payloads.entries()) single.push(await r.call(`s${i}`, p, 'inference'));
  r.send({ type: 'run_batch', jobs: payloads.map((p, i) => job(`b${i}`, p, 'inference')) });
  const batched = await Promise.all(payloads.map((_, i) => r.outcome(`b${i}`)));
  expect(batched[1]).toMatchObject({ type: 'error', error: { type: single[1]!.error.type, message: single[1]!.error.message } });
  for (const i of [0, 2, 3]) {
    expect(batched[i]!.type).toBe('result');
    const { batch_size, model_cached, model_load_ms, ...rest } = batched[i]!.result as Msg;
    const { model_cached: _c, model_load_ms: _l, ...alone } = single[i]!.result as Msg;
    expect(batch_size).toBe(4);
    expect(model_cached).toBe(true);
    expect(rest).toEqual(alone);
  }
}

describe.skipIf(!hasSklearn)('python runner: sklearn inference batches', () => {
  it('predicts a batch in one call with the same results as job by job; a bad input fails alone', async () => {
    await batchMatchesSingle('sklearn', { model_type: 'logistic_regression', data_path: 'train.csv' }, true);
  });
});

describe.skipIf(!hasTorch)('python runner: pytorch inference batches', () => {
  it('runs one forward pass for a batch with the same predictions as job by job; a bad input fails alone', async () => {
    await batchMatchesSingle('pytorch', { model_type: 'mlp', data_path: 'train.csv', hyperparameters: { epochs: 2, batch_size: 16, learning_rate: 0.01 } }, false);
  }, 30_000);
});
