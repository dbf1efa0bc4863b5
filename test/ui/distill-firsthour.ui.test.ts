/// <reference types="mocha" />
// A new user's first hour, in the real workbench with the packaged extension (issue 13): the
// walkthrough creates an experiment; titles, template details, run rows and lenses fit; a cancelled
// run keeps the last result in view; a trained teacher can be reused; every mistake is reported
// once and misspellings have quick fixes; layer names complete; result panels share one side
// group; Fashion-MNIST probes are captioned with class names; an export says where it went.
// The workspace holds a Fashion-MNIST config and two recorded runs of it (a finished one and a
// newer cancelled one, copied from test/fixtures/run/cnn-hints), so nothing needs to train here.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { FASHION_MNIST_CLASS_NAMES } from '../../src/core/data/builtins';
import { openPalette, paletteRow, panelFrame, quickInput, ROOT, runCommand, screenshot, screenshotFailures, startWorkbench, type Workbench } from './helpers';

const CONFIG = 'fashion.distill.json';
const MISTAKES = 'mistakes.distill.json';
const FIXTURE_RUN = path.join(ROOT, 'test', 'fixtures', 'run', 'cnn-hints');

/** The fixture run's config on Fashion-MNIST (its probes' labels become class names). */
function fashionConfig(): Record<string, any> {
  const { config } = JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN, 'config.json'), 'utf8'));
  const { testFraction: _unused, ...data } = config.data;
  return { ...config, name: 'fashion', data: { ...data, dataset: 'fashion-mnist' } };
}

/** A copy of the fixture run as a run of `configPath`, started `minutesAgo`, with a saved teacher. */
function recordRun(ws: string, configPath: string, id: string, minutesAgo: number, status: 'done' | 'cancelled'): void {
  const dir = path.join(ws, '.distill', 'runs', id);
  fs.cpSync(FIXTURE_RUN, dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const startedAt = new Date(Date.now() - minutesAgo * 60_000);
  Object.assign(manifest, { id, name: 'fashion', configPath, status, startedAt: startedAt.toISOString(), endedAt: new Date(startedAt.getTime() + 60_000).toISOString() });
  if (status === 'cancelled') manifest.results = {};
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, configPath, config: fashionConfig() }, null, 1));
  if (status === 'done') {
    fs.mkdirSync(path.join(dir, 'models', 'teacher'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'models', 'teacher', 'model.json'), '{}');
  }
}

