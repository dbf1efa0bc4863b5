/// <reference types="mocha" />
// Smoke test of the packaged extension in the real workbench: installs out/distill-lab.vsix,
// opens the fixture workspace, checks the palette, the explorer and that Distill Lab runs.
import * as assert from 'node:assert/strict';
import {
  activeEditorTitle,
  closePalette,
  openPalette,
  paletteRow,
  runCommand,
  screenshot,
  screenshotFailures,
  startWorkbench,
  treeItem,
  treeItems,
  type Workbench,
} from './helpers';

describe('workbench smoke (packaged extension)', function () {
  let wb: Workbench;

  before(async function () {
    this.timeout(180_000);
    wb = await startWorkbench();
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
  });

  it('opens the command palette with F1', async () => {
    const input = await openPalette(wb.page, 'View: Show Explorer');
    assert.equal(await input.inputValue(), '>View: Show Explorer');
    assert.equal(await paletteRow(wb.page, 'View: Show Explorer').count(), 1);
    await screenshot(wb.page, 'palette');
    await closePalette(wb.page);
  });

  it('shows quick.distill.json in the explorer', async () => {
    await runCommand(wb.page, 'View: Show Explorer');
    const items = await treeItems(wb.page);
    assert.ok(items.includes('quick.distill.json'), `explorer rows: ${items.join(', ')}`);
    await treeItem(wb.page, 'quick.distill.json').click();
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'quick.distill.json' }).waitFor();
    assert.equal(await activeEditorTitle(wb.page), 'quick.distill.json');
    await screenshot(wb.page, 'explorer');
  });

  it('runs Distill Lab in the extension host', async () => {
    await runCommand(wb.page, 'Developer: Show Running Extensions');
    const row = wb.page.locator('.runtime-extensions-editor .extension', { hasText: 'Distill Lab' }).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    // "Activating..." until activate() returned, then "Activation: <n>ms" (the editor refreshes).
    await row.filter({ hasText: /Activation: \d+ms/ }).waitFor({ state: 'visible', timeout: 30_000 });
    await row.scrollIntoViewIfNeeded();
    await screenshot(wb.page, 'running-extensions');
  });
});
