// The loss-split panel for one seed of a seed group, in headless Chromium: the host sends the
// group's epoch records; "Mean ± std of the seed group" redraws every loss term, the total and
// each model's accuracy as the seeds' mean in a ± std band (the values worked out here by hand),
// and back; a run that is no group's has no such choice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { CompareRun, EpochMetric } from '../../src/core/webviewProtocol';
import { RunReader } from '../../src/host/panels/runData';
import { FIXTURE_RUN, launchBrowser, openPanel, type Panel, startServer, until } from './harness';

type ChartData = { labels: string[]; data: (number | null)[][] };

describe('loss split panel: a seed group', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;
  const reader = new RunReader(FIXTURE_RUN);
  const own = reader.readMetrics(true);
  const base = reader.runInfo()!;
  // Three seeds: each one's losses scaled by its own factor, its accuracies lowered by its own offset.
  const scales = [1, 1.1, 1.3];
  const offsets = [0, 0.01, 0.03];
  const seedEpochs = (k: number): EpochMetric[] =>
    own.epochs.map((e) => ({
      ...e,
      losses: Object.fromEntries(Object.entries(e.losses).map(([id, v]) => [id, v * scales[k]])),
      total: e.total * scales[k],
      testAccuracy: e.testAccuracy === undefined ? undefined : e.testAccuracy - offsets[k],
    }));
  const members: CompareRun[] = scales.map((_, k) => ({
    run: { ...base, dir: k === 0 ? FIXTURE_RUN : `/runs/seed-${k + 1}`, id: `${base.id}-s${k + 1}`, seed: k + 1, group: { id: 'g1', index: k, seeds: [1, 2, 3] } },
    epochs: seedEpochs(k),
  }));

  /** Mean and sample std of three numbers. */
  const spread = (v: number[]) => {
    const mean = v.reduce((a, x) => a + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (v.length - 1));
    return { mean, upper: mean + std, lower: mean - std };
  };
  const chart = (id: string) =>
    panel.page.evaluate((id) => {
      const u = (document.getElementById(id) as unknown as { __uplot: { series: { label: string }[]; data: (number | null)[][] } }).__uplot;
      return { labels: u.series.map((s) => s.label), data: u.data.map((c) => Array.from(c)) };
    }, id) as Promise<ChartData>;
  const close = (a: (number | null)[], b: number[], what: string) =>
    b.forEach((x, i) => assert.ok(Math.abs((a[i] ?? NaN) - x) < 1e-9, `${what}[${i}]: ${a[i]} vs ${x}`));

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'lossSplit', {
      host: async (m, p) => {
        if (m.type !== 'ready') return;
        await p.send({ type: 'target', target: { follow: false, runDir: FIXTURE_RUN } });
        await p.send({ type: 'run', run: members[0].run });
        await p.send({ type: 'metrics', runDir: FIXTURE_RUN, reset: true, ...own });
        await p.send({ type: 'group', runDir: FIXTURE_RUN, members });
      },
    });
    await until(panel.page, () => document.getElementById('group-mean') !== null);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('offers the group mean for a run that is one of three seeds; the run’s own curves until asked', async () => {
    assert.match((await panel.page.getAttribute('#group-mean', 'label')) ?? '', /3 seeds/);
    const loss = await chart('loss-chart');
    assert.ok(!loss.labels.some((l) => /mean ± std/.test(l)));
    const student = own.epochs.filter((e) => e.stage === 'student');
    close(loss.data[1], student.map((e) => e.losses.ce), 'the run’s own ce');
  });

  it('draws each term, the total and each model’s accuracy as the seeds’ mean in a ± std band', async () => {
    await panel.page.click('#group-mean');
    await until(panel.page, () => /mean ± std of 3 seeds/.test(document.getElementById('loss-chart')?.textContent ?? ''));
    const loss = await chart('loss-chart');
    const student = (k: number) => members[k].epochs.filter((e) => e.stage === 'student');
    // uPlot's series 0 is x; then per term (ce, kd, hints) and the total: mean, upper, lower.
    assert.deepEqual(loss.data[0], [1, 2, 3, 4]);
    const ids = ['ce', 'kd', 'hint:conv2<-conv2', 'hint:fc1<-fc1'];
    ids.forEach((id, t) => {
      const s = student(0).map((_, i) => spread([0, 1, 2].map((k) => student(k)[i].losses[id])));
      assert.match(loss.labels[1 + 3 * t], /· mean ± std$/);
      close(loss.data[1 + 3 * t], s.map((x) => x.mean), `${id} mean`);
      close(loss.data[2 + 3 * t], s.map((x) => x.upper), `${id} + std`);
      close(loss.data[3 + 3 * t], s.map((x) => x.lower), `${id} − std`);
    });
    const totals = student(0).map((_, i) => spread([0, 1, 2].map((k) => student(k)[i].total)));
    close(loss.data[1 + 3 * ids.length], totals.map((x) => x.mean), 'total mean');

    const acc = await chart('accuracy-chart');
    const stages = ['teacher', 'baseline', 'student'];
    stages.forEach((stage, m) => {
      const rows = (k: number) => members[k].epochs.filter((e) => e.stage === stage);
      const s = rows(0).map((_, i) => spread([0, 1, 2].map((k) => rows(k)[i].testAccuracy!)));
      close(acc.data[1 + 3 * m], s.map((x) => x.mean), `${stage} accuracy mean`);
      close(acc.data[2 + 3 * m], s.map((x) => x.upper), `${stage} accuracy + std`);
    });
    // One Show toggle per curve: a band's edges go with their mean.
    assert.equal(await panel.page.$$eval('#loss-toggles vscode-checkbox', (els) => els.length), ids.length + 1);
    await panel.screenshot('lossSplit-group');
  });

  it('goes back to the run’s own curves, and offers nothing for a run that is no group’s', async () => {
    await panel.page.click('#group-mean');
    await until(panel.page, () => !/mean ± std/.test(document.getElementById('loss-chart')?.textContent ?? ''));
    const loss = await chart('loss-chart');
    close(loss.data[1], own.epochs.filter((e) => e.stage === 'student').map((e) => e.losses.ce), 'the run’s own ce');
    await panel.send({ type: 'group', runDir: FIXTURE_RUN, members: [] });
    await until(panel.page, () => document.getElementById('group-mean') === null);
  });
});
