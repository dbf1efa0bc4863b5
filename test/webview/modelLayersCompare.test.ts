// The model-layers panel (before any run: layers side by side, pairs and connectors drawn, the
// validator's rejections flagged, updating as the config is typed) and the compare panel (curves
// overlaid, configs diffed), in headless Chromium.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import type { EpochMetric } from '../../src/core/webviewProtocol';
import { layersPayload } from '../../src/host/panels/layerView';
import { RunReader } from '../../src/host/panels/runData';
import { FIXTURE_CONFIG, FIXTURE_RUN, FIXTURE_RUN_B, launchBrowser, openPanel, type Panel, startServer, until } from './harness';

const text = fs.readFileSync(FIXTURE_CONFIG, 'utf8');
const env = defaultNodeEnv();
const badPairs = text
  .replace('"student": "fc1", "teacher": "fc1"', '"student": "conv2", "teacher": "fc1"')
  .replace('"student": "conv2", "teacher": "conv2"', '"student": "conv9", "teacher": "conv2"');

describe('model layers panel', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'modelLayers', {
      host: async (m, p) => {
        if (m.type !== 'ready') return;
        await p.send({ type: 'target', target: { follow: true, configPath: FIXTURE_CONFIG } });
        await p.send({ type: 'layers', layers: layersPayload(text, FIXTURE_CONFIG, env) });
      },
    });
    await until(panel.page, () => document.querySelectorAll('svg.links path').length === 2);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the teacher’s and the student’s layers with output shapes and parameter counts', async () => {
    const rows = (side: string) => panel.page.$$eval(`#${side}-layers tbody tr`, (trs) => trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)));
    assert.deepEqual((await rows('teacher'))[2], ['conv2', '[14×14×32]', '4.6k']);
    assert.deepEqual((await rows('student'))[0], ['conv1', '[28×28×4]', '40']);
    assert.equal((await rows('student')).length, 6);
    assert.equal(await panel.page.textContent('#student-layers tfoot td.num'), '13.2k');
  });

  it('draws each configured pair between its two layers, labelled with the connector', async () => {
    // (No named helpers inside evaluate: tsx would wrap them in a __name() the page lacks.)
    const links = await panel.page.evaluate(() => {
      const svg = document.querySelector('svg.links')!.getBoundingClientRect();
      const mids = ['teacher-conv2', 'student-conv2', 'teacher-fc1', 'student-fc1'].map((id) => {
        const r = document.getElementById(id)!.getBoundingClientRect();
        return r.top + r.height / 2 - svg.top;
      });
      return Array.from(document.querySelectorAll('svg.links path')).map((p) => {
        const nums = p.getAttribute('d')!.match(/-?[\d.]+/g)!.map(Number);
        return { cls: p.getAttribute('class'), y1: nums[1], y2: nums[nums.length - 1], t: mids[0], s: mids[1], tf: mids[2], sf: mids[3] };
      });
    });
    assert.equal(links[0].cls, 'link');
    assert.ok(Math.abs(links[0].y1 - links[0].t) < 1 && Math.abs(links[0].y2 - links[0].s) < 1);
    assert.ok(Math.abs(links[1].y1 - links[1].tf) < 1 && Math.abs(links[1].y2 - links[1].sf) < 1);
    assert.deepEqual(await panel.page.$$eval('svg.links text', (ts) => ts.map((t) => t.textContent)), ['conv1x1', 'linear']);
    assert.deepEqual(
      await panel.page.$$eval('#pair-list li span', (s) => s.map((x) => x.textContent)),
      ['student conv2 → conv1x1 → teacher conv2 · weight 1', 'student fc1 → linear → teacher fc1 · weight 0.5'],
    );
  });

  it('updates as the config is typed, flagging the pairs the validator rejects', async () => {
    await panel.send({ type: 'layers', layers: layersPayload(badPairs, FIXTURE_CONFIG, env) });
    await until(panel.page, () => document.querySelectorAll('#pair-list li.rejected').length === 2);
    const items = await panel.page.$$eval('#pair-list li.rejected span', (s) => s.map((x) => x.textContent!));
    assert.match(items[0], /⚠ student conv9 → teacher conv2: the student has no layer "conv9"/);
    assert.match(items[1], /⚠ student conv2 → teacher fc1: no connector maps/);
    // conv2 → fc1 exists on both sides, so it is drawn — dashed, as rejected; conv9 cannot be drawn.
    // The links are redrawn on the next animation frame after the list: wait for them to settle.
    await until(panel.page, () => document.querySelectorAll('svg.links path').length === 1);
    assert.deepEqual(await panel.page.$$eval('svg.links path', (ps) => ps.map((p) => [p.getAttribute('class'), p.getAttribute('stroke-dasharray')])), [['link rejected', '5 3']]);
    // A moment of broken JSON while typing keeps the last layers on screen, dimmed, with the error.
    await panel.send({ type: 'layers', layers: layersPayload(badPairs.replace('"hidden": [128]', '"hidden": [128'), FIXTURE_CONFIG, env) });
    await until(panel.page, () => document.querySelector('.layers-grid')?.classList.contains('stale'));
    assert.match((await panel.page.textContent('#problems'))!, /line 7: invalid JSON: expected a comma/);
    assert.equal(await panel.page.$$eval('#teacher-layers tbody tr', (r) => r.length), 6);
  });

  it('reveals a term in the editor through a typed message; no CSP violations; screenshots', async () => {
    await panel.send({ type: 'layers', layers: layersPayload(badPairs, FIXTURE_CONFIG, env) });
    await until(panel.page, () => !document.querySelector('.layers-grid')?.classList.contains('stale'));
    await panel.page.click('#pair-list li[data-index="3"] vscode-button');
    assert.deepEqual(await panel.waitFor('revealTerm'), { type: 'revealTerm', index: 3 });
    assert.deepEqual(await panel.csp(), []);
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    await panel.screenshot('modelLayers-dark');
    const light = await openPanel(browser, server.origin, 'modelLayers', {
      theme: 'light',
      host: async (m, p) => {
        if (m.type !== 'ready') return;
        await p.send({ type: 'target', target: { follow: true, configPath: FIXTURE_CONFIG } });
        await p.send({ type: 'layers', layers: layersPayload(badPairs.replace('"student": "conv9"', '"student": "conv2"'), FIXTURE_CONFIG, env) });
      },
    });
    await until(light.page, () => document.querySelectorAll('svg.links path').length === 2);
    await light.screenshot('modelLayers-light');
    await light.close();
  });
});

