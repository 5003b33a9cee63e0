/**
 * Artifacts you can trust (issue #9): model_path is a training job's id, checked at
 * submit; runners seal each model with an HMAC under the install's key and refuse,
 * before unpickling, a model whose seal does not match; ARTIFACT_ROOT and DATA_ROOT
 * may not overlap. Real spawner, real /usr/bin/python3 with scikit-learn and torch.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../core/errors';
import { ensureArtifactKey } from '../spawner/artifact-key';
import { loadSpawnerConfig } from '../spawner/config';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const ROOT = join(import.meta.dirname, '..');
const EVIL_PICKLE = join(import.meta.dirname, 'fixtures', 'evil_pickle.py');
const canImport = (m: string) => existsSync(PY) && spawnSync(PY, ['-c', `import ${m}`], { stdio: 'ignore' }).status === 0;
const hasML = canImport('sklearn') && canImport('torch');
if (!hasML) console.log(`artifact tests skipped: ${PY} cannot import sklearn and torch`);

const temps: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** What the runner computes (kiln_runner/artifact_digest.py), from the spawner's key file. */
function expectedDigest(keyFile: string, jobId: string, name: string, data: Buffer): string {
  const key = readFileSync(keyFile, 'utf8').trim();
  return createHmac('sha256', key).update(`kiln-artifact-v1\0${jobId}\0${name}\0`).update(data).digest('hex');
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!hasML)('model artifacts through the spawner', () => {
  let redis: RedisServer;
  let sys: System;
  let sk: string; // a succeeded sklearn training job
  let torch: string; // a succeeded pytorch training job

  const post = async (path: string, body: unknown) => {
    const r = await sys.request('POST', path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.job_id as string;
  };
  const until = (id: string, statuses: string[], ms = 60_000) =>
    sys.waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
      const j = await sys.job(id);
      return statuses.includes(j.status) && j;
    }, ms);
  const infer = async (body: Record<string, unknown>) => until(await post('/jobs/inference', { inputs: [[0.9, 0.8], [0, 0]], ...body }), ['succeeded', 'failed']);
  const artifact = (jobId: string, name: string) => join(sys.config.artifactRoot, jobId, name);

  beforeAll(async () => {
    redis = await startRedis();
    const data = join(tempDir('kiln-artifacts-'), 'data');
    mkdirSync(data);
    sys = await startSystem(redis, {
      types: {
        sklearn: { framework: 'sklearn', version: '1.3.0', python: PY, max_jobs: 1, max_workers: 1, idle_timeout: 120 },
        'pytorch-2.1': { framework: 'pytorch', version: '2.1.0', python: PY, max_jobs: 1, max_workers: 1, idle_timeout: 120 },
        // never gets a worker (no GPU here): its jobs stay queued
        'sklearn-gpu': { framework: 'sklearn', version: '1.3.0', python: PY, gpu: true, max_workers: 1 },
      },
      env: { DATA_ROOT: data, KILN_GPUS: 'none' },
    });
    const rows = ['x1,x2,label'];
    for (let i = 0; i < 120; i++) {
      const a = (i % 17) / 17;
      const b = (i % 5) / 5;
      rows.push(`${a},${b},${a + b > 0.9 ? 1 : 0}`);
    }
    writeFileSync(join(data, 'points.csv'), `${rows.join('\n')}\n`);
    [sk, torch] = await Promise.all([
      post('/jobs/training', { model_type: 'random_forest', data_path: 'points.csv', hyperparameters: { target: 'label', n_estimators: 20, random_state: 1 } }),
      post('/jobs/training', { model_type: 'mlp', data_path: 'points.csv', hyperparameters: { target: 'label', epochs: 2, batch_size: 16, learning_rate: 0.01 } }),
    ]);
    for (const id of [sk, torch]) {
      const j = await until(id, ['succeeded', 'failed']);
      expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    }
  });
  afterAll(async () => {
    await sys?.stop();
    await redis?.stop();
  });

  it('trains, then infers by job id (sklearn and torch); the model is sealed with the install key, which stays out of every view and log', async () => {
    const skInf = await infer({ model_type: 'random_forest', model_path: sk });
    expect(skInf.status, JSON.stringify(skInf.error)).toBe('succeeded');
    expect(skInf.result.predictions).toEqual([1, 0]);
    const torchInf = await infer({ model_type: 'mlp', model_path: torch });
    expect(torchInf.status, JSON.stringify(torchInf.error)).toBe('succeeded');
    expect(torchInf.result.predictions).toHaveLength(2);

    const keyFile = sys.config.artifactKeyFile;
    expect(keyFile).toBe(join(sys.stateDir, 'artifact.key'));
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    for (const [id, model] of [[sk, 'model.pkl'], [torch, 'model.pt']] as const) {
      const seal = JSON.parse(readFileSync(artifact(id, 'digest.json'), 'utf8'));
      expect(seal).toMatchObject({ v: 1, alg: 'HMAC-SHA256', job_id: id });
      expect(seal.files[model]).toBe(expectedDigest(keyFile, id, model, readFileSync(artifact(id, model))));
      expect(seal.files['meta.json']).toBe(expectedDigest(keyFile, id, 'meta.json', readFileSync(artifact(id, 'meta.json'))));
    }

    const seen = [
      sys.logs.join('\n'),
      ...filesUnder(join(sys.stateDir, 'logs')).map((f) => readFileSync(f, 'utf8')),
      JSON.stringify((await sys.request('GET', '/workers/status')).body),
      JSON.stringify((await sys.request('GET', '/workers/types')).body),
      JSON.stringify((await sys.request('GET', '/jobs?limit=50')).body),
      JSON.stringify((await sys.request('GET', `/jobs/${sk}/logs`)).body),
    ];
    expect(seen.join('\n').length).toBeGreaterThan(1000);
    for (const text of seen) expect(text).not.toContain(key);
  });

  it('refuses at submit: a path, an unknown id, a training job that has not succeeded, another framework\'s model', async () => {
    const refused = async (body: Record<string, unknown>, status: number, code: string, says: RegExp) => {
      const r = await sys.request('POST', '/jobs/inference', { inputs: [[1, 2]], ...body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error, JSON.stringify(body)).toMatchObject({ code, field: 'model_path' });
      expect(r.body.error.message).toMatch(says);
    };
    for (const path of [`${sk}/model.pkl`, artifact(sk, 'model.pkl'), `../${sk}`, 'model.pkl']) {
      await refused({ model_type: 'random_forest', model_path: path }, 400, 'VALIDATION_ERROR', /the id of the training job .*not a file path/);
    }
    await refused({ model_type: 'random_forest', model_path: crypto.randomUUID() }, 404, 'MODEL_NOT_FOUND', /training job that succeeded/);
    const fn = await post('/jobs/inference', { model_type: 'random_forest', model_path: sk, inputs: [[0, 0]] });
    await refused({ model_type: 'random_forest', model_path: fn }, 404, 'MODEL_NOT_FOUND', /inference job, not a training job/);

    const queued = await post('/jobs/training', { model_type: 'random_forest', data_path: 'points.csv', worker_type: 'sklearn-gpu' });
    await refused({ model_type: 'random_forest', model_path: queued }, 409, 'MODEL_NOT_READY', /still queued/);
    await sys.request('POST', `/jobs/${queued}/cancel`);
    await refused({ model_type: 'random_forest', model_path: queued }, 409, 'MODEL_NOT_READY', /cancelled, so it made no model/);
    const failed = await post('/jobs/training', { model_type: 'random_forest', data_path: 'missing.csv', max_attempts: 1 });
    expect((await until(failed, ['failed', 'succeeded'])).status).toBe('failed');
    await refused({ model_type: 'random_forest', model_path: failed }, 409, 'MODEL_NOT_READY', /failed, so it made no model/);

    await refused({ model_type: 'random_forest', model_path: torch }, 400, 'MODEL_INCOMPATIBLE', /pytorch model .*would run on sklearn/);
    await refused({ model_type: 'mlp', model_path: sk }, 400, 'MODEL_INCOMPATIBLE', /sklearn model .*would run on pytorch/);
  });

  it('refuses a tampered sklearn model without unpickling it: a flipped byte, a malicious pickle, a missing or forged digest, an edited meta.json', async () => {
    const model = artifact(sk, 'model.pkl');
    const meta = artifact(sk, 'meta.json');
    const seal = artifact(sk, 'digest.json');
    const original = { model: readFileSync(model), meta: readFileSync(meta), seal: readFileSync(seal) };
    const restore = () => {
      writeFileSync(model, original.model);
      writeFileSync(meta, original.meta);
      writeFileSync(seal, original.seal);
    };
    const refusedAtRun = async (says: RegExp) => {
      const j = await infer({ model_type: 'random_forest', model_path: sk });
      expect(j.status).toBe('failed');
      expect(j.attempts).toBe(1); // not retryable
      expect(j.error).toMatchObject({ type: 'handler_error', exception: 'ArtifactError', message: expect.stringMatching(says) });
      restore();
    };

    const flipped = Buffer.from(original.model);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    writeFileSync(model, flipped);
    await refusedAtRun(/model\.pkl does not match the digest .*modified or not written by Kiln/);

    const sentinel = join(tempDir('kiln-evil-'), 'pwned');
    expect(spawnSync(PY, [EVIL_PICKLE, model, sentinel]).status).toBe(0);
    await refusedAtRun(/model\.pkl does not match the digest/);
    expect(existsSync(sentinel)).toBe(false);
    // the pickle is live: loaded without the check, it runs its code
    const evil = join(tempDir('kiln-evil-'), 'evil.pkl');
    spawnSync(PY, [EVIL_PICKLE, evil, sentinel]);
    expect(spawnSync(PY, ['-c', `import pickle; pickle.load(open(${JSON.stringify(evil)}, 'rb'))`]).status).toBe(0);
    expect(existsSync(sentinel)).toBe(true);

    // an attacker who can write the folder can rewrite the seal too, but not with the key
    spawnSync(PY, [EVIL_PICKLE, model, sentinel]);
    const forged = JSON.parse(original.seal.toString('utf8'));
    forged.files['model.pkl'] = createHmac('sha256', 'not-the-install-key-not-the-install-key').update(`kiln-artifact-v1\0${sk}\0model.pkl\0`).update(readFileSync(model)).digest('hex');
    writeFileSync(seal, JSON.stringify(forged));
    rmSync(sentinel);
    await refusedAtRun(/model\.pkl does not match the digest/);
    expect(existsSync(sentinel)).toBe(false);

    rmSync(seal);
    await refusedAtRun(/has no Kiln digest: it was not written by a Kiln training job/);

    writeFileSync(meta, original.meta.toString('utf8').replace('"model_file": "model.pkl"', '"model_file": "other.pkl"'));
    expect(readFileSync(meta, 'utf8')).toContain('other.pkl');
    await refusedAtRun(/meta\.json does not match the digest/);

    // restored, the same model loads again
    const ok = await infer({ model_type: 'random_forest', model_path: sk });
    expect(ok.status, JSON.stringify(ok.error)).toBe('succeeded');
  });

  it('refuses a torch model with a flipped byte', async () => {
    const model = artifact(torch, 'model.pt');
    const original = readFileSync(model);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 10]! ^= 0x01;
    writeFileSync(model, flipped);
    const j = await infer({ model_type: 'mlp', model_path: torch });
    writeFileSync(model, original);
    expect(j.status).toBe('failed');
    expect(j.attempts).toBe(1);
    expect(j.error).toMatchObject({ type: 'handler_error', exception: 'ArtifactError', message: expect.stringMatching(/model\.pt does not match the digest/) });
  });
});

