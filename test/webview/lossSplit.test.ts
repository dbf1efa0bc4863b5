// The loss-split panel in headless Chromium, fed the recorded run: each term's curve from the
// logged values (checked in uPlot's data and on the canvas), weights, per-step view, accuracy,
// toggles, CSV/PNG export messages, live appends, CSP, screenshots.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { MetricRecord } from '../../src/core/protocol';
import type { EpochMetric } from '../../src/core/webviewProtocol';
import { RunReader } from '../../src/host/panels/runData';
import { epochRecords, FIXTURE_RUN, launchBrowser, metricRecords, openPanel, type Panel, runHost, selectValue, startServer, until } from './harness';

const records = metricRecords(FIXTURE_RUN);
const epochs = records.filter((r): r is EpochMetric => r.kind === 'epoch');
const student = epochs.filter((r) => r.stage === 'student');

type ChartData = { labels: string[]; shown: boolean[]; data: (number | null)[][] };

async function chart(page: Page, id: string): Promise<ChartData> {
  return page.evaluate((id) => {
    const u = (document.getElementById(id) as unknown as { __uplot: { series: { label: string; show: boolean }[]; data: (number | null)[][] } }).__uplot;
    return { labels: u.series.map((s) => s.label), shown: u.series.map((s) => s.show), data: u.data.map((c) => Array.from(c)) };
  }, id);
}

/** The colour drawn on the chart's canvas nearest to (x, y) of `series` — found within a few pixels. */
async function drawnNear(page: Page, id: string, series: number, x: number, y: number): Promise<{ found: boolean; stroke: string }> {
  return page.evaluate(
    ({ id, series, x, y }) => {
      const u = (document.getElementById(id) as unknown as { __uplot: any }).__uplot;
      const px = u.valToPos(x, 'x', true);
      const py = u.valToPos(y, 'y', true);
      const stroke: string = typeof u.series[series].stroke === 'function' ? u.series[series].stroke(u, series) : u.series[series].stroke;
      const probe = document.createElement('canvas').getContext('2d')!;
      probe.fillStyle = stroke;
      probe.fillRect(0, 0, 1, 1);
      const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
      const img = u.ctx.getImageData(Math.round(px) - 3, Math.round(py) - 3, 7, 7).data;
      for (let i = 0; i < img.length; i += 4) if (Math.abs(img[i] - r) + Math.abs(img[i + 1] - g) + Math.abs(img[i + 2] - b) < 40 && img[i + 3] > 128) return { found: true, stroke };
      return { found: false, stroke };
    },
    { id, series, x, y },
  );
}

