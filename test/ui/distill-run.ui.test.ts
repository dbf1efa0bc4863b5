/// <reference types="mocha" />
// Distill Lab end to end in the real workbench, as a user drives it: the packaged .vsix installed
// into code-server, a workspace holding the quick example, the experiment run from the command
// palette; the run appears in the Experiments view with a spinner and finishes with its result.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { clickMenuItem, openPalette, paletteRow, ROOT, runCommand, screenshot, screenshotFailures, startWorkbench, type Workbench } from './helpers';

const TEACHER_EPOCHS = 20;

/** The Distill Lab side bar's tree rows. */
function experimentRows(page: Page): Locator {
  return page.locator('.part.sidebar .pane-body [role=treeitem]');
}

describe('Distill Lab: run an example from the palette (packaged extension)', function () {
  let wb: Workbench;
  let fixture: string;

  before(async function () {
    this.timeout(180_000);
    // An example workspace: the quick example as a user would have it.
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-example-'));
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'quick-mnist.distill.json'), 'utf8'));
    // The time left appears after two seconds of a stage's steps: a teacher of 20 epochs keeps its
    // stage that long even on a fast machine (the quick example's own stages can be shorter).
    example.teacher.training.epochs = TEACHER_EPOCHS;
    // One run, not the example's three seeds (test/ui/distill-seeds.ui.test.ts runs a group).
    delete example.seeds;
    fs.writeFileSync(path.join(fixture, 'quick-mnist.distill.json'), JSON.stringify(example, null, 2) + '\n');
    wb = await startWorkbench({ fixture });
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('shows the example in the Distill Lab Experiments view', async () => {
    const page = wb.page;
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const row = experimentRows(page).filter({ hasText: 'quick-mnist.distill.json' });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.click(); // opens the config
    await page.locator('.tabs-container .tab.active', { hasText: 'quick-mnist.distill.json' }).waitFor();
    // CodeLens above the config and on its hint term.
    await page.locator('.codelens-decoration', { hasText: 'Run' }).first().waitFor({ timeout: 30_000 });
    // (The hint term is below the fold: its lens exists but is not painted.)
    await page.locator('.codelens-decoration', { hasText: 'student fc1 [64] → linear → teacher fc2 [128]' }).waitFor({ state: 'attached', timeout: 30_000 });
    await screenshot(page, 'distill-experiments-view');
  });

  it('runs the experiment from the palette; the run appears in the tree and finishes', async function () {
    this.timeout(420_000);
    const page = wb.page;
    const t0 = Date.now();
    await runCommand(page, 'Distill Lab: Run Experiment');
    if (process.env.DISTILL_UI_DEBUG) {
      for (let i = 0; i < 10; i++) {
        await screenshot(page, `debug-${i}`);
        console.log(`debug-${i} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await page.waitForTimeout(1500);
      }
    }
    // A progress notification with the stage, and a spinning run row in the tree.
    const progress = page.locator('.notifications-toasts .notification-list-item', { hasText: /Distill Lab: quick-mnist.*(queued|starting|teacher|baseline|student)/ });
    await progress.first().waitFor({ timeout: 60_000 });
    const running = experimentRows(page).filter({ has: page.locator('.codicon[class*="loading"]') });
    await running.first().waitFor({ timeout: 60_000 });
    // The step count and, after a few seconds of steps, the time left: in the status bar, the
    // notification and the tree, from one snapshot.
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: /quick-mnist: (teacher|baseline|student) · epoch \d+\/\d+ · step \d+\/\d+ · ~\d+ (s|min) left/ });
    await status.first().waitFor({ timeout: 120_000 });
    await page.locator('.notifications-toasts .notification-list-item', { hasText: /step \d+\/\d+ · ~\d+ (s|min) left/ }).first().waitFor({ timeout: 10_000 });
    await experimentRows(page).filter({ hasText: /(teacher|baseline|student) \d+\/\d+ · \d+\/\d+/ }).first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'distill-run-in-progress');

    const finished = experimentRows(page).filter({ hasText: /S \d+\.\d · B \d+\.\d · T \d+\.\d % err/ });
    await finished.first().waitFor({ timeout: 400_000 });
    console.log(`      quick-mnist trained in the packaged extension in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    assert.equal(await finished.first().locator('.codicon-pass').count(), 1);
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'quick-mnist finished' });
    await toast.waitFor({ timeout: 10_000 });
    // It trained its teacher: the toast offers to reuse it (teacher.source "run").
    for (const action of ['Open Results', 'Reuse Its Teacher']) assert.equal(await toast.locator('.monaco-button', { hasText: action }).count(), 1, action);
    // The toast hides after a while; the status bar keeps the result (a click opens the results).
    await page.locator('.part.statusbar .statusbar-item', { hasText: /quick-mnist: S \d+\.\d · B/ }).waitFor({ timeout: 10_000 });
    // The CodeLens above the config switches from the live progress to the last run's result.
    await page.locator('.codelens-decoration', { hasText: /Last run \d\d:\d\d: S \d+\.\d · B/ }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.codelens-decoration', { hasText: 'Stop' }).count(), 0);
    await experimentRows(page).filter({ hasText: 'quick-mnist.distill.json' }).filter({ hasNotText: 'active' }).waitFor({ timeout: 5000 });
    const file = await screenshot(page, 'distill-run-finished');
    console.log(`      screenshot: ${file}`);

    const runs = path.join(wb.workspace, '.distill', 'runs');
    const [id] = fs.readdirSync(runs);
    const manifest = JSON.parse(fs.readFileSync(path.join(runs, id, 'manifest.json'), 'utf8'));
    assert.equal(manifest.status, 'done');
    assert.ok(manifest.results.student && manifest.results.baseline && manifest.results.teacher);
  });

  it("a run's artifacts and context menu; context-only commands stay out of the palette", async () => {
    const page = wb.page;
    const run = experimentRows(page).filter({ hasText: /S \d+\.\d · B/ }).first();
    await run.click(); // expands it
    // One row per model (label and errors; the saved network opens from it), then the run's files.
    for (const model of ['teacher', 'baseline student', 'distilled student']) {
      await experimentRows(page).filter({ hasText: new RegExp(`^\\s*${model}\\s*\\d+\\.\\d% err`) }).first().waitFor({ timeout: 10_000 });
    }
    for (const artifact of ['Metrics', 'Log', 'Probes', 'Config as run', 'Manifest']) {
      await experimentRows(page).filter({ hasText: new RegExp(`^\\s*${artifact}`) }).first().waitFor({ timeout: 10_000 });
    }
    await run.click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    await menu.waitFor();
    const items = (await menu.locator('.action-label').allTextContents()).map((t) => t.trim()).filter(Boolean);
    for (const title of ['Open Results', 'Open Logits', 'Open Feature Maps', 'Show Log', 'Open Metrics File', 'Compare Runs…', 'Export Student Model…', 'Reveal Run Folder', 'Copy Run ID', 'Delete Run…']) {
      assert.ok(items.includes(title), `context menu: ${items.join(', ')}`);
    }
    assert.ok(!items.includes('Stop Run'), 'a finished run has no Stop');
    // One command per intent: no second compare, no second way to the loss split.
    for (const gone of ['Open Loss Split', 'Compare Runs (Charts)…']) assert.ok(!items.includes(gone), `context menu: ${items.join(', ')}`);
    await screenshot(page, 'distill-run-context-menu');
    // Open Results opens the result panel, not the raw metrics.jsonl.
    await clickMenuItem(page, /^Open Results$/);
    await page.locator('.tabs-container .tab', { hasText: /^Loss Split/ }).first().waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('.tabs-container .tab', { hasText: 'metrics.jsonl' }).count(), 0, 'metrics.jsonl opened');

    const input = await openPalette(page);
    for (const hidden of ['Distill Lab: Copy Run ID', 'Distill Lab: Open Config as Run']) {
      // Typed in full, a palette command would be the only row; a hidden one gives none.
      await input.fill(`>${hidden}`);
      await page.waitForTimeout(700);
      assert.equal(await paletteRow(page, hidden).count(), 0, `${hidden} is listed in the palette`);
    }
    await input.fill('>Distill Lab: Compare Runs…');
    await paletteRow(page, 'Distill Lab: Compare Runs…').waitFor();
    await page.keyboard.press('Escape');
  });
});