describe('compare panel', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;
  const readers = [new RunReader(FIXTURE_RUN), new RunReader(FIXTURE_RUN_B)];
  const runs = readers.map((r) => ({ run: r.runInfo()!, epochs: r.readMetrics(true).epochs }));
  const host = async (m: { type: string }, p: Panel) => {
    if (m.type !== 'ready') return;
    await p.send({ type: 'target', target: { follow: false, runDirs: [FIXTURE_RUN, FIXTURE_RUN_B] } });
    await p.send({ type: 'compare', runs });
  };

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'compare', { host });
    await until(panel.page, () => (document.getElementById('compare-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const chartData = () => panel.page.evaluate(() => (document.getElementById('compare-chart') as unknown as { __uplot: { data: number[][] } }).__uplot.data.map((c) => Array.from(c)));
  const studentValues = (epochs: EpochMetric[], f: (e: EpochMetric) => number) => epochs.filter((e) => e.stage === 'student').map(f);

  // These runs predate the validation default: their per-epoch test curve is the first metric, labelled as such.
  it('overlays the runs’ curves (the every-epoch test accuracy of the distilled student, in runs without validation)', async () => {
    const data = await chartData();
    assert.deepEqual(data[0], [1, 2, 3, 4]);
    assert.deepEqual(data[1], studentValues(runs[0].epochs, (e) => e.testAccuracy!));
    assert.deepEqual(data[2], [...studentValues(runs[1].epochs, (e) => e.testAccuracy!), null], 'a shorter run ends early');
  });

  it('switches metric and stage', async () => {
    await panel.page.evaluate(() => {
      const el = document.getElementById('metric') as HTMLElement & { value: string };
      el.value = 'loss:kd';
      el.dispatchEvent(new Event('change'));
    });
    await until(panel.page, () => document.querySelector('#compare-chart-caption')?.textContent?.startsWith('loss term kd'));
    const data = await chartData();
    assert.deepEqual(data[1], studentValues(runs[0].epochs, (e) => e.losses.kd));
    assert.deepEqual(data[2].slice(0, 3), studentValues(runs[1].epochs, (e) => e.losses.kd));
  });

  it('diffs the configs: only differing settings unless asked for all', async () => {
    const rows = () => panel.page.$$eval('.diff-table tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.querySelector('th')!.textContent, Array.from(tr.querySelectorAll('td')).map((t) => t.textContent)])));
    let r = await rows();
    assert.deepEqual(r.seed, ['11', '7']);
    assert.deepEqual(r['teacher.model.type'], ['"cnn"', '"mlp"']);
    assert.deepEqual(r['distillation.losses[hint:conv2<-conv2]'], ['weight 1, connector auto', '—']);
    assert.deepEqual(r['distillation.losses[kd]'], ['weight 0.5', 'weight 0.9']);
    assert.equal(r['data.dataset'], undefined, 'the same in both: hidden');
    await panel.page.click('#all-settings');
    await until(panel.page, () => Array.from(document.querySelectorAll('.diff-table th')).some((th) => th.textContent === 'data.dataset'));
    r = await rows();
    assert.deepEqual(r['data.dataset'], ['"mnist"', '"mnist"']);
  });

  it('asks the host for more runs through a typed message; no CSP violations; screenshots', async () => {
    await panel.page.click('#pick-run');
    await panel.waitFor('pickRun');
    assert.deepEqual(await panel.csp(), []);
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    for (const theme of ['dark', 'light'] as const) {
      const p = await openPanel(browser, server.origin, 'compare', { theme, host });
      await until(p.page, () => (document.getElementById('compare-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === 4);
      await p.screenshot(`compare-${theme}`);
      await p.close();
    }
  });
});