describe('loss split panel', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'lossSplit', { host: runHost('lossSplit') });
    await until(panel.page, () => (document.getElementById('loss-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws each loss term of the distilled student on its own curve, from the logged values', async () => {
    const c = await chart(panel.page, 'loss-chart');
    assert.deepEqual(c.data[0], [1, 2, 3, 4]);
    const terms = ['ce', 'kd', 'hint:conv2<-conv2', 'hint:fc1<-fc1'];
    assert.equal(c.labels.length, 1 + terms.length + 1);
    terms.forEach((t, i) => assert.deepEqual(c.data[i + 1], student.map((r) => r.losses[t]), t));
    assert.deepEqual(c.data[terms.length + 1], student.map((r) => r.total));
    // Weights shown with each term; kd says what it is (T²·KL) and its T.
    assert.match(c.labels[1], /^ce .* · weight 0\.5$/);
    assert.match(c.labels[2], /^kd \(soft: T²·KL, T = 4\) · weight 0\.5$/);
    assert.match(c.labels[3], /conv2 ← conv2 · weight 1$/);
    assert.match((await panel.page.textContent('#weights'))!, /ce 0\.5 · kd 0\.5 · hint:conv2<-conv2 1 · hint:fc1<-fc1 0\.5/);
    // On the canvas: every term's colour at (epoch 2, its value) and (epoch 3, its value).
    for (let i = 1; i <= terms.length + 1; i++) {
      for (const e of [2, 3]) {
        const hit = await drawnNear(panel.page, 'loss-chart', i, e, c.data[i][e - 1]!);
        assert.ok(hit.found, `${c.labels[i]} drawn at epoch ${e} (${hit.stroke})`);
      }
    }
    // …and not where it has no value (the check can fail).
    const kd = c.data[2] as number[];
    const off = await drawnNear(panel.page, 'loss-chart', 2, 3, kd[2] + 0.35 * (Math.max(...kd) - Math.min(...kd)));
    assert.equal(off.found, false);
  });

  it('shows weight × term when asked, which sums to the total', async () => {
    await panel.page.click('#weighted');
    await until(panel.page, () => document.querySelector('#loss-chart-caption')?.textContent?.startsWith('Weighted'));
    const c = await chart(panel.page, 'loss-chart');
    const w = student[0].weights;
    const terms = ['ce', 'kd', 'hint:conv2<-conv2', 'hint:fc1<-fc1'];
    terms.forEach((t, i) => c.data[i + 1].forEach((v, k) => assert.ok(Math.abs(v! - w[t] * student[k].losses[t]) < 1e-12)));
    c.data[0].forEach((_, k) => {
      const sum = terms.reduce((a, _t, i) => a + c.data[i + 1][k]!, 0);
      assert.ok(Math.abs(sum - student[k].total) < 1e-3 * student[k].total, `Σ w·term = total at epoch ${k + 1}`);
    });
    await panel.page.click('#weighted');
    await until(panel.page, () => document.querySelector('#loss-chart-caption')?.textContent?.startsWith('Loss terms'));
  });

  it('plots per logged step too', async () => {
    await selectValue(panel.page, 'per', 'step');
    await until(panel.page, () => document.querySelector('#loss-chart-caption')?.textContent?.includes('per step'));
    const steps = records.filter((r) => r.kind === 'step' && r.stage === 'student') as Extract<MetricRecord, { kind: 'step' }>[];
    const c = await chart(panel.page, 'loss-chart');
    assert.equal(c.data[0].length, steps.length);
    assert.deepEqual(c.data[2], steps.map((s) => s.losses.kd));
    assert.deepEqual(c.data[5], steps.map((s) => s.total));
    await selectValue(panel.page, 'per', 'epoch');
    await until(panel.page, () => document.querySelector('#loss-chart-caption')?.textContent?.includes('per epoch'));
     // The selects' inner comboboxes carry their names for screen readers.
    const names = await panel.page.$$eval('vscode-single-select', (els) => els.map((e) => e.shadowRoot?.querySelector('[role="combobox"]')?.getAttribute('aria-label')));
    assert.deepEqual(names, ['Model', 'Per']);
  });

  // The fixture predates the validation default: it evaluated the test set every epoch, and says so.
  it('plots the every-epoch test accuracy (or errors) of teacher, baseline and student in a run without validation', async () => {
    let c = await chart(panel.page, 'accuracy-chart');
    assert.deepEqual(c.labels.slice(1), ['teacher', 'baseline student', 'distilled student']);
    for (const [i, stage] of (['teacher', 'baseline', 'student'] as const).entries()) {
      assert.deepEqual(c.data[i + 1], epochs.filter((r) => r.stage === stage).map((r) => r.testAccuracy));
    }
    assert.equal(await panel.page.textContent('#accuracy-chart-caption'), 'Test accuracy (every epoch)');
    await panel.page.click('#show-errors');
    await until(panel.page, () => document.querySelector('#accuracy-chart-caption')?.textContent === 'Test errors (every epoch)');
    c = await chart(panel.page, 'accuracy-chart');
    assert.deepEqual(c.data[3], student.map((r) => r.testErrors));
  });

  it('toggles each series, and remembers it', async () => {
    await panel.page.click('#loss-toggles vscode-checkbox[data-key="kd"]');
    await until(panel.page, () => !(document.getElementById('loss-chart') as unknown as { __uplot: { series: { show: boolean }[] } }).__uplot.series[2].show);
    const c = await chart(panel.page, 'loss-chart');
    assert.deepEqual(c.shown, [true, true, false, true, true, true]);
    // setState is debounced (100 ms, later on a busy machine): wait for the choice to be saved.
    await until(panel.page, () => (window as unknown as { __state?: { ui?: { hidden?: string[] } } }).__state?.ui?.hidden?.join() === 'kd');
    assert.deepEqual((await panel.savedState())?.ui?.hidden, ['kd']);
    // The checkbox is reachable and operable by keyboard.
    await panel.page.focus('#loss-toggles vscode-checkbox[data-key="kd"]');
    await panel.page.keyboard.press('Space');
    await until(panel.page, () => (document.getElementById('loss-chart') as unknown as { __uplot: { series: { show: boolean }[] } }).__uplot.series[2].show);
  });

  it('comes back with the saved choices after being hidden (its page is rebuilt)', async () => {
    const again = await openPanel(browser, server.origin, 'lossSplit', {
      host: runHost('lossSplit'),
      initialState: { view: 'lossSplit', target: { follow: true }, ui: { hidden: ['kd'], errors: true } },
    });
    await until(again.page, () => (document.getElementById('loss-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
    assert.deepEqual((await chart(again.page, 'loss-chart')).shown, [true, true, false, true, true, true]);
    assert.match((await again.page.textContent('#accuracy-chart'))!, /Test errors/);
    const errors = (await chart(again.page, 'accuracy-chart')).data.slice(1).flat().filter((v) => v !== null);
    assert.ok(errors.every((v) => Number.isInteger(v) && v > 1), `errors are counts: ${errors.join(', ')}`);
    await again.close();
  });

  it('exports the visible series as CSV and the chart as PNG through typed messages', async () => {
    await panel.page.click('#loss-toggles vscode-checkbox[data-key="kd"]');
    await panel.page.click('#loss-csv');
    const csv = await panel.waitFor('export', (m) => m.format === 'csv');
    assert.match(csv.suggestedName, /-student-losses\.csv$/);
    const lines = csv.data.trim().split('\n');
    // Plain headers that say raw or weighted (the legend's ×, ², Σ and ← stay out of the file).
    assert.equal(lines[0], 'epoch,ce raw,hint conv2 from conv2 raw,hint fc1 from fc1 raw,total (weighted sum of the terms)');
    assert.deepEqual(lines[2].split(',').map(Number), [2, student[1].losses.ce, student[1].losses['hint:conv2<-conv2'], student[1].losses['hint:fc1<-fc1'], student[1].total]);
    await panel.page.click('#loss-png');
    const png = await panel.waitFor('export', (m) => m.format === 'png');
    const bytes = Buffer.from(png.data.split(',')[1], 'base64');
    assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
    assert.ok(bytes.readUInt32BE(16) > 300 && bytes.readUInt32BE(20) > 200, 'a chart-sized image');
    await panel.page.click('#loss-toggles vscode-checkbox[data-key="kd"]');
  });

  it('appends live metrics and shows the run’s status', async () => {
    const extra: EpochMetric = { ...student[3], epoch: 5, losses: { ...student[3].losses, kd: 0.123 }, total: 0.5 };
    await panel.send({ type: 'run', run: { ...new RunReader(FIXTURE_RUN).runInfo()!, status: 'running', stage: 'student' } });
    await panel.send({ type: 'metrics', runDir: FIXTURE_RUN, reset: false, epochs: [extra], steps: [] });
    await until(panel.page, () => (document.getElementById('loss-chart') as unknown as { __uplot: { data: number[][] } }).__uplot.data[0].length === 5);
    const c = await chart(panel.page, 'loss-chart');
    assert.equal(c.data[2][4], 0.123);
    assert.match((await panel.page.textContent('#run-status'))!, /running · student/);
  });

  it('shows validation curves, and the opt-in every-epoch test curves dashed and labelled, for a run with both', async () => {
    const honestRun = path.join(FIXTURE_RUN, '..', 'honest');
    const honest = epochRecords(honestRun);
    const p = await openPanel(browser, server.origin, 'lossSplit', { host: runHost('lossSplit', honestRun) });
    await until(p.page, () => (document.getElementById('accuracy-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data.length === 7);
    assert.equal(await p.page.textContent('#accuracy-chart-caption'), 'Validation accuracy');
    const c = await chart(p.page, 'accuracy-chart');
    const models = ['teacher', 'baseline student', 'distilled student'];
    assert.deepEqual(c.labels.slice(1), [...models, ...models.map((m) => `${m} · test (every epoch)`)]);
    const epochsOf = (stage: string) => honest.filter((r) => r.stage === stage);
    for (const [i, stage] of (['teacher', 'baseline', 'student'] as const).entries()) {
      const at = epochsOf(stage).map((r) => c.data[0].indexOf(r.epoch));
      assert.deepEqual(at.map((k) => c.data[i + 1][k]), epochsOf(stage).map((r) => r.validationAccuracy), `${stage} validation`);
      assert.deepEqual(at.map((k) => c.data[i + 4][k]), epochsOf(stage).map((r) => r.testAccuracy), `${stage} test (every epoch)`);
    }
    const dashed = await p.page.evaluate(() => (document.getElementById('accuracy-chart') as unknown as { __uplot: { series: { dash?: number[] }[] } }).__uplot.series.map((s) => !!s.dash?.length));
    assert.deepEqual(dashed, [false, false, false, false, true, true, true]);
    await p.page.click('#show-errors');
    await until(p.page, () => document.querySelector('#accuracy-chart-caption')?.textContent === 'Validation errors');
    const e = await chart(p.page, 'accuracy-chart');
    assert.deepEqual(e.data[3].filter((v) => v !== null), epochsOf('student').map((r) => r.validationErrors));
    await p.page.click('#show-errors');
    await p.close();
  });

  it('violates no CSP rule, posts only typed messages, and saves light and dark screenshots', async () => {
    assert.deepEqual(await panel.csp(), []);
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    assert.equal(panel.posted[0].type, 'ready');
    const fresh = await openPanel(browser, server.origin, 'lossSplit', { host: runHost('lossSplit') });
    await until(fresh.page, () => (document.getElementById('accuracy-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
    await fresh.screenshot('lossSplit-dark');
    await fresh.close();
    const light = await openPanel(browser, server.origin, 'lossSplit', { theme: 'light', host: runHost('lossSplit') });
    await until(light.page, () => (document.getElementById('accuracy-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
    await light.screenshot('lossSplit-light');
    assert.deepEqual(await light.csp(), []);
    await light.close();
  });
});
