/// <reference types="mocha" />
// A seed group in the real workbench (the packaged extension in code-server): a tiny config with
// `seeds: [1, 2]` run from the editor's Run lens; the Experiments view shows one group row with
// the student's test errors and the gap closed as mean ± std, a row per seed under it, and Compare
// (from the group's context menu) shows the group as one row of mean ± std that expands to its
// seeds, and its curve as the mean in a ± std band, one curve per seed once expanded; Loss Split
// on a seed offers the group's mean ± std. Every number is checked against the run folders'
// manifests and metrics (the mean curve against the seeds' curves).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import type { Manifest } from '../../src/core/protocol';
import { formatGapSpread, formatSpread, summarizeSeedGroup } from '../../src/core/seedGroups';
import { clickMenuItem, panelFrame, runCommand, screenshot, screenshotFailures, startWorkbench, type Workbench } from './helpers';

const CONFIG = 'seeds.distill.json';
const training = { epochs: 1, batchSize: 50, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } };
const TINY = {
  name: 'seeds',
  seeds: [1, 2],
  data: { dataset: 'mnist', trainSize: 300, testSize: 200 },
  teacher: { model: { type: 'mlp', hidden: [64] }, training },
  student: { model: { type: 'mlp', hidden: [16] } },
  distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] },
  training,
  probes: { samples: 2, cka: false },
};

function experimentRows(page: Page): Locator {
  return page.locator('.part.sidebar .pane-body [role=treeitem]');
}

function groupManifests(workspace: string): Manifest[] {
  const runs = path.join(workspace, '.distill', 'runs');
  return fs.readdirSync(runs).map((id) => JSON.parse(fs.readFileSync(path.join(runs, id, 'manifest.json'), 'utf8')) as Manifest);
}

