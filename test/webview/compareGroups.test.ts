// The compare panel with a seed group, in headless Chromium: the group's runs are one row of mean
// ± std (computed here by hand), which expands to one row per seed; a single run stays a row. On
// the chart the collapsed group is its mean curve in a ± std band (values worked out here), and
// one curve per seed once expanded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ModelResult } from '../../src/core/protocol';
import type { CompareRun } from '../../src/core/webviewProtocol';
import { RunReader } from '../../src/host/panels/runData';
import { FIXTURE_RUN, FIXTURE_RUN_B, launchBrowser, openPanel, type Panel, startServer, until } from './harness';

describe('compare panel: a seed group', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;
  const single = new RunReader(FIXTURE_RUN);
  const base = new RunReader(FIXTURE_RUN_B);
  const epochs = base.readMetrics(true).epochs;
  const model = (testErrors: number): ModelResult => ({ testErrors, testCount: 1000, testAccuracy: 1 - testErrors / 1000, params: 1, flops: 1, latencyMs: 1 });
  // Three seeds of one group: student 70, 72, 77; baseline 84, 82, 80; teacher 64, 65, 66.
  const seeds: [number, number, number][] = [
    [64, 84, 70],
    [65, 82, 72],
    [66, 80, 77],
  ];
  // Each seed's curves shifted down by its own offset, so the group's curve has a spread.
  const offsets = [0, 0.004, 0.017];
  const shifted = (index: number) => epochs.map((e) => (e.testAccuracy === undefined ? e : { ...e, testAccuracy: e.testAccuracy - offsets[index] }));
  const groupRuns: CompareRun[] = seeds.map(([t, b, s], index) => ({
    run: {
      ...base.runInfo()!,
      dir: `/runs/g-${index}`,
      id: `20260101-00000${index}-quick-mnist`,
      seed: index + 1,
      group: { id: 'g1', index, seeds: [1, 2, 3] },
      results: { teacher: model(t), baseline: model(b), student: model(s), gapRecovered: (b - s) / (b - t) },
    },
    epochs: shifted(index),
  }));
  const runs: CompareRun[] = [{ run: single.runInfo()!, epochs: single.readMetrics(true).epochs }, ...groupRuns];

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'compare', {
      host: async (m, p) => {
        if (m.type !== 'ready') return;
        await p.send({ type: 'target', target: { follow: false, runDirs: runs.map((r) => r.run.dir) } });
        await p.send({ type: 'compare', runs });
      },
    });
    await until(panel.page, () => document.querySelector('#runs tr[data-group]') !== null);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const cells = (selector: string) =>
    panel.page.$$eval(selector, (trs) => trs.map((tr) => [tr.querySelector('th')!.textContent!.trim(), ...Array.from(tr.querySelectorAll('td')).map((t) => t.textContent)]));

  it('shows the group as one row of mean ± std, beside the single run', async () => {
    assert.equal(await panel.page.$$eval('#runs tbody tr', (trs) => trs.length), 2);
    const [row] = await cells('#runs tr[data-group="g1"]');
    // teacher 65 ± 1; baseline 82 ± 2; student 73 ± √13 = 3.6 (7.3 ± 0.4 %); gaps 0.3, 0.588…, 0.785… → 56 ± 24 %.
    const gaps = seeds.map(([t, b, s]) => (b - s) / (b - t));
    const mean = gaps.reduce((a, g) => a + g, 0) / 3;
    const std = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / 2);
    assert.deepEqual(row, [
      '▸ 20260101-000000-quick-mnist · 3 seeds',
      'done',
      '65.0 ± 1.0 (6.5 ± 0.1%)',
      '82.0 ± 2.0 (8.2 ± 0.2%)',
      '73.0 ± 3.6 (7.3 ± 0.4%)',
      `${Math.round(100 * mean)} ± ${Math.round(100 * std)}%`,
      '', // other models: a group has its runs' own rows for them
      '',
    ]);
    assert.equal(await panel.page.$$eval('#runs tr[data-run]', (trs) => trs.length), 1, 'only the single run has its own row');
  });

  /** The chart's series labels (x first), data and which legend rows show. */
  const chartState = () =>
    panel.page.$eval('#compare-chart', (el) => {
      const u = (el as unknown as { __uplot: { series: { label: string }[]; data: (number | null)[][]; bands?: unknown[]; root: HTMLElement } }).__uplot;
      const rows = Array.from(u.root.querySelectorAll<HTMLElement>('.u-legend .u-series'));
      return { labels: u.series.map((s) => s.label), data: u.data, bands: u.bands?.length ?? 0, legend: rows.map((r) => r.style.display !== 'none') };
    });

  it('draws the collapsed group as its mean curve in a ± std band, the single run as its own curve', async () => {
    await until(panel.page, () => document.querySelector('#compare-chart .u-legend') !== null);
    const { labels, data, bands, legend } = await chartState();
    const name = '20260101-000000-quick-mnist · 3 seeds';
    assert.deepEqual(labels.slice(1), [single.runInfo()!.id, `${name}, mean ± std`, `${name} + std`, `${name} − std`]);
    assert.equal(bands, 1);
    assert.deepEqual(legend, [true, true, true, false, false], 'the band edges have no legend rows');
    // The default metric is the student's test accuracy (every epoch): per epoch the seeds' values
    // are acc − 0, acc − 0.004, acc − 0.017: mean acc − 0.007, sample std √((0.007² + 0.003² + 0.010²)/2).
    const std = Math.sqrt((0.007 ** 2 + 0.003 ** 2 + 0.01 ** 2) / 2);
    const student = epochs.filter((e) => e.stage === 'student');
    assert.ok(student.length >= 2);
    for (const e of student) {
      const i = data[0].indexOf(e.epoch);
      const mean = e.testAccuracy! - 0.007;
      assert.ok(Math.abs(data[2][i]! - mean) < 1e-12, `mean at epoch ${e.epoch}`);
      assert.ok(Math.abs(data[3][i]! - (mean + std)) < 1e-12 && Math.abs(data[4][i]! - (mean - std)) < 1e-12, `band at epoch ${e.epoch}`);
    }
    assert.equal(await panel.page.$$eval('#compare-toggles .series-toggle', (els) => els.length), 2, 'one toggle for the run, one for the group');
  });

  it('expands to one row per seed, and keeps that across a re-render', async () => {
    await panel.page.click('#runs tr[data-group="g1"] .group-toggle');
    await until(panel.page, () => document.querySelectorAll('#runs tr.seed-row').length === 3);
    const rows = await cells('#runs tr.seed-row');
    assert.deepEqual(
      rows.map((r) => [r[0], r[4]]),
      [
        ['seed 1 · 20260101-000000-quick-mnist', '70 (7.0%)'],
        ['seed 2 · 20260101-000001-quick-mnist', '72 (7.2%)'],
        ['seed 3 · 20260101-000002-quick-mnist', '77 (7.7%)'],
      ],
    );
    assert.equal(await panel.page.getAttribute('#runs tr[data-group="g1"] .group-toggle', 'aria-expanded'), 'true');
    // The chart follows: one curve per seed instead of the band.
    await until(panel.page, () => (document.querySelector('#compare-chart') as unknown as { __uplot?: { series: unknown[] } }).__uplot?.series.length === 5);
    const { labels, bands } = await chartState();
    assert.deepEqual(labels.slice(2), groupRuns.map((r) => r.run.id));
    assert.equal(bands, 0);
    await panel.send({ type: 'compare', runs });
    await until(panel.page, () => document.querySelectorAll('#runs tr.seed-row').length === 3);
    await panel.page.click('#runs tr[data-group="g1"] .group-toggle');
    await until(panel.page, () => document.querySelectorAll('#runs tr.seed-row').length === 0);
    assert.deepEqual(await panel.csp(), []);
  });
});
