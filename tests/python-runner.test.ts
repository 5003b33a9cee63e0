/**
 * The Python runner on its own: spawn `python -u -m kiln_runner` and speak its
 * JSON-lines protocol directly. Real interpreter, real sklearn/torch when present.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES, HANDLERS, hasPython, hasSklearn, hasTensorflow, hasTorch, keyFile, killRunners, type Msg, PYTHON, removeTemps,
  RunnerProc, tempDir, writeTabular,
} from './helpers/python-runner';

afterEach(killRunners);
afterAll(removeTemps);

describe.skipIf(!hasPython)('python runner protocol (fake framework)', () => {
  const fake = (env: Record<string, string> = {}) => new RunnerProc({ KILN_FRAMEWORK: 'fake', ...env });

  it('reports ready with the framework, its version, python, cuda and gpus', async () => {
    const r = fake();
    const ready = await r.ready();
    expect(ready).toMatchObject({ type: 'ready', framework: 'fake', version: '0.1.0', cuda: false, gpus: 0, pid: r.proc.pid });
    expect(ready.python).toMatch(/^3\.\d+\.\d+/);
  });

  it('sends print() as the job\'s output, keeps writes to fd 1 off the protocol, and forwards progress and logs', async () => {
    const r = fake();
    await r.ready();
    r.run('p1', { handler: 'progress', steps: 4 });
    const outcome = await r.outcome('p1');
    expect(outcome).toEqual({ type: 'result', job_id: 'p1', result: { steps: 4 } });
    const progress = r.messages.filter((m) => m.type === 'progress' && m.job_id === 'p1');
    expect(progress.map((m) => [m.progress, m.message])).toEqual([[0.25, 'step 1/4'], [0.5, 'step 2/4'], [0.75, 'step 3/4'], [1, 'step 4/4']]);
    expect(r.messages).toContainEqual({ type: 'log', job_id: 'p1', level: 'warn', message: 'halfway there' });
    expect(r.messages).toContainEqual({ type: 'log', job_id: 'p1', stream: 'stdout', message: 'print() from a handler' });
    expect(r.messages).toContainEqual({ type: 'log', job_id: 'p1', stream: 'stdout', message: 'sys.stdout.write from a handler' });
    for (const line of r.rawLines) expect(() => JSON.parse(line)).not.toThrow();
    await expect.poll(() => r.stderr).toContain('raw write to fd 1 from a handler');
    expect(r.stderr).not.toContain('print() from a handler');
  });

  it('reports handler errors with type, traceback and whether a retry can help', async () => {
    const r = fake();
    await r.ready();
    r.run('f1', { handler: 'fail', retryable: true });
    const transient = await r.outcome('f1');
    expect(transient.error).toMatchObject({ type: 'handler_error', exception: 'ValueError', message: 'transient failure from the fixture', retryable: true });
    expect(transient.error.traceback).toContain('fail.py');
    r.run('f2', { handler: 'fail', retryable: false });
    expect((await r.outcome('f2')).error).toMatchObject({ type: 'handler_error', exception: 'NonRetryableError', retryable: false });
  });

  it('runs the fake framework built-in when no handler is named', async () => {
    const r = fake();
    await r.ready();
    r.run('b1', { hello: 'world' }, 'training');
    expect((await r.outcome('b1')).result).toEqual({ echo: { hello: 'world' }, kind: 'training', attempt: 1 });
  });

  it('refuses handler names that are not plain identifiers or not in the handlers folder', async () => {
    const r = fake();
    await r.ready();
    const names = ['../fixtures/fake_framework/handlers/echo', 'os.path', '/etc/passwd', 'no_such_handler'];
    for (const [i, name] of names.entries()) {
      const { error } = await r.call(`h${i}`, { handler: name });
      expect(error.retryable, name).toBe(false);
      expect(error.message, name).toMatch(name === 'no_such_handler' ? /not found/ : /plain Python identifier/);
    }
  });

  it('lets a handler see a cancel, and stays usable afterwards', async () => {
    const r = fake();
    await r.ready();
    r.run('c1', { handler: 'cooperative', seconds: 30 });
    await r.waitFor((m) => m.type === 'progress' && m.job_id === 'c1', 'the cooperative handler to start');
    r.send({ type: 'cancel', job_id: 'other-job' }); // ignored: not the running job
    r.send({ type: 'cancel', job_id: 'c1' });
    const { error } = await r.outcome('c1');
    expect(error).toMatchObject({ type: 'cancelled', retryable: false });
    r.run('c2', { handler: 'echo', n: 1 });
    expect((await r.outcome('c2')).result).toEqual({ echo: { handler: 'echo', n: 1 }, job_id: 'c2' });
  });

  it('answers a second run while busy with a retryable error and ignores malformed input', async () => {
    const r = fake();
    await r.ready();
    r.run('busy1', { handler: 'cooperative', seconds: 30 });
    r.proc.stdin.write('this is not json\n');
    r.run('busy2', { handler: 'echo' });
    expect((await r.outcome('busy2')).error).toMatchObject({ type: 'runner_busy', retryable: true });
    await r.waitFor((m) => m.type === 'log' && /malformed/.test(m.message), 'a log about the malformed line');
    r.send({ type: 'cancel', job_id: 'busy1' });
    await r.outcome('busy1');
  });

  it('fails a job whose run message nests deeper than 64 once, non-retryable, and goes on', async () => {
    const r = fake();
    await r.ready();
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    // 2,000 levels: json.loads would raise RecursionError and end the runner
    r.proc.stdin.write(`{"type":"run","job":{"id":"deep1","kind":"generic","type":"test","payload":{"handler":"echo","x":${deep(2000)}},"attempt":1,"timeout_ms":60000}}\n`);
    expect((await r.outcome('deep1')).error).toMatchObject({ type: 'payload_too_deep', retryable: false, message: expect.stringContaining('64 levels') });
    // 62 in the payload (64 with the message and job objects) is fine
    expect((await r.call('deep2', { handler: 'echo', x: JSON.parse(deep(61)) })).type).toBe('result');
    // a deep line that is no run message is logged and ignored
    r.proc.stdin.write(`${deep(5000)}\n`);
    await r.waitFor((m) => m.type === 'log' && /64 levels/.test(m.message), 'a log about the deep line');
    expect((await r.call('deep3', { handler: 'echo' })).result).toMatchObject({ job_id: 'deep3' });
    expect(r.messages.filter((m) => m.job_id === 'deep1')).toHaveLength(1);
    expect(r.proc.exitCode).toBeNull();
  });

  it('exits with code 0 when stdin closes, and on shutdown', async () => {
    const a = fake();
    await a.ready();
    a.proc.stdin.end();
    expect(await a.exited).toEqual({ code: 0, signal: null });
    const b = fake();
    await b.ready();
    b.send({ type: 'shutdown' });
    expect(await b.exited).toEqual({ code: 0, signal: null });
  });

  it('refuses data paths outside the data root: "..", absolute paths and symlinks', async () => {
    const base = tempDir('kiln-sandbox-');
    const data = join(base, 'data');
    const outside = join(base, 'outside');
    mkdirSync(join(data, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(data, 'sub', 'ok.txt'), 'inside');
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(outside, join(data, 'escape'));
    symlinkSync(join(outside, 'secret.txt'), join(data, 'secret-link.txt'));
    const r = fake({ KILN_DATA_ROOT: data });
    await r.ready();
    expect((await r.call('ok-rel', { handler: 'read_data', path: 'sub/ok.txt' })).result.text).toBe('inside');
    expect((await r.call('ok-abs', { handler: 'read_data', path: join(data, 'sub', '..', 'sub', 'ok.txt') })).result.text).toBe('inside');
    const refused = ['../outside/secret.txt', join(outside, 'secret.txt'), 'escape/secret.txt', 'secret-link.txt', 'sub/../../outside/secret.txt'];
    for (const [i, path] of refused.entries()) {
      const { error } = await r.call(`bad${i}`, { handler: 'read_data', path });
      expect(error, path).toMatchObject({ type: 'handler_error', exception: 'SandboxError', retryable: false });
      expect(error.message, path).toContain(path);
      expect(error.message, path).toContain(`outside the data root ${data}`);
    }
  });
});

describe.skipIf(!hasPython)('python runner start failures', () => {
  it.skipIf(hasTensorflow)('reports FRAMEWORK_MISSING with what to install, then exits 3', async () => {
    const r = new RunnerProc({ KILN_FRAMEWORK: 'tensorflow' });
    const fatal = await r.ready();
    expect(fatal).toMatchObject({ type: 'fatal', code: 'FRAMEWORK_MISSING' });
    expect(fatal.message).toContain(`tensorflow is not installed for ${PYTHON}`);
    expect(fatal.message).toContain('ModuleNotFoundError');
    expect(fatal.message).toContain('pip install tensorflow');
    expect((await r.exited).code).toBe(3);
  });

  it('reports a framework whose import crashes, and an unknown framework', async () => {
    const broken = new RunnerProc({ KILN_FRAMEWORK: 'fake', KILN_FAKE_MODULE: 'kiln_fake_broken' });
    expect(await broken.ready()).toMatchObject({ type: 'fatal', code: 'FRAMEWORK_IMPORT_FAILED', message: expect.stringContaining('CUDA driver version') });
    expect((await broken.exited).code).toBe(3);
    const unknown = new RunnerProc({ KILN_FRAMEWORK: 'caffe' });
    expect(await unknown.ready()).toMatchObject({ type: 'fatal', code: 'UNKNOWN_FRAMEWORK' });
    expect((await unknown.exited).code).toBe(2);
  });
});


describe.skipIf(!hasSklearn)('python runner: scikit-learn built-ins', () => {
  let r: RunnerProc;
  let data: string;
  let artifacts: string;
  let base: string;
  beforeAll(() => {
    base = tempDir('kiln-sklearn-');
    data = join(base, 'data');
    artifacts = join(base, 'artifacts');
    mkdirSync(data);
    mkdirSync(artifacts);
    writeTabular(data);
  });
  const start = async () => {
    r = new RunnerProc({ KILN_FRAMEWORK: 'sklearn', KILN_DATA_ROOT: data, KILN_ARTIFACT_ROOT: artifacts, KILN_ARTIFACT_KEY_FILE: keyFile(base) });
    expect(await r.ready()).toMatchObject({ type: 'ready', framework: 'sklearn', version: expect.stringMatching(/^\d+\.\d+/) });
  };
  const train = async (id: string, payload: Msg) => {
    r.run(id, payload, 'training');
    const outcome = await r.outcome(id, 30_000);
    if (outcome.type !== 'result') throw new Error(`${id} failed: ${JSON.stringify(outcome.error)}`);
    return outcome.result as Msg;
  };

  it('trains logistic_regression, random_forest and kmeans, then predicts with them by job id', async () => {
    await start();
    const lr = await train('lr1', { model_type: 'logistic_regression', data_path: 'train.csv', hyperparameters: { C: 2, not_a_param: 1 } });
    expect(lr).toMatchObject({ task: 'classification', features: ['f1', 'f2', 'f3', 'f4'], target: 'label', classes: ['no', 'yes'], n_train: 160, n_test: 40 });
    expect(lr.metrics.accuracy).toBeGreaterThan(0.85);
    expect(lr.metrics.f1).toBeGreaterThan(0.85);
    expect(lr.artifact_path).toBe(join(artifacts, 'lr1', 'model.pkl'));
    expect(existsSync(lr.artifact_path)).toBe(true);
    const meta = JSON.parse(readFileSync(join(artifacts, 'lr1', 'meta.json'), 'utf8')) as Msg;
    expect(meta).toMatchObject({ model_type: 'logistic_regression', framework: 'sklearn', features: ['f1', 'f2', 'f3', 'f4'], target: 'label' });
    expect(r.messages).toContainEqual(expect.objectContaining({ type: 'log', job_id: 'lr1', level: 'warn', message: expect.stringContaining('not_a_param') }));
    const phases = r.messages.filter((m) => m.type === 'progress' && m.job_id === 'lr1').map((m) => m.progress as number);
    expect(phases.length).toBeGreaterThanOrEqual(4);
    expect(phases.at(-1)).toBe(1);

    const rf = await train('rf1', { model_type: 'random_forest', data_path: join(data, 'train.csv'), hyperparameters: { n_estimators: 25, max_depth: 5 } });
    expect(rf.metrics.accuracy).toBeGreaterThan(0.75);
    expect(rf.estimator).toBe('RandomForestClassifier');

    const km = await train('km1', { model_type: 'kmeans', data_path: 'train.csv', hyperparameters: { n_clusters: 3, features: ['f1', 'f2', 'f3', 'f4'] } });
    expect(km.task).toBe('clustering');
    expect(km.metrics.inertia).toBeGreaterThan(0);
    expect(km.metrics.silhouette).toBeGreaterThan(-1);
    expect(km.metrics.silhouette).toBeLessThanOrEqual(1);

    r.run('inf1', { model_type: 'random_forest', model_path: 'rf1', inputs: [[0.9, 0.5, 0, 0], { f1: -0.9, f2: -0.5, f3: 0, f4: 0 }] }, 'inference');
    expect((await r.outcome('inf1')).result).toMatchObject({ predictions: ['yes', 'no'], n: 2 });
    r.run('inf2', { model_path: 'lr1', data_path: 'train.csv', return_probabilities: true }, 'inference');
    const all = (await r.outcome('inf2')).result as Msg;
    expect(all.predictions).toHaveLength(200);
    expect(all.probabilities[0]).toHaveLength(2);
    r.run('inf3', { model_path: 'km1', inputs: [[0, 0, 0, 0]] }, 'inference');
    expect((await r.outcome('inf3')).result.predictions[0]).toBeGreaterThanOrEqual(0);
  });

  it('trains linear_regression with r2/mae and rejects bad training input as non-retryable', async () => {
    await start();
    const reg = await train('reg1', { model_type: 'linear_regression', data_path: 'reg.csv' });
    expect(reg.task).toBe('regression');
    expect(reg.metrics.r2).toBeGreaterThan(0.95);
    expect(reg.metrics.mae).toBeLessThan(0.2);
    const bad: [string, Msg, RegExp][] = [
      ['b1', { model_type: 'svm', data_path: '../outside.csv' }, /outside the data root/],
      ['b2', { model_type: 'svm', data_path: 'missing.csv' }, /missing\.csv/],
      ['b3', { model_type: 'no_such_model', data_path: 'train.csv' }, /unknown scikit-learn model_type/],
      ['b4', { model_type: 'svm', data_path: 'train.csv', hyperparameters: { target: 'nope' } }, /target column 'nope'/],
      ['b5', { model_path: '../../etc', inputs: [[1, 2, 3, 4]] }, /is not a job id: pass the id of the training job/],
      ['b7', { model_path: 'lr1/model.pkl', inputs: [[1, 2, 3, 4]] }, /is not a job id/],
      ['b6', { model_path: 'reg1', inputs: [[1, 2]] }, /list of 4 values/],
    ];
    for (const [id, payload, pattern] of bad) {
      const { error } = await r.call(id, payload, ['b5', 'b6', 'b7'].includes(id) ? 'inference' : 'training');
      expect(error.retryable, id).toBe(false);
      expect(error.message, id).toMatch(pattern);
    }
  });
});

describe.skipIf(!hasTorch)('python runner: PyTorch built-ins', () => {
  it('trains an MLP and a transformer for 2 epochs, then predicts with both', async () => {
    const base = tempDir('kiln-torch-');
    const data = join(base, 'data');
    const artifacts = join(base, 'artifacts');
    mkdirSync(data);
    mkdirSync(artifacts);
    writeTabular(data);
    const r = new RunnerProc({ KILN_FRAMEWORK: 'pytorch', KILN_DATA_ROOT: data, KILN_ARTIFACT_ROOT: artifacts, KILN_ARTIFACT_KEY_FILE: keyFile(base) });
    expect(await r.ready()).toMatchObject({ type: 'ready', framework: 'pytorch', cuda: expect.any(Boolean), gpus: expect.any(Number) });
    const hyperparameters = { epochs: 2, batch_size: 16, learning_rate: 0.01 };
    r.run('mlp1', { model_type: 'mlp', data_path: 'train.csv', hyperparameters }, 'training');
    const mlp = await r.outcome('mlp1', 30_000);
    expect(mlp.type, JSON.stringify(mlp.error)).toBe('result');
    expect(mlp.result).toMatchObject({ arch: 'mlp', task: 'classification', epochs: 2, classes: ['no', 'yes'] });
    expect(mlp.result.history).toHaveLength(2);
    expect(existsSync(join(artifacts, 'mlp1', 'model.pt'))).toBe(true);
    const meta = JSON.parse(readFileSync(join(artifacts, 'mlp1', 'meta.json'), 'utf8')) as Msg;
    expect(meta.arch).toMatchObject({ arch: 'mlp', n_features: 4, n_outputs: 2 });
    const epochs = r.messages.filter((m) => m.type === 'progress' && m.job_id === 'mlp1' && /^epoch/.test(m.message));
    expect(epochs.map((m) => m.message)).toEqual([expect.stringMatching(/^epoch 1\/2 loss=\d/), expect.stringMatching(/^epoch 2\/2 loss=\d/)]);

    r.run('bert1', { model_type: 'bert', data_path: 'train.csv', hyperparameters }, 'training');
    const bert = await r.outcome('bert1', 30_000);
    expect(bert.type, JSON.stringify(bert.error)).toBe('result');
    expect(bert.result.arch).toBe('transformer');

    r.run('i1', { model_path: 'mlp1', inputs: [[0.9, 0.5, 0, 0], [-0.9, -0.5, 0, 0]], return_probabilities: true }, 'inference');
    const inf = (await r.outcome('i1')).result as Msg;
    expect(inf.predictions).toHaveLength(2);
    for (const p of inf.predictions) expect(['yes', 'no']).toContain(p);
    expect(inf.probabilities[0][0] + inf.probabilities[0][1]).toBeCloseTo(1, 5);
    r.run('i2', { model_type: 'bert', model_path: 'bert1', data_path: 'train.csv' }, 'inference');
    expect((await r.outcome('i2')).result.predictions).toHaveLength(200);
    r.run('i3', { model_type: 'mlp', model_path: 'bert1', inputs: [[0, 0, 0, 0]] }, 'inference');
    expect((await r.outcome('i3')).error).toMatchObject({ retryable: false, message: expect.stringContaining('holds a bert model') });
  });
});