describe.skipIf(!canImport('sklearn'))('a runner without the artifact key', () => {
  it('refuses to train (before fitting), so no unsealed model is ever written', async () => {
    const base = tempDir('kiln-nokey-');
    const [data, artifacts] = [join(base, 'data'), join(base, 'artifacts')];
    mkdirSync(data);
    mkdirSync(artifacts);
    writeFileSync(join(data, 'd.csv'), 'x,y\n1,0\n2,1\n3,0\n4,1\n');
    const proc = spawn(PY, ['-u', '-m', 'kiln_runner'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONPATH: join(ROOT, 'worker-runtime', 'python'), KILN_FRAMEWORK: 'sklearn', KILN_DATA_ROOT: data, KILN_ARTIFACT_ROOT: artifacts },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const outcome = new Promise<any>((resolve) => {
      let buffer = '';
      proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        for (const line of buffer.split('\n').slice(0, -1)) {
          const m = JSON.parse(line);
          if (m.type === 'ready') proc.stdin.write(`${JSON.stringify({ type: 'run', job: { id: 'nk1', kind: 'training', payload: { model_type: 'decision_tree', data_path: 'd.csv' } } })}\n`);
          if (m.type === 'error' || m.type === 'result' || m.type === 'fatal') resolve(m);
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      });
    });
    const m = await outcome;
    proc.kill('SIGKILL');
    expect(m).toMatchObject({ type: 'error', job_id: 'nk1', error: { type: 'handler_error', exception: 'ArtifactError', retryable: false, message: expect.stringContaining('no artifact key is configured (KILN_ARTIFACT_KEY_FILE)') } });
    expect(readdirSync(artifacts)).toEqual([]);
  });
});

