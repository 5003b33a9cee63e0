/** Pure logic: scaling decisions, the crash-loop breaker, backoff, model → worker type. */
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../core/backoff';
import { workerTypeForModel } from '../core/model-types';
import { createBreaker } from '../spawner/breaker';
import { lastWorkAt, planScale } from '../spawner/scaling';

const snap = { queued: 0, running: 0, serving: 0, live: 0, maxJobs: 2, minWorkers: 0, maxWorkers: 3 };

describe('planScale', () => {
  it('starts enough workers for the queue, never beyond max_workers', () => {
    expect(planScale({ ...snap, queued: 5 })).toMatchObject({ desired: 3, start: 3 });
    expect(planScale({ ...snap, queued: 100, serving: 2, live: 2 })).toMatchObject({ start: 1 });
    expect(planScale({ ...snap, queued: 100, serving: 1, live: 3 })).toMatchObject({ start: 0 });
  });
  it('keeps min_workers and marks the rest as surplus', () => {
    expect(planScale({ ...snap, minWorkers: 1 })).toMatchObject({ desired: 1, start: 1, surplus: 0 });
    expect(planScale({ ...snap, minWorkers: 1, serving: 3, live: 3 })).toMatchObject({ start: 0, surplus: 2 });
    expect(planScale({ ...snap, running: 4, serving: 2, live: 2 })).toMatchObject({ surplus: 0 });
  });
  it('keeps spare_workers beyond demand while the type is active, within max_workers', () => {
    const spare = { ...snap, maxJobs: 1, maxWorkers: 5, spareWorkers: 2 };
    // one queued job: one worker for it and two spares, all started by this host
    expect(planScale({ ...spare, queued: 1, active: true })).toMatchObject({ desired: 3, start: 3, forMin: 0, spares: 2 });
    // the job runs on one worker: the two idle ones are spares, not surplus
    expect(planScale({ ...spare, running: 1, serving: 3, live: 3, active: true })).toMatchObject({ desired: 3, start: 0, surplus: 0 });
    // no job right now but one within idle_timeout: spares stay
    expect(planScale({ ...spare, serving: 2, live: 2, active: true })).toMatchObject({ desired: 2, start: 0, surplus: 0 });
    // spares never take the type past max_workers
    expect(planScale({ ...spare, queued: 4, active: true })).toMatchObject({ desired: 5, start: 5 });
    expect(planScale({ ...spare, queued: 4, serving: 4, live: 4, active: true })).toMatchObject({ start: 1 });
    // spare_workers and min_workers overlap: the floor is the larger of the two
    expect(planScale({ ...spare, minWorkers: 3, active: true })).toMatchObject({ desired: 3, start: 3, forMin: 3 });
  });
  it('drops spares once the type is idle past idle_timeout, down to min_workers', () => {
    const spare = { ...snap, maxJobs: 1, maxWorkers: 5, spareWorkers: 2 };
    expect(planScale({ ...spare, serving: 3, live: 3, active: false })).toMatchObject({ desired: 0, spares: 0, surplus: 3 });
    expect(planScale({ ...spare, minWorkers: 1, serving: 3, live: 3, active: false })).toMatchObject({ desired: 1, surplus: 2 });
    // a type that never had work starts no spares (min_workers is for always-on)
    expect(planScale({ ...spare })).toMatchObject({ desired: 0, start: 0 });
  });
  it('a type is active from its last work: a tick that saw jobs, or a worker that ran one', () => {
    const w = (jobCount: number, lastActivity: number, running = 0) => ({ jobCount, running, lastActivity });
    expect(lastWorkAt(undefined, [])).toBeUndefined();
    // a fresh spare that never ran a job does not count
    expect(lastWorkAt(undefined, [w(0, 900)])).toBeUndefined();
    expect(lastWorkAt(100, [w(0, 900), w(3, 500)])).toBe(500);
    expect(lastWorkAt(700, [w(3, 500)])).toBe(700);
    expect(lastWorkAt(undefined, [w(0, 400, 1)])).toBe(400);
  });
});

describe('crash-loop breaker', () => {
  it('backs off ×1.5 after young deaths, marks errored at the threshold, resets after a stable run', () => {
    const b = createBreaker({ youngMs: 5000, threshold: 3, baseDelayMs: 1000, maxDelayMs: 2000 });
    b.recordExit('t', 100, false, 'died', 0);
    expect(b.state('t')).toMatchObject({ failures: 1, nextStartAt: 1000, errored: false });
    b.recordExit('t', 100, false, 'died', 0);
    expect(b.state('t').nextStartAt).toBe(1500);
    b.recordExit('t', 100, false, 'died', 0);
    expect(b.state('t')).toMatchObject({ errored: true, nextStartAt: 2000 });
    expect(b.state('t').reason).toContain('3 in a row');
    expect(b.canStart('t', 1999)).toBe(false);
    expect(b.canStart('t', 2000)).toBe(true);
    b.recordExit('t', 60_000, false, 'died late', 0);
    expect(b.state('t')).toMatchObject({ failures: 0, errored: false, reason: null });
  });
  it('marks a type errored at once when its worker fails to start', () => {
    const b = createBreaker();
    b.recordExit('py', 50, true, 'framework missing', 0);
    expect(b.state('py').errored).toBe(true);
  });
});

describe('backoffMs', () => {
  it('doubles per attempt within [half, full] of the cap', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffMs(2, 0, 60_000)).toBe(0);
  });
});

describe('workerTypeForModel', () => {
  it('maps models to worker types, with -gpu variants', () => {
    expect(workerTypeForModel('bert', false)).toBe('pytorch-2.1');
    expect(workerTypeForModel('ViT', true)).toBe('pytorch-2.1-gpu');
    expect(workerTypeForModel('keras_mlp', false)).toBe('tensorflow');
    expect(workerTypeForModel('kmeans', true)).toBe('sklearn');
    expect(workerTypeForModel('unknown', false)).toBeUndefined();
  });
});