describe('Distill Lab: a seed group (packaged extension)', function () {
  let wb: Workbench;
  let fixture: string;

  before(async function () {
    this.timeout(180_000);
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-seeds-'));
    fs.writeFileSync(path.join(fixture, CONFIG), JSON.stringify(TINY, null, 2) + '\n');
    // Without the OpenBLAS addon (which the rest of this tier uses): the installed extension's
    // trainer then starts tfjs's threaded wasm build from the packaged files, the path of a user
    // without a system BLAS (src/trainer/wasmThreads.ts).
    wb = await startWorkbench({ fixture, env: { DISTILL_NATIVE: '0' } });
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('runs from the editor; the tree shows the group with mean ± std and a row per seed', async function () {
    this.timeout(300_000);
    const page = wb.page;
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const config = experimentRows(page).filter({ hasText: CONFIG });
    await config.waitFor({ state: 'visible', timeout: 30_000 });
    await config.click(); // opens the config
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    await page.locator('.codelens-decoration a', { hasText: /^\s*Run\s*$/ }).first().click({ timeout: 30_000 });

    // Done: one group row (two seeds), its description the student's errors and the gap closed.
    const group = experimentRows(page).filter({ hasText: /· 2 seeds/ });
    await group.filter({ has: page.locator('.codicon-pass') }).waitFor({ timeout: 240_000 });
    const manifests = groupManifests(wb.workspace);
    assert.equal(manifests.length, 2);
    assert.ok(manifests.every((m) => m.status === 'done' && m.group?.seeds.join() === '1,2'));
    const threads = os.cpus().length > 1 ? /^wasm \+ SIMD sgemm, \d+ threads \(native BLAS off: disabled by DISTILL_NATIVE=0\)/ : /^wasm \+ SIMD sgemm/;
    for (const m of manifests) assert.match(m.versions.backendDetails ?? '', threads);
    const g = summarizeSeedGroup(manifests);
    const expected = `S ${formatSpread(g.models.student.testErrors)} err${g.gapRecovered ? ` · gap ${formatGapSpread(g.gapRecovered)}` : ''}`;
    assert.match(expected, /^S \d+\.\d ± \d+\.\d err/);
    assert.equal((await group.locator('.label-description').textContent())?.trim(), expected);
    // The toast names the group's mean ± std and offers Compare.
    // The CodeLens above the config: the group's result, not its last seed's.
    const lens = page.locator('.codelens-decoration', { hasText: 'Last group' }).first();
    await lens.waitFor({ timeout: 10_000 });
    const lensText = (await lens.textContent()) ?? '';
    assert.ok(lensText.includes(`(2 seeds): ${expected}`), lensText);
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'seeds finished 2 seeds' });
    await toast.waitFor({ timeout: 10_000 });
    assert.equal(await toast.locator('.monaco-button', { hasText: 'Compare Seeds' }).count(), 1);

    // Expanded: one row per seed, each the usual run row with its own result.
    await group.click();
    for (const m of manifests) {
      const pct = (k: 'student' | 'baseline' | 'teacher') => ((100 * m.results[k]!.testErrors) / m.results[k]!.testCount).toFixed(1);
      await experimentRows(page)
        .filter({ hasText: `seed ${m.seed}` })
        .filter({ hasText: `S ${pct('student')} · B ${pct('baseline')} · T ${pct('teacher')} % err` })
        .waitFor({ timeout: 10_000 });
    }
    await screenshot(page, 'seeds-tree');
  });

  it('Compare from the group row: one row of mean ± std, expandable to its seeds', async function () {
    this.timeout(120_000);
    const page = wb.page;
    const manifests = groupManifests(wb.workspace).sort((a, b) => a.group!.index - b.group!.index);
    const g = summarizeSeedGroup(manifests);
    await experimentRows(page).filter({ hasText: /· 2 seeds/ }).click({ button: 'right' });
    await clickMenuItem(page, /^Compare Runs…$/);
    const frame = await panelFrame(page, 'compare');
    const row = frame.locator(`#runs tr[data-group="${g.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    const cells = await row.locator('td').allTextContents();
    const rate = (k: string) => {
      const m = g.models[k];
      return `${formatSpread(m.testErrors)} (${formatSpread({ ...m.testAccuracy, mean: 1 - m.testAccuracy.mean }, 1, 100)}%)`;
    };
    assert.deepEqual(cells.slice(0, 5), ['done', rate('teacher'), rate('baseline'), rate('student'), g.gapRecovered ? formatGapSpread(g.gapRecovered) : '–']);
    // The chart: the collapsed group is one mean curve with its band's two edges.
    const curves = () =>
      frame.evaluate(() => {
        const u = (document.getElementById('compare-chart') as unknown as { __uplot?: { series: { label?: string }[]; data: (number | null)[][] } }).__uplot;
        return u ? { labels: u.series.map((x) => String(x.label ?? '')), data: u.data.map((c) => Array.from(c)) } : undefined;
      });
    const collapsed = (await curves())!;
    assert.deepEqual(collapsed.labels.slice(1).map((l) => l.replace(/^.*· 2 seeds/, '')), [', mean ± std', ' + std', ' − std']);
    await row.locator('.group-toggle').click();
    const seedRows = frame.locator('#runs tr.seed-row');
    await seedRows.nth(1).waitFor({ timeout: 10_000 });
    assert.deepEqual(
      (await seedRows.locator('th').allTextContents()).map((t) => t.trim()),
      manifests.map((m) => `seed ${m.seed} · ${m.id}`),
    );
    // Expanded: one curve per seed, whose average is the mean curve shown before.
    const expanded = (await curves())!;
    assert.deepEqual(expanded.labels.slice(1), manifests.map((m) => m.id));
    collapsed.data[1].forEach((mean, i) => assert.ok(Math.abs(mean! - (expanded.data[1][i]! + expanded.data[2][i]!) / 2) < 1e-12, `mean at epoch ${collapsed.data[0][i]}`));
    await screenshot(page, 'seeds-compare');
  });

  it('Loss Split on a seed of the group offers the group mean ± std, from the seeds’ own metrics', async function () {
    this.timeout(120_000);
    const page = wb.page;
    await page.locator('.tabs-container .tab', { hasText: CONFIG }).click();
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    await runCommand(page, 'Distill Lab: Open Results');
    const frame = await panelFrame(page, 'lossSplit');
    const toggle = frame.locator('#group-mean');
    await toggle.waitFor({ timeout: 30_000 });
    assert.match((await toggle.getAttribute('label')) ?? '', /2 seeds/);
    await toggle.click();
    await frame.locator('#loss-chart', { hasText: 'mean ± std of 2 seeds' }).waitFor({ timeout: 10_000 });
    // The total's mean over the seeds, from each run folder's metrics.jsonl (one epoch each).
    const runs = path.join(wb.workspace, '.distill', 'runs');
    const totals = fs.readdirSync(runs).map((id) => {
      const records = fs.readFileSync(path.join(runs, id, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; stage: string; total: number });
      return records.find((r) => r.kind === 'epoch' && r.stage === 'student')!.total;
    });
    const chart = await frame.evaluate(() => {
      const u = (document.getElementById('loss-chart') as unknown as { __uplot: { series: { label?: string }[]; data: (number | null)[][] } }).__uplot;
      return { labels: u.series.map((x) => String(x.label ?? '')), data: u.data.map((c) => Array.from(c)) };
    });
    const total = chart.labels.findIndex((l) => /^total .*mean ± std$/.test(l));
    assert.ok(total > 0, chart.labels.join(' | '));
    assert.ok(Math.abs(chart.data[total][0]! - (totals[0] + totals[1]) / 2) < 1e-9, `${chart.data[total][0]} vs ${totals}`);
    await screenshot(page, 'seeds-loss-split');
  });
});
