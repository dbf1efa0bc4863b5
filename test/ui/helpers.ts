/// <reference types="mocha" />
// Helpers for UI tests that drive the VS Code workbench (code-server 4.100.3) in headless
// Chromium via playwright-core. docs/architecture.md §6 has the selectors' background: the palette is F1
// (it opens with '>' typed), tree rows are role=treeitem, webview content is two iframes deep.
//
// A test file typically does:
//   let wb: Workbench;
//   before(async () => { wb = await startWorkbench(); });
//   after(async () => wb?.dispose());
//   it('...', async () => { await runCommand(wb.page, 'Distill: Run Experiment'); ... });
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, FrameLocator, Locator, Page } from 'playwright-core';
import * as h from '../e2e/lib/codeServer';

export const ROOT = h.REPO_ROOT;
export const OUTPUT_DIR = path.join(ROOT, 'test-output', 'ui');
export const DEFAULT_VSIX = path.join(ROOT, 'out', 'distill-lab.vsix');
export const EXTENSION_ID = 'distill-lab.distill-lab';

const verbose = !!process.env.DISTILL_UI_VERBOSE;

/** `vsce package` into out/distill-lab.vsix (expects `node esbuild.mjs` to have run). */
export function packageExtension(out = DEFAULT_VSIX): string {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'extension.js'))) {
    throw new Error('dist/extension.js missing: run `node esbuild.mjs` (npm run build) first');
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.rmSync(out, { force: true });
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = cp.spawnSync(
    process.execPath,
    [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '-o', out],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
  );
  if (r.status !== 0 || !fs.existsSync(out)) {
    throw new Error(`vsce package failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  }
  if (verbose) console.error(r.stdout);
  return out;
}

export interface WorkbenchOptions {
  /** .vsix to install into a fresh extensions dir (default out/distill-lab.vsix). */
  vsix?: string;
  /** Folder to copy and open (default test/fixtures/workspace). */
  fixture?: string;
  /** Extra User/settings.json entries. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and so the extension host. */
  env?: Record<string, string>;
  viewport?: { width: number; height: number };
}

export interface Workbench {
  page: Page;
  browser: Browser;
  server: h.CodeServer;
  /** The temp copy of the fixture workspace that is open. */
  workspace: string;
  dispose(): Promise<void>;
}

/**
 * Installs the vsix into a fresh extensions dir, starts code-server on a copy of the fixture
 * workspace, opens the workbench in headless Chromium and waits until it is ready.
 */
export async function startWorkbench(opts: WorkbenchOptions = {}): Promise<Workbench> {
  const vsix = opts.vsix ?? process.env.DISTILL_UI_VSIX ?? DEFAULT_VSIX;
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} missing: packageExtension() first`);
  const runDir = h.mkTemp('distill-ui-');
  const workspace = h.copyFixtureWorkspace(opts.fixture);
  const userDataDir = path.join(runDir, 'user-data');
  const extensionsDir = path.join(runDir, 'extensions');
  fs.mkdirSync(userDataDir, { recursive: true });
  const installed = h.codeServerCli(['--install-extension', vsix, '--force'], { userDataDir, extensionsDir, runDir });
  if (verbose) console.error(installed);
  if (!fs.readdirSync(extensionsDir).some((d) => d.startsWith(`${EXTENSION_ID}-`))) {
    throw new Error(`${EXTENSION_ID} not installed into ${extensionsDir}:\n${installed}`);
  }

  let server: h.CodeServer | undefined;
  let browser: Browser | undefined;
  const dispose = async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    if (!process.env.DISTILL_UI_KEEP) {
      h.rmrf(runDir);
      h.rmrf(path.dirname(workspace));
    }
  };
  try {
    server = await h.startCodeServer({
      runDir,
      userDataDir,
      extensionsDir,
      settings: opts.settings,
      env: opts.env,
      removeIfOrphaned: [runDir, path.dirname(workspace)],
      onOutput: verbose ? (s) => process.stderr.write(s.replace(/^/gm, '[code-server] ')) : undefined,
    });
    browser = await h.launchChromium({ home: path.join(runDir, 'chromium') });
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    if (verbose) page.on('console', (m) => console.error(`[browser ${m.type()}] ${m.text()}`));
    // The first load compiles the workbench's bundles: on a loaded machine it takes well over the 20 s default.
    await page.goto(h.workbenchUrl(server.url, { folder: workspace }), { waitUntil: 'domcontentloaded', timeout: 120_000 });
    await waitForWorkbench(page);
    return { page, browser, server, workspace, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** Waits for the workbench shell and the explorer of the opened folder. */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  // The explorer shows the folder's rows once the remote file system is connected.
  await page.locator('.explorer-folders-view [role=treeitem]').first().waitFor({ state: 'visible', timeout: timeoutMs });
}

/** The quick input widget (palette). */
export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget');
}

/**
 * Opens the command palette with F1 (it starts with '>'); with `commandTitle`, types it and
 * waits until a matching row is listed. Returns the palette's input box.
 */
export async function openPalette(page: Page, commandTitle?: string): Promise<Locator> {
  const widget = quickInput(page);
  const input = widget.locator('input.input');
  // Under load a palette opened while a webview still holds focus has been seen to list nothing
  // for the typed title (CI, stop 18): it is closed and opened again, up to three times.
  for (let attempt = 1; ; attempt++) {
    await page.locator('.monaco-workbench').focus().catch(() => {});
    await page.keyboard.press('F1');
    await widget.waitFor({ state: 'visible' });
    if (commandTitle === undefined) return input;
    await input.fill(`>${commandTitle}`);
    try {
      await paletteRow(page, commandTitle).waitFor({ state: 'visible', timeout: 10_000 });
      return input;
    } catch (err) {
      if (attempt === 3) {
        const typed = await input.inputValue().catch(() => '?');
        const rows = await widget.locator('.quick-input-list .monaco-list-row .label-name').allTextContents().catch(() => []);
        throw new Error(`the palette did not list "${commandTitle}" (typed "${typed}"; rows: ${rows.join(' | ') || 'none'}): ${String(err)}`);
      }
      await closePalette(page);
    }
  }
}

/** The palette row whose label is exactly `title`. */
export function paletteRow(page: Page, title: string): Locator {
  return quickInput(page)
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) });
}