/** Text elements inside `root` whose text is cut off (an ellipsis or hidden overflow). */
function truncated(root: Locator): Promise<string[]> {
  return root.evaluateAll((els) =>
    els.flatMap((el) =>
      Array.from(el.querySelectorAll<HTMLElement>('*'))
        .filter((e) => e.childElementCount === 0 && (e.textContent ?? '').trim() && e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
        .map((e) => `${e.textContent} (${e.scrollWidth} > ${e.clientWidth})`),
    ),
  );
}

/**
 * Every problem in the status bar's problems item, errors and warnings together ("Errors: 5,
 * Warnings: 0"): VS Code's JSON service reports schema problems as warnings, so an error count
 * alone would miss a mistake reported twice.
 */
async function errorCount(page: Page): Promise<number> {
  const label = (await page.locator('.statusbar-item[id="status.problems"] a, .statusbar-item[id="status.problems"]').first().getAttribute('aria-label')) ?? '';
  if (/no problems/i.test(label)) return 0;
  const counts = [...label.matchAll(/\d+/g)].map((m) => Number(m[0]));
  assert.ok(counts.length, `problems item: ${label}`);
  return counts.reduce((a, b) => a + b, 0);
}

async function waitForErrors(page: Page, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  let last = -1;
  while (Date.now() < end) {
    last = await errorCount(page);
    if (last === n) return;
    await page.waitForTimeout(300);
  }
  assert.equal(last, n, 'problems (errors and warnings) in the status bar');
}

/** Puts the cursor in the active editor just before the end of the first match of `text`. */
async function cursorInside(page: Page, text: string, fromEnd: number): Promise<void> {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+F');
  const widget = page.locator('.editor-widget.find-widget.visible');
  await widget.locator('.find-part textarea').first().fill(text);
  await page.keyboard.press('Enter');
  await widget.locator('[aria-label^="Close"]').click();
  await widget.waitFor({ state: 'hidden' });
  // The match stays selected: collapse to its end, then step back into it.
  await page.keyboard.press('ArrowRight');
  for (let i = 0; i < fromEnd; i++) await page.keyboard.press('ArrowLeft');
}

/** A run's start as the tree and the lenses show it: "14:02", or "Nov 28 14:02" before today. */
const TIME = String.raw`(?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d`;

const lensTexts = async (page: Page) => (await page.locator('.codelens-decoration').allTextContents()).map((t) => t.trim());

describe('Distill Lab: a new user’s first hour (packaged extension)', function () {
  let wb: Workbench;
  let page: Page;
  let fixture: string;

  before(async function () {
    this.timeout(180_000);
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-firsthour-'));
    fs.writeFileSync(path.join(fixture, CONFIG), JSON.stringify(fashionConfig(), null, 2) + '\n');
    // Five mistakes: a string seed, a string baseline, a misspelt optimizer, a misspelt key, an unknown layer.
    const m = fashionConfig();
    m.name = 'mistakes';
    m.seed = 'one';
    m.baseline = 'yes';
    m.training.optimizer.type = 'sdg';
    m.distillation = { temprature: 4, losses: [m.distillation.losses[0], m.distillation.losses[1], { type: 'hint', weight: 1, student: 'conv3', teacher: 'conv2' }] };
    fs.writeFileSync(path.join(fixture, MISTAKES), JSON.stringify(m, null, 2) + '\n');
    wb = await startWorkbench({ fixture, viewport: { width: 1400, height: 900 } });
    page = wb.page;
    // The runs refer to the config where the workbench opened it (a temp copy of the fixture).
    const configPath = path.join(wb.workspace, CONFIG);
    recordRun(wb.workspace, configPath, '20261129-100000-fashion', 30, 'done');
    recordRun(wb.workspace, configPath, '20261129-103000-fashion', 5, 'cancelled');
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('the walkthrough’s New Experiment creates one: the pick and the name box stay open', async () => {
    await openPalette(page, 'Welcome: Open Walkthrough...');
    await paletteRow(page, 'Welcome: Open Walkthrough...').first().click();
    await quickInput(page).locator('.monaco-list-row', { hasText: 'Get started with Distill Lab' }).click();
    const step = page.locator('.gettingStartedContainer .getting-started-step', { hasText: 'Create an experiment' });
    await step.waitFor({ timeout: 30_000 });
    await step.click();
    await step.locator('.monaco-button, button, a', { hasText: 'New Experiment' }).first().click();
    const rows = quickInput(page).locator('.quick-input-list .monaco-list-row');
    await rows.filter({ hasText: 'Quick MNIST' }).waitFor();
    // The focus moves back to the walkthrough (as it does when it marks the step done, or a click
    // there): the pick stays open.
    const elsewhere = page.locator('.gettingStartedContainer .getting-started-step', { hasText: 'Inspect the results' }).first();
    await elsewhere.click();
    await page.waitForTimeout(1000);
    assert.ok(await rows.filter({ hasText: 'Quick MNIST' }).isVisible(), 'the template pick closed when the focus moved');
    // Every template's detail fits the pick.
    assert.deepEqual(await truncated(rows), [], 'template details cut off');
    await screenshot(page, 'firsthour-template-pick');
    await rows.filter({ hasText: 'Quick MNIST' }).click();
    // The name box, with the suggested name: Enter takes it.
    const input = quickInput(page).locator('input.input');
    await quickInput(page).locator('.quick-input-message, .quick-input-title', { hasText: /New Experiment|File name/ }).first().waitFor();
    await elsewhere.click();
    await page.waitForTimeout(1000);
    assert.ok(await input.isVisible(), 'the name box closed when the focus moved');
    assert.equal(await input.inputValue(), 'quick-mnist');
    await input.press('Enter');
    await page.locator('.tabs-container .tab.active', { hasText: 'quick-mnist.distill.json' }).waitFor({ timeout: 20_000 });
    const created = JSON.parse(fs.readFileSync(path.join(wb.workspace, 'quick-mnist.distill.json'), 'utf8'));
    assert.equal(created.name, 'quick-mnist');
    assert.equal(created.$schema, undefined, 'no $schema that resolves nowhere');
    await runCommand(page, 'View: Close All Editors');
  });

  it('the view title, run rows and result lens fit; the details are in tooltips', async () => {
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const title = page.locator('.part.sidebar .composite.title .title-label h2');
    await title.waitFor();
    assert.match((await title.textContent()) ?? '', /Distill Lab/i);
    assert.deepEqual(await truncated(page.locator('.part.sidebar .composite.title .title-label')), [], 'view title cut off');
    const rows = page.locator('.part.sidebar .pane-body [role=treeitem]');
    const done = rows.filter({ hasText: new RegExp(`^\\s*${TIME}`) }).filter({ hasText: /S \d+\.\d · B \d+\.\d · T \d+\.\d % err/ });
    await done.first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await truncated(rows), [], 'tree rows cut off');
    await screenshot(page, 'firsthour-tree');
  });

  it('a cancelled last run keeps the last result in the CodeLens; the trained teacher can be reused', async () => {
    await page.locator('.part.sidebar .pane-body [role=treeitem]', { hasText: CONFIG }).click();
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    await page.locator('.codelens-decoration', { hasText: new RegExp(`Last result ${TIME}: S \\d+\\.\\d · B`) }).waitFor({ timeout: 30_000 });
    const lenses = await lensTexts(page);
    assert.ok(lenses.some((l) => new RegExp(`Last run ${TIME}: cancelled`).test(l)), lenses.join(' | '));
    assert.deepEqual(await truncated(page.locator('.codelens-decoration').first()), [], 'lens cut off');
    const reuse = page.locator('.codelens-decoration a', { hasText: new RegExp(`Reuse the teacher trained ${TIME}`) });
    await reuse.first().click();
    await page.locator('.view-lines', { hasText: '"source": "run", "run": "20261129-100000-fashion"' }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'firsthour-reuse-teacher');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+Z');
    await page.locator('.view-lines', { hasText: '"source": "run"' }).waitFor({ state: 'detached', timeout: 10_000 });
    await page.keyboard.press('Control+S');
  });

  it('five mistakes are five problems; a misspelt layer has a quick fix', async () => {
    await runCommand(page, 'View: Close All Editors');
    await openPalette(page);
    await quickInput(page).locator('input.input').fill(MISTAKES);
    await quickInput(page).locator('.monaco-list-row', { hasText: MISTAKES }).first().click();
    await page.locator('.tabs-container .tab.active', { hasText: MISTAKES }).waitFor();
    await waitForErrors(page, 5);
    // Still 5 a moment later (VS Code's JSON check reports nothing of its own).
    await page.waitForTimeout(2000);
    assert.equal(await errorCount(page), 5);
    await screenshot(page, 'firsthour-five-mistakes');

    await cursorInside(page, '"conv3"', 2);
    await page.keyboard.press('Control+.');
    const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'Change to "conv2"' });
    await fix.first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'firsthour-quick-fix');
    // The action list takes the keyboard (its pointer block swallows synthetic clicks): arrow to the fix, Enter.
    for (let i = 0; i < 8 && !/Change to "conv2"/.test((await page.locator('.action-widget .monaco-list-row.focused').textContent().catch(() => '')) ?? ''); i++) {
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    await page.locator('.view-lines', { hasText: '"student": "conv2"' }).waitFor({ timeout: 10_000 });
    await waitForErrors(page, 4);
  });

  it('layer names complete inside a term’s "teacher": ""', async () => {
    await cursorInside(page, '"teacher": "conv2"', 1);
    for (let i = 0; i < 5; i++) await page.keyboard.press('Backspace');
    await page.locator('.view-lines', { hasText: '"teacher": ""' }).waitFor();
    await page.keyboard.press('Control+Space');
    const suggest = page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');
    await suggest.first().waitFor({ timeout: 10_000 });
    const labels = (await suggest.locator('.label-name').allTextContents()).map((t) => t.trim());
    for (const layer of ['conv1', 'conv2', 'fc1', 'logits']) assert.ok(labels.includes(layer), `suggested: ${labels.join(', ')}`);
    await screenshot(page, 'firsthour-layer-completion');
    // The list has the keyboard: arrow to conv2, Enter.
    for (let i = 0; i < 8 && !/conv2/.test((await page.locator('.editor-widget.suggest-widget.visible .monaco-list-row.focused').textContent().catch(() => '')) ?? ''); i++) {
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    await page.locator('.view-lines', { hasText: '"teacher": "conv2"' }).waitFor({ timeout: 10_000 });
    await waitForErrors(page, 4);
    await page.keyboard.press('Control+S');
  });

  it('result panels share one side group; Fashion probes are captioned by class; an export says where it went', async function () {
    this.timeout(180_000);
    await runCommand(page, 'View: Close All Editors');
    await page.locator('.part.sidebar .pane-body [role=treeitem]', { hasText: CONFIG }).click();
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    for (const command of ['Open Results', 'Open Logits', 'Open Feature Maps', 'Show Model Layers']) {
      await runCommand(page, `Distill Lab: ${command}`);
      await page.waitForTimeout(500);
    }
    assert.equal(await page.locator('.editor-group-container').count(), 2, 'editor groups: the config and one side group');

    await page.locator('.tabs-container .tab', { hasText: /^Logits/ }).first().click();
    const logits = await panelFrame(page, 'logits');
    await logits.locator('.thumb-caption').first().waitFor({ timeout: 30_000 });
    const captions = (await logits.locator('.thumb-caption').allTextContents()).map((c) => c.replace(' ✕', '').trim());
    assert.ok(captions.length > 0 && captions.every((c) => FASHION_MNIST_CLASS_NAMES.includes(c)), `captions: ${captions.join(', ')}`);
    await screenshot(page, 'firsthour-logits-class-names');

    await page.locator('.tabs-container .tab', { hasText: /^Loss Split/ }).first().click();
    const loss = await panelFrame(page, 'lossSplit');
    await loss.locator('#loss-csv').click();
    // code-server's save dialog is a quick input with the path: Enter accepts the default.
    await quickInput(page).waitFor();
    await page.keyboard.press('Enter');
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: /exported CSV to .*\.csv/ });
    await toast.waitFor({ timeout: 20_000 });
    for (const action of ['Open', 'Reveal']) assert.equal(await toast.locator('.monaco-button', { hasText: new RegExp(`^${action}$`) }).count(), 1, action);
    const csv = fs.readdirSync(wb.workspace).find((f) => f.endsWith('.csv'));
    assert.ok(csv, 'a CSV in the workspace');
    assert.match(fs.readFileSync(path.join(wb.workspace, csv), 'utf8').split('\n')[0], /^epoch,ce raw,/);
    await screenshot(page, 'firsthour-export');
  });
});
