/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core
 * against a whole Kiln (real redis-server, spawner, worker processes, the API
 * served over HTTP). Screenshots go to test-results/ (ignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(import.meta.dirname, '..', 'test-results');
const NODE_TYPE = { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1, min_workers: 0 } } as const;

let redis: RedisServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  mkdirSync(RESULTS, { recursive: true });
  redis = await startRedis();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await redis?.stop();
});

/** A whole Kiln whose API listens on a loopback port, as `npm start` serves it. */
async function startServedSystem(api: { apiToken?: string } = {}): Promise<{ sys: System; base: string; close(): Promise<void> }> {
  const sys = await startSystem(redis, { types: NODE_TYPE, api });
  const server = serve({ fetch: sys.api.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const { port } = server.address() as { port: number };
  return {
    sys,
    base: `http://127.0.0.1:${port}`,
    async close() {
      // SSE responses may still be open: end them, then the server
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await sys.stop();
    },
  };
}

/** A fresh browser context per test (its own storage), recording every request and page error. */
async function openPage(): Promise<{ page: Page; requests: Request[]; errors: string[]; loads: () => number }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const requests: Request[] = [];
  const errors: string[] = [];
  let loads = 0;
  page.on('request', (r) => requests.push(r));
  page.on('pageerror', (e) => errors.push(e.message));
  // a Content-Security-Policy violation is a console error, not a page error
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) errors.push(m.text()); });
  page.on('load', () => loads++);
  return { page, requests, errors, loads: () => loads };
}

const count = (page: Page, selector: string) => page.locator(selector).count();