/** Runs a command by its palette title (e.g. 'View: Show Explorer'). */
/**
 * Clicks the item titled `title` in the open context menu. A click that lands as the menu is still
 * opening can be dropped (seen under load: the menu left open and nothing run), so it clicks again
 * until the menu has closed.
 */
export async function clickMenuItem(page: Page, title: RegExp): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const item = menu.locator('.action-label', { hasText: title });
  await item.waitFor();
  for (let tries = 0; tries < 3 && (await menu.count()) > 0; tries++) {
    await item.click().catch(() => {});
    await menu.waitFor({ state: 'detached', timeout: 3_000 }).catch(() => {});
  }
}

export async function runCommand(page: Page, commandTitle: string): Promise<void> {
  await openPalette(page, commandTitle);
  await paletteRow(page, commandTitle).first().click();
  await quickInput(page).waitFor({ state: 'hidden' });
}

/** Closes the palette if it is open. */
export async function closePalette(page: Page): Promise<void> {
  if (await quickInput(page).isVisible()) {
    await page.keyboard.press('Escape');
    await quickInput(page).waitFor({ state: 'hidden' });
  }
}

/**
 * Labels of the visible rows (role=treeitem) of a tree: the explorer by default, or of the view
 * pane whose header title is `viewTitle` (e.g. a Distill Lab tree view), or a locator's.
 */
export async function treeItems(page: Page, scope?: string | Locator): Promise<string[]> {
  let root: Locator;
  if (scope === undefined) root = page.locator('.explorer-folders-view');
  else if (typeof scope === 'string') root = viewPane(page, scope);
  else root = scope;
  const rows = root.locator('[role=treeitem]');
  await rows.first().waitFor({ state: 'visible' });
  const labels = await rows.evaluateAll((els) =>
    els.map((e) => (e.querySelector('.label-name, .monaco-highlighted-label')?.textContent ?? e.getAttribute('aria-label') ?? '').trim()),
  );
  return labels;
}

/** The tree row whose label is `label` (in the explorer, or in the view titled `viewTitle`). */
export function treeItem(page: Page, label: string, viewTitle?: string): Locator {
  const root = viewTitle ? viewPane(page, viewTitle) : page.locator('.explorer-folders-view');
  return root.locator('[role=treeitem]').filter({ hasText: new RegExp(`^\\s*${escapeRegExp(label)}`) });
}

/** A view pane (side bar or panel) by its header title, case-insensitive. */
export function viewPane(page: Page, viewTitle: string): Locator {
  return page.locator('.pane').filter({ has: page.locator('.pane-header h3.title', { hasText: new RegExp(`^${escapeRegExp(viewTitle)}$`, 'i') }) }).locator('.pane-body');
}

/**
 * The content of a webview: `iframe.webview.ready` → `#active-frame`. With `title`, the outer
 * iframe whose title attribute matches (VS Code sets it to the panel's title).
 */
export function webviewFrame(page: Page, title?: string): FrameLocator {
  const outer = title ? `iframe.webview.ready[title="${title.replace(/"/g, '\\"')}"]` : 'iframe.webview.ready';
  return page.frameLocator(outer).first().frameLocator('#active-frame');
}

/**
 * The document of the visible result view of a kind (its body[data-view]) in an editor panel or,
 * with `place` 'panel-area', in the panel area's Results view, found among all frames: hidden
 * views are not retained, so at most one document per kind and place exists.
 */
export async function panelFrame(page: Page, view: string, timeoutMs = 30_000, place = 'editor'): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      const v = await f.evaluate(() => `${document.body?.dataset.view}@${document.body?.dataset.place}`).catch(() => undefined);
      if (v === `${view}@${place}`) return f;
    }
    if (Date.now() > end) throw new Error(`no visible ${view} webview (${place}) after ${timeoutMs} ms`);
    await page.waitForTimeout(250);
  }
}

/** Title of the active editor tab. */
export async function activeEditorTitle(page: Page): Promise<string> {
  return (await page.locator('.tabs-container .tab.active .label-name').first().textContent())?.trim() ?? '';
}

/** Texts of the visible notification toasts. */
export async function notifications(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message').allTextContents();
}

/**
 * Inside a mocha `describe`: after each failed test, a screenshot named after it (if the
 * workbench got started).
 */
export function screenshotFailures(workbench: () => Workbench | undefined): void {
  afterEach(async function () {
    const wb = workbench();
    if (this.currentTest?.state !== 'failed' || !wb) return;
    const file = await screenshot(wb.page, `FAILED-${this.currentTest.fullTitle()}`).catch(() => undefined);
    if (file) console.log(`      screenshot: ${file}`);
  });
}

/** Saves test-output/ui/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file });
  return file;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
