/**
 * The dashboard's browser modules are TypeScript strings: check here that each
 * parses as an ES module, that they import only each other, and that none of
 * them writes markup (data goes in through textContent and DOM APIs only).
 */
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_ASSETS } from '../api/dashboard/assets';

const scripts = Object.entries(DASHBOARD_ASSETS).filter(([name]) => name.endsWith('.js'));

describe('dashboard assets', () => {
  it('every script parses as an ES module and imports only served modules', () => {
    expect(scripts.length).toBeGreaterThan(5);
    for (const [name, asset] of scripts) {
      expect(() => transformSync(asset.body, { loader: 'js', format: 'esm', sourcefile: name }), name).not.toThrow();
      for (const m of asset.body.matchAll(/^import .* from '\.\/([\w.-]+)';$/gm)) {
        expect(Object.keys(DASHBOARD_ASSETS), `${name} imports ${m[1]}`).toContain(m[1]);
      }
    }
  });

  it('no script writes HTML or evaluates strings', () => {
    for (const [name, asset] of scripts) {
      expect(asset.body, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(['"]/);
    }
  });

  it('the page itself has no inline script or style', async () => {
    const { dashboardPage } = await import('../api/dashboard/page');
    const page = String(await dashboardPage());
    expect(page).toContain('<script type="module" src="/ui/app.js"></script>');
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).not.toMatch(/\son\w+=|style=|<style/);
    expect(page).toContain('<option value="random_forest">');
  });
});