describe('the spawner\'s start-up checks', () => {
  const configError = (env: Record<string, string>): KilnError => {
    try {
      loadSpawnerConfig({ KILN_STATE_DIR: tempDir('kiln-state-'), ...env });
    } catch (err) {
      return err as KilnError;
    }
    throw new Error(`loadSpawnerConfig accepted ${JSON.stringify(env)}`);
  };

  it('refuses an ARTIFACT_ROOT and a DATA_ROOT that overlap (equal, nested either way, or through a symlink), naming both', () => {
    const base = tempDir('kiln-roots-');
    const data = join(base, 'data');
    mkdirSync(data);
    symlinkSync(data, join(base, 'link'));
    const real = realpathSync(data);
    const cases: [Record<string, string>, RegExp, string, string][] = [
      [{ DATA_ROOT: data, ARTIFACT_ROOT: data }, /are the same folder/, real, real],
      [{ DATA_ROOT: data, ARTIFACT_ROOT: join(data, 'models') }, /ARTIFACT_ROOT is inside DATA_ROOT/, join(real, 'models'), real],
      [{ DATA_ROOT: join(data, 'csv', 'new'), ARTIFACT_ROOT: data }, /DATA_ROOT is inside ARTIFACT_ROOT/, real, join(real, 'csv', 'new')],
      [{ DATA_ROOT: data, ARTIFACT_ROOT: join(base, 'link', 'models') }, /ARTIFACT_ROOT is inside DATA_ROOT/, join(real, 'models'), real],
    ];
    for (const [env, how, artifacts, dataRoot] of cases) {
      const err = configError(env);
      expect(err).toBeInstanceOf(KilnError);
      expect(err.code).toBe('BAD_CONFIG');
      expect(err.message).toMatch(how);
      expect(err.message).toContain(`ARTIFACT_ROOT (${artifacts}) and DATA_ROOT (${dataRoot})`);
    }
    // apart (a shared name prefix is not an overlap)
    const ok = loadSpawnerConfig({ KILN_STATE_DIR: tempDir('kiln-state-'), DATA_ROOT: data, ARTIFACT_ROOT: `${data}-models` });
    expect(ok.artifactRoot).toBe(`${data}-models`);
  });

  it('`spawner serve` exits at start with the error, before it touches Redis', async () => {
    const base = tempDir('kiln-roots-');
    const proc = spawn(process.execPath, [join(ROOT, 'dist', 'cli.mjs'), 'serve'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KILN_STATE_DIR: join(base, 'state'), DATA_ROOT: join(base, 'data'), ARTIFACT_ROOT: join(base, 'data', 'artifacts'), REDIS_URL: 'redis://127.0.0.1:1', SPAWNER_PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code).toBe(5);
    expect(stderr).toContain(`ARTIFACT_ROOT (${join(base, 'data', 'artifacts')}) and DATA_ROOT (${join(base, 'data')}) overlap`);
    expect(existsSync(join(base, 'state', 'artifact.key'))).toBe(false);
  });

  it('makes the artifact key 0600 once, and refuses one that others may read or that is too short', () => {
    const dir = tempDir('kiln-key-');
    const file = join(dir, 'state', 'artifact.key');
    ensureArtifactKey(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, 'utf8');
    expect(key.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    ensureArtifactKey(file);
    expect(readFileSync(file, 'utf8')).toBe(key); // kept: models trained under it stay loadable
    chmodSync(file, 0o644);
    expect(() => ensureArtifactKey(file)).toThrow(/may be read by other users \(mode 0644\); run chmod 600/);
    chmodSync(file, 0o600);
    writeFileSync(file, 'short\n');
    expect(() => ensureArtifactKey(file)).toThrow(/fewer than 32 characters/);
  });
});
