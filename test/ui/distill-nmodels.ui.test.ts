/// <reference types="mocha" />
// A run of N models in the real workbench (packaged extension, code-server): an online
// (deep-mutual-learning) config of 3 peers, started from the editor's Run CodeLens. The
// CodeLens over `distillation.mode` names what the mode trains; the finished run lists every
// peer, and every peer's alone-trained baseline, as its own row in the Experiments tree, each
// with the errors the run recorded for it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { screenshot, screenshotFailures, startWorkbench, type Workbench } from './helpers';

const CONFIG = 'dml.distill.json';

/** Three peers (the teacher, the student and one more), each also trained alone: tiny, a few seconds. */
const onlineConfig = () => ({
  name: 'dml',
  seed: 1,
  data: { dataset: 'mnist', trainSize: 300, testSize: 200 },
  teacher: { model: { type: 'mlp', hidden: [64] }, training: { epochs: 2, optimizer: { type: 'sgd', lr: 0.05 } } },
  student: { model: { type: 'mlp', hidden: [32] } },
  baseline: true,
  distillation: {
    mode: 'online',
    temperature: 1,
    peers: [{ model: { type: 'mlp', hidden: [16] } }],
    losses: [
      { type: 'ce', weight: 1 },
      { type: 'kd', weight: 1 },
    ],
  },
  training: { epochs: 2, batchSize: 64, optimizer: { type: 'sgd', lr: 0.05 } },
});

function rows(page: Page): Locator {
  return page.locator('.part.sidebar .pane-body [role=treeitem]');
}

describe('Distill Lab: N models — an online run of 3 peers', function () {
  let wb: Workbench;
  let page: Page;
  let fixture: string;

  before(async function () {
    this.timeout(180_000);
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-nmodels-'));
    fs.writeFileSync(path.join(fixture, CONFIG), JSON.stringify(onlineConfig(), null, 2) + '\n');
    wb = await startWorkbench({ fixture });
    page = wb.page;
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('the CodeLens over distillation.mode names the stages: each peer alone, then the peers together', async () => {
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const config = rows(page).filter({ hasText: CONFIG });
    await config.waitFor({ timeout: 30_000 });
    await config.click(); // opens the config
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    await page
      .locator('.codelens-decoration', { hasText: 'peer1-alone → peer2-alone → peer3-alone → peers (peer1, peer2, peer3)' })
      .waitFor({ state: 'attached', timeout: 30_000 });
  });

  it('started from the Run CodeLens, the finished run shows three peers and their baselines in the tree', async function () {
    this.timeout(300_000);
    const t0 = Date.now();
    await page.locator('.codelens-decoration a', { hasText: /^\s*Run\s*$/ }).first().click();
    // The run row: live, then each peer's error ("peer1 24.0 · peer2 25.7 · peer3 26.7 % err").
    const run = rows(page).filter({ hasText: /peer1 \d+\.\d · peer2 \d+\.\d · peer3 \d+\.\d % err/ });
    await run.first().waitFor({ timeout: 240_000 });
    console.log(`      3-peer online run trained in the packaged extension in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    assert.equal(await run.first().locator('.codicon-pass').count(), 1);

    const runs = path.join(wb.workspace, '.distill', 'runs');
    const [id] = fs.readdirSync(runs);
    const manifest = JSON.parse(fs.readFileSync(path.join(runs, id, 'manifest.json'), 'utf8'));
    assert.equal(manifest.status, 'done');
    const errors = (model: string) => manifest.results.models[model].testErrors as number;

    await run.first().click(); // expands it
    const expected: [string, string, string?][] = [
      ['peer 1 (teacher) alone', 'peer1-alone'],
      ['peer 2 (student) alone', 'peer2-alone'],
      ['peer 3 alone', 'peer3-alone'],
      ['peer 1 (teacher)', 'peer1', 'peer1-alone'],
      ['peer 2 (student)', 'peer2', 'peer2-alone'],
      ['peer 3', 'peer3', 'peer3-alone'],
    ];
    for (const [label, model, baseline] of expected) {
      const delta = baseline ? errors(model) - errors(baseline) : undefined;
      const versus = delta === undefined ? '' : ` · ${delta < 0 ? `−${-delta}` : delta > 0 ? `+${delta}` : '±0'} vs ${baseline}`;
      const description = `${((100 * errors(model)) / 200).toFixed(1)}% err${versus}`;
      // The row's label is the model's, its description the errors the run recorded for it.
      const row = rows(page).filter({ hasText: new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}\\s*${description.replace(/[()+.]/g, '\\$&')}\\s*$`) });
      await row.first().waitFor({ timeout: 10_000 });
    }
    // Then the run's files, as for every run.
    for (const artifact of ['Metrics', 'Log', 'Probes', 'Manifest']) await rows(page).filter({ hasText: new RegExp(`^\\s*${artifact}`) }).first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'nmodels-online-tree');
  });
});
