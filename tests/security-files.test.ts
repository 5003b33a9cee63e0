/**
 * Issue #9, files: the state folder is created 0700 before anything is written
 * into it (token, worker folders, logs, artifacts, the local Redis's data); an
 * existing one open to others is tightened when it is ours, left with a warning
 * when it is a shared folder; `.dev.vars` is always 0600.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDevVars } from '../scripts/dev-vars';
import { localRedis, stopChild } from '../scripts/local-redis';
import { prepareStateDir } from '../spawner/state-dir';
import { tokenFile } from '../spawner/token';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem } from './helpers/system';

const mode = (p: string) => statSync(p).mode & 0o7777;
const dir = mkdtempSync(join(tmpdir(), 'kiln-files-'));
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('prepareStateDir', () => {
  it('creates a missing folder (and its parents) 0700', () => {
    const warnings: string[] = [];
    const state = join(dir, 'fresh', 'deeper', '.kiln');
    expect(prepareStateDir(state, (m) => warnings.push(m))).toBe('created');
    expect(mode(state)).toBe(0o700);
    expect(warnings).toEqual([]);
    expect(prepareStateDir(state, (m) => warnings.push(m))).toBe('private');
    expect(warnings).toEqual([]);
  });

  it('tightens a folder of ours that others may enter, and says so', () => {
    const state = join(dir, 'open');
    mkdirSync(state);
    chmodSync(state, 0o755);
    const warnings: string[] = [];
    expect(prepareStateDir(state, (m) => warnings.push(m))).toBe('tightened');
    expect(mode(state)).toBe(0o700);
    expect(warnings.join('\n')).toMatch(/mode 0755.*tightened to 0700/);
  });

  it('leaves a shared (sticky) folder alone, with a warning that names KILN_STATE_DIR', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const warnings: string[] = [];
    expect(prepareStateDir(shared, (m) => warnings.push(m))).toBe('left-open');
    expect(mode(shared)).toBe(0o1777);
    expect(warnings.join('\n')).toContain('KILN_STATE_DIR');
  });
});

describe('the spawner', () => {
  it('makes its state folder, worker folders, logs and artifact root private before writing into them', async () => {
    const state = join(dir, 'spawner-state', '.kiln');
    const artifacts = join(dir, 'elsewhere', 'artifacts');
    const sys = await startSystem(redis, {
      types: { node: { framework: 'node', version: '20', max_workers: 1 } },
      spawner: { stateDir: state, artifactRoot: artifacts },
    });
    try {
      expect(mode(state)).toBe(0o700);
      expect(mode(tokenFile(state))).toBe(0o600);
      expect(mode(artifacts)).toBe(0o700);
      const r = await sys.request('POST', '/jobs', { function: 'echo', input: { a: 1 } });
      await sys.waitFor('the job', async () => (await sys.job(r.body.job_id)).status === 'succeeded');
      const [w] = [...sys.spawner.supervisor.workers.values()];
      expect(w).toBeDefined();
      expect(mode(join(state, 'workers'))).toBe(0o700);
      expect(mode(join(state, 'workers', w!.id))).toBe(0o700);
      await sys.waitFor('the worker log file', async () => existsSync(join(state, 'logs', 'workers')));
      expect(mode(join(state, 'logs'))).toBe(0o700);
      expect(mode(join(state, 'logs', 'workers'))).toBe(0o700);
    } finally {
      await sys.stop();
    }
  });

  it('tightens an existing state folder that others may enter, and logs it', async () => {
    const state = join(dir, 'open-state');
    mkdirSync(state, { mode: 0o755 });
    chmodSync(state, 0o755);
    const sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20' } }, spawner: { stateDir: state } });
    try {
      expect(mode(state)).toBe(0o700);
      expect(sys.logs.join('\n')).toMatch(/warn state folder .*open-state was open to other users \(mode 0755\); tightened to 0700/);
    } finally {
      await sys.stop();
    }
  });
});

describe('the local Redis (npm start, npm run dev:edge)', () => {
  it('keeps its data in a private state folder', async () => {
    const state = join(dir, 'local-redis', '.kiln');
    const child = await localRedis(state, await freePort());
    try {
      expect(child).toBeDefined();
      expect(mode(state)).toBe(0o700);
      expect(mode(join(state, 'redis'))).toBe(0o700);
    } finally {
      await stopChild(child);
    }
  });
});

describe('.dev.vars', () => {
  it('is created 0600, and left 0600 when updated or unchanged', () => {
    const path = join(dir, '.dev.vars');
    expect(syncDevVars(path, { SPAWNER_TOKEN: 'a' })).toBe('created');
    expect(mode(path)).toBe(0o600);
    chmodSync(path, 0o644);
    expect(syncDevVars(path, { SPAWNER_TOKEN: 'b' })).toBe('updated');
    expect(mode(path)).toBe(0o600);
    chmodSync(path, 0o644);
    expect(syncDevVars(path, { SPAWNER_TOKEN: 'b' })).toBe('unchanged');
    expect(mode(path)).toBe(0o600);
    // a hand-written file (copied from .dev.vars.example) is tightened on first sync
    const copied = join(dir, 'copied.dev.vars');
    writeFileSync(copied, 'OTHER=1\n', { mode: 0o644 });
    syncDevVars(copied, { SPAWNER_TOKEN: 'c' });
    expect(mode(copied)).toBe(0o600);
  });
});
