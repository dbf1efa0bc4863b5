// The panel hosts in a real VS Code (code-server 4.100.3, DESIGN.md §6), before they are wired
// into the extension: a throwaway extension whose activate() only calls registerPanels() opens
// Loss Split (no active config: the newest run), then the config and Model Layers beside it
// (following the active editor), then Logits, reloads the window (the serializers bring the panels
// back) and checks the console for CSP violations. Screenshots: test-output/webview/code-server-*.png.
// Needs `npm run setup:code-server` and `npm run build`. Run:
//   node --import tsx test/webview/vscode.smoke.ts
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as h from '../e2e/lib/codeServer';
import type { Frame, Page } from 'playwright-core';
import { runCommand, treeItem, waitForWorkbench } from '../ui/helpers';
import { VIEW_TYPES } from '../../src/core/webviewProtocol';
import { OUTPUT, ROOT } from './harness';

// The commands registerPanels() registers (src/host/panels/index.ts PANEL_COMMANDS; importing it
// here would load `vscode`).
const TITLES: Record<string, string> = {
  'distillLab.openLogits': 'Open Logits',
  'distillLab.openLossSplit': 'Open Loss Split',
  'distillLab.openFeatureMaps': 'Open Feature Maps',
  'distillLab.openModelLayers': 'Show Model Layers',
  'distillLab.compareRunsPanel': 'Compare Runs (Charts)…',
};

/** The webview document of a panel kind (body[data-view]), however many webviews are showing. */
async function panelFrame(page: Page, view: string, timeoutMs = 30_000): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      const v = await f.evaluate(() => document.body?.dataset.view).catch(() => undefined);
      if (v === view) return f;
    }
    if (Date.now() > end) throw new Error(`no ${view} webview`);
    await h.sleep(250);
  }
}

async function buildExtension(dir: string): Promise<void> {
  fs.mkdirSync(path.join(dir, 'dist', 'webview'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'media'), { recursive: true });
  const entry = path.join(dir, 'extension.ts');
  fs.writeFileSync(
    entry,
    `import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerPanels } from ${JSON.stringify(path.join(ROOT, 'src', 'host', 'panels', 'index'))};
export function activate(context: vscode.ExtensionContext) {
  const log = vscode.window.createOutputChannel('Distill Lab (panels smoke)', { log: true });
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  context.subscriptions.push(log, registerPanels(context, { runsDir: () => (folder ? path.join(folder, '.distill', 'runs') : undefined), log }));
}
`,
  );
  await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', external: ['vscode'], mainFields: ['module', 'main'], outfile: path.join(dir, 'dist', 'extension.js'), logLevel: 'warning' });
  for (const f of fs.readdirSync(path.join(ROOT, 'dist', 'webview'))) if (/\.(js|css)$/.test(f)) fs.copyFileSync(path.join(ROOT, 'dist', 'webview', f), path.join(dir, 'dist', 'webview', f));
  for (const f of ['webview.css', 'distill.svg']) fs.copyFileSync(path.join(ROOT, 'media', f), path.join(dir, 'media', f));
  const viewTypes = Object.values(VIEW_TYPES).map((v) => `onWebviewPanel:${v}`);
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'distill-lab-panels-smoke',
      publisher: 'smoke',
      version: '0.0.1',
      engines: { vscode: '^1.100.0' },
      main: './dist/extension.js',
      activationEvents: ['onStartupFinished', ...viewTypes],
      contributes: { commands: Object.keys(TITLES).map((command) => ({ command, title: TITLES[command], category: 'Distill Lab' })) },
    }),
  );
}

function makeWorkspace(): string {
  const ws = h.mkTemp('distill-panels-ws-');
  const fixtures = path.join(ROOT, 'test', 'fixtures', 'run');
  fs.copyFileSync(path.join(fixtures, 'cnn-hints.distill.json'), path.join(ws, 'cnn-hints.distill.json'));
  for (const name of ['cnn-hints', 'quick-mnist']) {
    const m = JSON.parse(fs.readFileSync(path.join(fixtures, name, 'manifest.json'), 'utf8'));
    const dst = path.join(ws, '.distill', 'runs', m.id);
    fs.cpSync(path.join(fixtures, name), dst, { recursive: true });
    fs.writeFileSync(path.join(dst, 'manifest.json'), JSON.stringify({ ...m, configPath: path.join(ws, `${name}.distill.json`) }));
  }
  return ws;
}

async function main(): Promise<void> {
  const ext = h.mkTemp('distill-panels-ext-');
  await buildExtension(ext);
  const ws = makeWorkspace();
  const server = await h.startCodeServer({ folder: ws });
  const browser = await h.launchChromium();
  const logs: string[] = [];
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(OUTPUT, `code-server-${name}.png`) });
  fs.mkdirSync(OUTPUT, { recursive: true });
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  try {
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => logs.push(m.text()));
    await page.goto(h.workbenchUrl(server.url, { folder: ws, payload: [['extensionDevelopmentPath', h.remoteUri(server.port, ext)]] }), { waitUntil: 'domcontentloaded' });
    await waitForWorkbench(page);
    // The development extension's commands reach the palette a moment after the workbench.
    for (let i = 0; ; i++) {
      try {
        await runCommand(page, 'Distill Lab: Open Loss Split');
        break;
      } catch (e) {
        if (i >= 5) throw e;
        await page.keyboard.press('Escape');
      }
    }

    // Hidden panels are not retained, so the one visible webview is the one just opened.
    let frame = await panelFrame(page, 'lossSplit');
    // No config is active: the newest run in the runs folder.
    await frame.locator('#run-line', { hasText: 'cnn-hints · 20261128-070139-cnn-hints' }).waitFor();
    await frame.waitForFunction(() => (document.getElementById('accuracy-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
    await shot(page, 'lossSplit');
    console.log('✓ lossSplit');

    await treeItem(page, 'cnn-hints.distill.json').dblclick();
    await page.locator('.tab.active', { hasText: 'cnn-hints.distill.json' }).first().waitFor();
    await runCommand(page, 'Distill Lab: Show Model Layers');
    frame = await panelFrame(page, 'modelLayers');
    await frame.locator('#pair-list li span').first().waitFor({ state: 'visible' });
    assert.deepEqual(await frame.locator('#pair-list li span').allTextContents(), [
      'student conv2 → conv1x1 → teacher conv2 · weight 1',
      'student fc1 → linear → teacher fc1 · weight 0.5',
    ]);
    await shot(page, 'modelLayers');
    console.log('✓ modelLayers');

    await runCommand(page, 'Distill Lab: Open Logits');
    frame = await panelFrame(page, 'logits');
    await frame.locator('.agreement canvas[data-rows]').waitFor({ state: 'attached' });
    assert.match((await frame.locator('#entropy').textContent())!, /Soft target at T = 4/);
    await shot(page, 'logits');
    console.log('✓ logits');

    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitForWorkbench(page);
    frame = await panelFrame(page, 'logits', 60_000);
    await frame.locator('.agreement canvas[data-rows]').waitFor({ state: 'attached', timeout: 60_000 });
    assert.match((await frame.locator('#detail-title').textContent())!, /epoch 4/);
    await shot(page, 'after-reload');
    console.log('✓ after-reload');

    const csp = logs.filter((l) => /Content Security Policy|Refused to/i.test(l));
    assert.deepEqual(csp, [], 'no CSP violations in the webviews');
    console.log('panels smoke in code-server: ok');
  } catch (e) {
    await shot(page, 'failure').catch(() => undefined);
    throw e;
  } finally {
    await browser.close();
    await server.stop();
    h.rmrf(ws);
    h.rmrf(ext);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