describe('dashboard in chromium', () => {
  it('submits a job from the form and follows it live to succeeded: progress bar, log, chart', async () => {
    const { sys, base, close } = await startServedSystem();
    const { page, errors, loads } = await openPage();
    try {
      const res = await page.goto(`${base}/`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.locator('#queues-body tr[data-type="node"]').waitFor();
      await page.evaluate("window.kilnMark = 'no reload'");

      await page.click('a[data-nav="submit"]');
      // bad input: not JSON (checked in the page), then a name the API refuses (its 400 message shown)
      await page.fill('#submit-function', 'progress');
      await page.fill('#submit-input', '{"steps": ');
      await page.click('#submit-button');
      await expect.poll(() => page.locator('#submit-error').textContent()).toContain('input is not valid JSON');
      await page.fill('#submit-function', 'no such function!');
      await page.fill('#submit-input', '{}');
      await page.click('#submit-button');
      await expect.poll(() => page.locator('#submit-error').textContent()).toMatch(/function: .*VALIDATION_ERROR, field function/);
      expect(await page.getAttribute('#submit-function', 'aria-invalid')).toBe('true');

      await page.fill('#submit-function', 'progress');
      await page.fill('#submit-input', '{"steps": 5, "ms": 100}');
      await page.click('#submit-button');
      await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
      const id = decodeURIComponent(page.url().split('#/jobs/')[1]!);
      expect((await sys.job(id)).payload).toEqual({ function: 'progress', input: { steps: 5, ms: 100 } });

      await page.locator('#job-state[data-state="succeeded"]').waitFor({ timeout: 30_000 });
      await expect.poll(() => page.getAttribute('#job-progress', 'aria-valuenow')).toBe('100');
      expect(await page.locator('#job-progress').textContent()).toContain('step 5/5');
      expect(await page.locator('#job-attempts').textContent()).toContain('1 of');
      expect(await page.locator('.card pre.json').first().textContent()).toContain('"steps": 5');

      // the chart: a progress line ending at 100 %
      const progressLine = page.locator('#job-chart path.line[data-series="progress"]');
      await expect.poll(async () => Number(await progressLine.getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
      await expect.poll(() => page.locator('#job-chart .chart-readout').textContent()).toContain('progress 100%');

      await page.screenshot({ path: join(RESULTS, 'dashboard-job.png'), fullPage: true });

      // back to the overview: the job, the worker and its queue, updated while we look
      await page.click('a.back');
      const row = page.locator(`#jobs-body tr[data-job-id="${id}"]`);
      await row.waitFor();
      expect(await row.getAttribute('data-state')).toBe('succeeded');
      expect(await row.locator('[role="progressbar"]').getAttribute('aria-valuenow')).toBe('100');
      const status = (await sys.request('GET', '/workers/status')).body;
      const worker = Object.values(status.worker_details as Record<string, { worker_id: string; process_id: number }>)[0]!;
      const workerRow = page.locator(`#workers-body tr[data-worker-id="${worker.worker_id}"]`);
      await workerRow.waitFor();
      expect(await workerRow.textContent()).toContain(String(worker.process_id));

      const later = (await sys.request('POST', '/jobs', { function: 'echo', input: { from: 'curl' } })).body.job_id as string;
      await page.locator(`#jobs-body tr[data-job-id="${later}"][data-state="succeeded"]`).waitFor({ timeout: 15_000 });
      await page.selectOption('#filter-state', 'failed');
      await expect.poll(() => count(page, '#jobs-body tr[data-job-id]')).toBe(0);
      await page.selectOption('#filter-state', '');
      await expect.poll(() => count(page, '#jobs-body tr[data-job-id]')).toBe(2);
      await page.screenshot({ path: join(RESULTS, 'dashboard-overview.png'), fullPage: true });

      expect(await page.evaluate<string | undefined>('window.kilnMark')).toBe('no reload');
      expect(loads()).toBe(1);
      expect(errors).toEqual([]);

      // The finished job's page again, for what other parts of issue #8 add to it.
      await row.locator('a').click();
      await page.locator('#job-state[data-state="succeeded"]').waitFor();
      // feat/logs: the built-in progress function logs one line per step; a follow on a finished job returns them and ends
      await expect.poll(() => page.locator('#job-log .log-text').allTextContents(), { timeout: 10_000 }).toEqual(
        ['step 1/5', 'step 2/5', 'step 3/5', 'step 4/5', 'step 5/5'],
      );
      await expect.poll(() => page.locator('#job-log-status').getAttribute('data-state')).toBe('ended');
      // feat/progress: the metrics it reports with each step draw their own lines (from metrics_history)
      await expect.poll(() => count(page, '#job-chart path.line:not([data-series="progress"])')).toBeGreaterThanOrEqual(1);
      // feat/metrics: this job's arrival started the worker, so its timings have a cold start
      expect(await page.locator('#cold-start').textContent()).toContain('spawn');
      await page.screenshot({ path: join(RESULTS, 'dashboard-job.png'), fullPage: true });
    } finally {
      await page.context().close();
      await close();
    }
  });

  it('with KILN_API_TOKEN: asks for the token once, keeps it in sessionStorage, never puts it in a URL', async () => {
    const token = `tok-${crypto.randomUUID()}`;
    const { sys, base, close } = await startServedSystem({ apiToken: token });
    const { page, requests, errors } = await openPage();
    try {
      const submitted = await sys.request('POST', '/jobs', { function: 'echo', input: { secret: false } }, { authorization: `Bearer ${token}` });
      expect(submitted.status).toBe(202);
      const id = submitted.body.job_id as string;
      // count how often the prompt opens
      // (scripts for the page are strings: this project's TypeScript has no DOM types)
      await page.addInitScript(`
        window.kilnPrompts = 0;
        document.addEventListener('DOMContentLoaded', () => {
          const dialog = document.getElementById('token-dialog');
          new MutationObserver(() => { if (dialog.hasAttribute('open')) window.kilnPrompts++; }).observe(dialog, { attributes: true, attributeFilter: ['open'] });
        });
      `);
      const prompts = () => page.evaluate<number>('window.kilnPrompts');

      const res = await page.goto(`${base}/`);
      expect(res?.status()).toBe(200);
      const dialog = page.locator('#token-dialog');
      await dialog.locator('#token-input').waitFor();
      expect(await count(page, '#jobs-body tr[data-job-id]')).toBe(0);

      await page.fill('#token-input', 'wrong-token');
      await page.click('#token-form button[type="submit"]');
      await expect.poll(() => page.locator('#token-error').textContent()).toContain('refused');
      expect(await dialog.getAttribute('open')).not.toBeNull();

      await page.fill('#token-input', token);
      await page.click('#token-form button[type="submit"]');
      await page.locator(`#jobs-body tr[data-job-id="${id}"]`).waitFor();
      expect(await dialog.getAttribute('open')).toBeNull();
      await page.screenshot({ path: join(RESULTS, 'dashboard-token.png') });

      // the job page and back: no new prompt
      await page.click(`#jobs-body tr[data-job-id="${id}"] a`);
      await page.locator('#job-state[data-state="succeeded"]').waitFor({ timeout: 15_000 });
      await page.click('a[data-nav="overview"]');
      await page.locator(`#jobs-body tr[data-job-id="${id}"]`).waitFor();
      expect(await prompts()).toBe(2);

      const storage = await page.evaluate<unknown>("({ session: sessionStorage.getItem('kiln.apiToken'), local: localStorage.length, cookie: document.cookie })");
      expect(storage).toEqual({ session: token, local: 0, cookie: '' });
      expect(requests.length).toBeGreaterThan(5);
      for (const r of requests) expect(r.url(), 'the token is never in a URL').not.toContain(token);
      const data = requests.filter((r) => /\/(jobs|workers)(\/|\?|$)/.test(new URL(r.url()).pathname + new URL(r.url()).search));
      const authorized = data.filter((r) => r.headers().authorization === `Bearer ${token}`);
      expect(authorized.length).toBeGreaterThan(2);
      // the page and its assets loaded without a token
      const assets = requests.filter((r) => /^\/(ui\/.*)?$/.test(new URL(r.url()).pathname));
      expect(assets.length).toBeGreaterThan(3);
      for (const r of assets) expect(r.headers().authorization).toBeUndefined();

      // "Forget token" clears it, and the next data call asks again
      await page.click('#forget-token');
      await expect.poll(prompts).toBe(3);
      expect(await page.evaluate<string | null>("sessionStorage.getItem('kiln.apiToken')")).toBeNull();
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
      await close();
    }
  });
});