describe('Distill Lab: an empty workspace (packaged extension)', function () {
  let wb: Workbench;
  let fixture: string;

  before(async function () {
    this.timeout(180_000);
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-empty-'));
    fs.writeFileSync(path.join(fixture, 'notes.md'), '# nothing to distill yet\n');
    wb = await startWorkbench({ fixture });
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('offers New Experiment (one way to start); the template lands in the tree', async () => {
    const page = wb.page;
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const welcome = page.locator('.part.sidebar .welcome-view');
    await welcome.locator('.monaco-button', { hasText: 'New Experiment' }).waitFor({ timeout: 30_000 });
    assert.equal(await welcome.locator('.monaco-button', { hasText: 'Open an Example' }).count(), 0);
    await welcome.locator('.monaco-button', { hasText: 'New Experiment' }).click();
    await screenshot(page, 'distill-welcome-pick-template');
    // The quick pick of templates, then the name box with the template's name.
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Fashion-MNIST CNN with feature hints' }).click();
    const input = page.locator('.quick-input-widget input.input');
    await page.waitForFunction(() => (document.querySelector('.quick-input-widget input.input') as HTMLInputElement | null)?.value === 'fashion-cnn-hints');
    await input.press('Enter');
    await page.locator('.tabs-container .tab.active', { hasText: 'fashion-cnn-hints.distill.json' }).waitFor();
    await experimentRows(page).filter({ hasText: 'fashion-cnn-hints.distill.json' }).waitFor({ timeout: 30_000 });
    assert.ok(fs.existsSync(path.join(wb.workspace, 'fashion-cnn-hints.distill.json')));
    // Its hint term's CodeLens: two conv maps bridged by a 1×1 conv.
    await page.locator('.codelens-decoration', { hasText: 'student conv2 [14×14×16] → conv1x1 → teacher conv2 [14×14×64]' }).waitFor({ state: 'attached', timeout: 30_000 });
    await screenshot(page, 'distill-example-opened');
  });

  it('has a walkthrough: create → run → inspect', async () => {
    const page = wb.page;
    await runCommand(page, 'View: Close All Editors');
    await openPalette(page, 'Welcome: Open Walkthrough...');
    await paletteRow(page, 'Welcome: Open Walkthrough...').first().click();
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Get started with Distill Lab' }).click();
    const steps = page.locator('.gettingStartedContainer .getting-started-step');
    await steps.filter({ hasText: 'Create an experiment' }).waitFor({ timeout: 30_000 });
    assert.equal(await steps.filter({ hasText: 'Run it' }).count(), 1);
    assert.equal(await steps.filter({ hasText: 'Inspect the results' }).count(), 1);
    await screenshot(page, 'distill-walkthrough');
  });
});
