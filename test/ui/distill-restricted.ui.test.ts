/// <reference types="mocha" />
// Workspace trust: in Restricted Mode the packaged extension still shows experiments and earlier
// results, but offers no way to train (no Run CodeLens, no inline Run button, Run Experiment is
// not in the palette). The harness starts code-server with --disable-workspace-trust, so this
// file starts its own, with trust on and the folder untrusted.
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import * as h from '../e2e/lib/codeServer';
import { DEFAULT_VSIX, ROOT, screenshot } from './helpers';

describe('Distill Lab: Restricted Mode (untrusted workspace, packaged extension)', function () {
  let runDir: string;
  let server: cp.ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async function () {
    this.timeout(180_000);
    runDir = h.mkTemp('distill-ui-trust-');
    const ws = path.join(runDir, 'workspace');
    const run = path.join(ws, '.distill', 'runs', '20250101-100000-quick');
    fs.mkdirSync(run, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'workspace', 'quick.distill.json'), path.join(ws, 'quick.distill.json'));
    const result = { testAccuracy: 0.981, testErrors: 19, testCount: 1000, params: 1, flops: 1, latencyMs: 1 };
    fs.writeFileSync(
      path.join(run, 'manifest.json'),
      JSON.stringify({ id: path.basename(run), name: 'quick', configPath: path.join(ws, 'quick.distill.json'), configHash: 'h', status: 'done', startedAt: '2025-01-01T10:00:00Z', versions: {}, seed: 1, results: { student: result } }),
    );
    const userDataDir = path.join(runDir, 'user-data');
    const extensionsDir = path.join(runDir, 'extensions');
    fs.mkdirSync(userDataDir, { recursive: true });
    h.codeServerCli(['--install-extension', process.env.DISTILL_UI_VSIX ?? DEFAULT_VSIX], { userDataDir, extensionsDir, runDir });
    // Trust on; the folder is not trusted and no prompt asks: it opens in Restricted Mode.
    h.writeUserSettings(userDataDir, { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' });
    const port = await h.freePort();
    const config = path.join(runDir, 'config.yaml');
    fs.writeFileSync(config, 'auth: none\ncert: false\n');
    const args = [h.codeServerEntry(), '--config', config, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--disable-telemetry', '--disable-update-check', ws];
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'), XDG_DATA_HOME: path.join(runDir, 'xdg-data'), XDG_CACHE_HOME: path.join(runDir, 'xdg-cache') };
    for (const k of Object.keys(env)) if (/^(VSCODE_|ELECTRON_)/.test(k) || k === 'PORT') delete env[k];
    server = cp.spawn(process.execPath, args, { cwd: runDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('code-server did not start')), 60_000);
      server!.stdout!.on('data', (d) => String(d).includes('HTTP server listening') && (clearTimeout(timer), resolve()));
    });
    browser = await h.launchChromium({ home: path.join(runDir, 'chromium') });
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(h.workbenchUrl(`http://127.0.0.1:${port}/`, { folder: ws }));
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server?.pid) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (runDir) h.rmrf(runDir);
  });

  it('shows experiments and earlier results but offers nothing that trains', async () => {
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const rows = page.locator('.part.sidebar .pane-body [role=treeitem]');
    const experiment = rows.filter({ hasText: 'quick.distill.json' });
    await experiment.waitFor();
    await rows.filter({ hasText: 'S 1.9 % err' }).waitFor();
    await experiment.click();
    await page.locator('.codelens-decoration', { hasText: 'Validate' }).first().waitFor();
    const lenses = (await page.locator('.codelens-decoration').allTextContents()).join(' | ');
    assert.match(lenses, /Last run [\d: -]+: S 1\.9 % err/);
    assert.doesNotMatch(lenses, /Run\b(?!:)/, `CodeLens offers Run: ${lenses}`);
    await experiment.hover();
    assert.equal(await experiment.locator('.action-label[aria-label*="Run Experiment"]').count(), 0, 'inline Run button shown');
    assert.equal(await page.locator('.editor-actions .action-label[aria-label*="Run Experiment"]').count(), 0, 'editor-title Run button shown');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input.input');
    await input.fill('>Distill Lab: Run Experiment');
    await page.waitForTimeout(800);
    const listed = await page.locator('.quick-input-widget .monaco-list-row .label-name').allTextContents();
    assert.ok(!listed.includes('Distill Lab: Run Experiment'), `palette: ${listed.join(', ')}`);
    assert.ok(listed.includes('Distill Lab: Validate Experiment'), `palette: ${listed.join(', ')}`);
    await page.keyboard.press('Escape');
    await screenshot(page, 'distill-restricted-mode');
  });
});
