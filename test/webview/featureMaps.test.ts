// The feature-maps panel in headless Chromium, fed the recorded run: the teacher map, the student
// map after its connector and their difference drawn cell by cell from the recorded values; the
// matching loss over epochs; the CKA matrix with the configured pairs outlined; conv maps switched
// between the recorded channel reductions (mean, max, top-k), and older runs with the mean only.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Heatmap, MetricRecord, PairMaps, ProbeRecord } from '../../src/core/protocol';
import { FIXTURE_RUN, launchBrowser, openPanel, type Panel, pixel, runHost, startServer, until } from './harness';

const probe = (epoch: number): ProbeRecord => JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN, 'probes', `student-epoch-${String(epoch).padStart(4, '0')}.json`), 'utf8'));
const metrics = fs
  .readFileSync(path.join(FIXTURE_RUN, 'metrics.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as MetricRecord);

/** The colour at the centre of every cell of a heatmap canvas, row-major. */
async function cells(page: Page, selector: string): Promise<{ rows: number; cols: number; min: number; max: number; rgb: [number, number, number][] }> {
  return page.$eval(selector, (el) => {
    const c = el as HTMLCanvasElement;
    const d = c.dataset;
    const [x0, y0, cw, ch, rows, cols] = [d.x0, d.y0, d.cellW, d.cellH, d.rows, d.cols].map(Number);
    const ctx = c.getContext('2d')!;
    const scale = c.width / c.getBoundingClientRect().width;
    const rgb: [number, number, number][] = [];
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < cols; k++) {
        const p = ctx.getImageData(Math.floor((x0 + k * cw + cw / 2) * scale), Math.floor((y0 + r * ch + ch / 2) * scale), 1, 1).data;
        rgb.push([p[0], p[1], p[2]]);
      }
    return { rows, cols, min: Number(d.min), max: Number(d.max), rgb };
  });
}

const luminance = ([r, g, b]: [number, number, number]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** Cells drawn from `values` on a monotone colormap: brighter exactly where the value is larger. */
function assertDrawnFrom(drawn: Awaited<ReturnType<typeof cells>>, map: Heatmap, domain: [number, number], top: number[], bottom: number[]): void {
  assert.equal(drawn.rows, map.rows);
  assert.equal(drawn.cols, map.cols);
  assert.ok(Math.abs(drawn.min - domain[0]) < 1e-9 && Math.abs(drawn.max - domain[1]) < 1e-9, `domain ${drawn.min}..${drawn.max} vs ${domain}`);
  const order = map.values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  for (let j = 1; j < order.length; j++) {
    const [va, ia] = order[j - 1];
    const [vb, ib] = order[j];
    // Values apart by more than one colormap step (1/64 of the range) must look brighter.
    if (vb - va > (domain[1] - domain[0]) / 64) assert.ok(luminance(drawn.rgb[ib]) > luminance(drawn.rgb[ia]), `cell ${ib} (${vb}) brighter than cell ${ia} (${va})`);
  }
  const iMax = map.values.indexOf(Math.max(...map.values));
  const iMin = map.values.indexOf(Math.min(...map.values));
  if (map.values[iMax] === domain[1]) assert.deepEqual(drawn.rgb[iMax], top);
  if (map.values[iMin] === domain[0]) assert.deepEqual(drawn.rgb[iMin], bottom);
}

describe('feature maps panel', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;
  const rec = probe(4);

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'featureMaps', { host: runHost('featureMaps') });
    await until(panel.page, () => document.querySelectorAll('.pair .map-teacher canvas[data-rows]').length === 2 && !!document.querySelector('.cka canvas[data-rows]'));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws the teacher map, the student map after its connector and |difference| for each pair', async () => {
    assert.deepEqual(
      await panel.page.$$eval('.pair', (els) => els.map((e) => e.getAttribute('data-pair'))),
      ['hint:conv2<-conv2', 'hint:fc1<-fc1'],
    );
    const viridis = { top: [0xfd, 0xe7, 0x25], bottom: [0x44, 0x01, 0x54] };
    const inferno = { top: [0xfc, 0xff, 0xa4], bottom: [0, 0, 4] };
    for (const pair of rec.pairs) {
      const t = pair.teacherMaps[0];
      const s = pair.studentMaps[0];
      const domain: [number, number] = [Math.min(...t.values, ...s.values), Math.max(...t.values, ...s.values)];
      const sel = `.pair[data-pair="${pair.id}"]`;
      assertDrawnFrom(await cells(panel.page, `${sel} .map-teacher canvas`), t, domain, viridis.top, viridis.bottom);
      assertDrawnFrom(await cells(panel.page, `${sel} .map-student canvas`), s, domain, viridis.top, viridis.bottom);
      const d = { rows: t.rows, cols: t.cols, values: t.values.map((v, i) => Math.abs(v - s.values[i])) };
      assertDrawnFrom(await cells(panel.page, `${sel} .map-diff canvas`), d, [0, Math.max(...d.values)], inferno.top, inferno.bottom);
      assert.match((await panel.page.textContent(`${sel} .pair-loss`))!, new RegExp(`probe samples ${String(Number(pair.loss!.toPrecision(4)))}`));
    }
  });

  it('plots each pair’s matching loss over epochs, with the probe loss at the shown epoch', async () => {
    for (const pair of rec.pairs) {
      const id = `pair-${pair.id.replace(/[^a-z0-9]+/gi, '-')}-loss`;
      const data = await panel.page.evaluate((id) => (document.getElementById(id) as unknown as { __uplot: { data: number[][] } }).__uplot.data.map((c) => Array.from(c)), id);
      const train = metrics.filter((r) => r.kind === 'epoch' && r.stage === 'student').map((r) => r.losses[pair.id]);
      assert.deepEqual(data[0], [1, 2, 3, 4]);
      assert.deepEqual(data[1], train);
      assert.deepEqual(data[2], [null, null, null, pair.loss]);
    }
  });

  it('shows the CKA matrix of all teacher × student layers, the configured pairs outlined', async () => {
    const c = rec.cka!;
    const rows = await panel.page.$$eval('.cka tbody tr', (trs) => trs.map((tr) => [tr.querySelector('th')!.textContent, ...Array.from(tr.querySelectorAll('td')).map((td) => Number(td.textContent))]));
    assert.deepEqual(
      rows,
      c.teacherLayers.map((l, i) => [l, ...c.matrix[i].map((v) => Number(v.toFixed(2)))]),
    );
    const d = await panel.page.$eval('.cka canvas', (el) => ({ ...(el as HTMLCanvasElement).dataset }));
    const cell = Number(d.cellW);
    // conv2 ↔ conv2 is a configured pair: its cell has a focus-coloured outline (#0078d4 in Dark Modern).
    const r = c.teacherLayers.indexOf('conv2');
    const k = c.studentLayers.indexOf('conv2');
    const edge = await pixel(panel.page, '.cka canvas', Number(d.x0) + k * cell + cell / 2, Number(d.y0) + r * cell + 1.5);
    assert.deepEqual(edge.slice(0, 3), [0x00, 0x78, 0xd4]);
    const r2 = c.teacherLayers.indexOf('pool1');
    const plain = await pixel(panel.page, '.cka canvas', Number(d.x0) + k * cell + cell / 2, Number(d.y0) + r2 * cell + 1.5);
    assert.notDeepEqual(plain.slice(0, 3), [0x00, 0x78, 0xd4]);
    assert.match((await panel.page.textContent('#cka-hint'))!, /Most similar teacher layer per student layer/);
  });

  it('follows the selected sample and the epoch scrubber', async () => {
    await panel.page.focus('#gallery');
    await panel.page.keyboard.press('ArrowRight');
    await until(panel.page, () => document.querySelector('#gallery')?.getAttribute('aria-activedescendant') === 'gallery-1');
    await panel.page.focus('#epoch');
    await panel.page.keyboard.press('Home');
    await panel.waitFor('getProbes', (m) => m.epoch === 1 && m.stages.join() === 'student');
    await until(panel.page, () => document.querySelector('.pair .pair-loss')?.textContent?.startsWith('Epoch 1'));
    const e1 = probe(1).pairs[0];
    const t = e1.teacherMaps[1];
    const s = e1.studentMaps[1];
    const drawn = await cells(panel.page, `.pair[data-pair="${e1.id}"] .map-teacher canvas`);
    assertDrawnFrom(drawn, t, [Math.min(...t.values, ...s.values), Math.max(...t.values, ...s.values)], [0xfd, 0xe7, 0x25], [0x44, 0x01, 0x54]);
  });

  it('says how conv maps are reduced, violates no CSP rule, and saves light, dark and high-contrast screenshots', async () => {
    assert.match((await panel.page.textContent('#reduction-note'))!, /Mean: the channels’ average at each position\. Max: the largest channel value at each position\. Top-k mean: the average of the k largest channel values at each position/);
    assert.deepEqual(await panel.csp(), []);
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    for (const theme of ['dark', 'light', 'high-contrast'] as const) {
      const p = await openPanel(browser, server.origin, 'featureMaps', { theme, host: runHost('featureMaps') });
      await until(p.page, () => document.querySelectorAll('.pair .map-diff canvas[data-rows]').length === 2 && !!document.querySelector('.cka canvas[data-rows]'));
      await p.screenshot(`featureMaps-${theme}`);
      assert.deepEqual(await p.csp(), []);
      if (theme === 'high-contrast') {
        // High contrast: the maps get a border in the theme's contrast colour (#6fc3df).
        const d = await p.page.$eval('.cka canvas', (el) => ({ ...(el as HTMLCanvasElement).dataset }));
        const border = await pixel(p.page, '.cka canvas', Number(d.x0) + 3 * Number(d.cellW) + 2, Number(d.y0) - 0.5);
        assert.deepEqual(border.slice(0, 3), [0x6f, 0xc3, 0xdf]);
      }
      await p.close();
    }
  });
});

const VIRIDIS = { top: [0xfd, 0xe7, 0x25], bottom: [0x44, 0x01, 0x54] };
const INFERNO = { top: [0xfc, 0xff, 0xa4], bottom: [0, 0, 4] };

/** Checks that a pair's three heatmaps show `maps` of sample `k`: the two maps on a shared domain, and |teacher − student|. */
async function assertPairShows(page: Page, pairId: string, maps: PairMaps, k: number): Promise<void> {
  const t = maps.teacherMaps[k];
  const s = maps.studentMaps[k];
  const domain: [number, number] = [Math.min(...t.values, ...s.values), Math.max(...t.values, ...s.values)];
  const sel = `.pair[data-pair="${pairId}"]`;
  assertDrawnFrom(await cells(page, `${sel} .map-teacher canvas`), t, domain, VIRIDIS.top, VIRIDIS.bottom);
  assertDrawnFrom(await cells(page, `${sel} .map-student canvas`), s, domain, VIRIDIS.top, VIRIDIS.bottom);
  const d = { rows: t.rows, cols: t.cols, values: t.values.map((v, i) => Math.abs(v - s.values[i])) };
  assertDrawnFrom(await cells(page, `${sel} .map-diff canvas`), d, [0, Math.max(...d.values)], INFERNO.top, INFERNO.bottom);
}

const reductionLine = (page: Page, pairId: string) => page.textContent(`.pair[data-pair="${pairId}"] .pair-reduction`);
const select = (page: Page) =>
  page.$eval('#reduction', (el) => {
    const s = el as HTMLElement & { value: string; disabled: boolean };
    return {
      value: s.value,
      disabled: s.disabled,
      options: Array.from(s.querySelectorAll('vscode-option')).map((o) => o.textContent),
      name: s.shadowRoot?.querySelector('[role="combobox"]')?.getAttribute('aria-label'),
    };
  });

describe('feature maps panel: channel reduction', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  const rec = probe(4);
  const [conv, dense] = rec.pairs;
  const ready = (p: Panel) => until(p.page, () => document.querySelectorAll('.pair .map-teacher canvas[data-rows]').length === 2);

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('the recorded run has conv maps reduced by max and top-k, and dense maps only as a grid', () => {
    // The fixture config's conv2 teacher layer has 32 filters and probes.topK defaults to 4.
    assert.equal(conv.id, 'hint:conv2<-conv2');
    assert.deepEqual(conv.shape, [14, 14, 32]);
    assert.equal(conv.reduced?.k, 4);
    assert.equal(dense.id, 'hint:fc1<-fc1');
    assert.equal(dense.reduced, undefined);
    // Max over channels is at least the mean, position by position, and differs somewhere.
    const mean = conv.teacherMaps[0].values;
    const max = conv.reduced!.max.teacherMaps[0].values;
    const top = conv.reduced!.topk.teacherMaps[0].values;
    assert.ok(max.every((v, i) => v >= mean[i] - 1e-3 && v >= top[i] - 1e-3 && top[i] >= mean[i] - 1e-3));
    assert.ok(max.some((v, i) => v > mean[i] + 1e-3));
  });

  it('switches conv maps to the channel max and top-k from the keyboard; dense pairs stay a grid', async () => {
    const panel = await openPanel(browser, server.origin, 'featureMaps', { host: runHost('featureMaps') });
    await ready(panel);
    assert.deepEqual(await select(panel.page), { value: 'mean', disabled: false, options: ['Mean', 'Max', 'Top-4 mean'], name: 'Channel reduction' });
    await assertPairShows(panel.page, conv.id, conv, 0);
    assert.match((await reductionLine(panel.page, conv.id))!, /^Conv 14 × 14 × 32: each position shows the mean of its 32 channels/);

    // Open the list, move down one option, pick it.
    await panel.page.focus('#reduction [role="combobox"]');
    for (const key of ['ArrowDown', 'ArrowDown', 'Enter']) await panel.page.keyboard.press(key);
    await until(panel.page, () => document.querySelector('.pair .pair-reduction')?.textContent?.includes('the max of its 32 channels'));
    assert.equal((await select(panel.page)).value, 'max');
    await assertPairShows(panel.page, conv.id, conv.reduced!.max, 0);
    assert.match((await panel.page.getAttribute(`.pair[data-pair="${conv.id}"] .map-teacher canvas`, 'aria-label'))!, /^Teacher conv2 \(max over channels\)/);
    await assertPairShows(panel.page, dense.id, dense, 0);
    assert.match((await reductionLine(panel.page, dense.id))!, /^Dense \(128 units\): shown as a grid/);
    await until(panel.page, () => (window as unknown as { __state?: { ui?: { reduction?: string } } }).__state?.ui?.reduction === 'max');

    for (const key of ['ArrowDown', 'ArrowDown', 'Enter']) await panel.page.keyboard.press(key);
    await until(panel.page, () => document.querySelector('.pair .pair-reduction')?.textContent?.includes('the mean of the 4 largest of its 32 channels'));
    await assertPairShows(panel.page, conv.id, conv.reduced!.topk, 0);
    assert.deepEqual(panel.errors, []);
    await panel.screenshot('featureMaps-topk');
    await panel.close();
  });

  it('restores the saved reduction', async () => {
    const panel = await openPanel(browser, server.origin, 'featureMaps', {
      host: runHost('featureMaps'),
      initialState: { view: 'featureMaps', target: { follow: false, runDir: FIXTURE_RUN }, ui: { reduction: 'max', sample: 2 } },
    });
    await ready(panel);
    await until(panel.page, () => document.querySelector('.pair .pair-reduction')?.textContent?.includes('the max of its 32 channels'));
    assert.equal((await select(panel.page)).value, 'max');
    await assertPairShows(panel.page, conv.id, conv.reduced!.max, 2);
    await panel.close();
  });

  it('shows a run recorded before max and top-k as the channel mean, the control disabled', async () => {
    // The same run as it was recorded before this change: the probe files without `shape` and `reduced`.
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-old-run-'));
    fs.cpSync(FIXTURE_RUN, old, { recursive: true });
    for (const f of fs.readdirSync(path.join(old, 'probes'))) {
      const file = path.join(old, 'probes', f);
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as ProbeRecord;
      for (const p of r.pairs) {
        delete p.shape;
        delete p.reduced;
      }
      fs.writeFileSync(file, JSON.stringify(r));
    }
    try {
      const panel = await openPanel(browser, server.origin, 'featureMaps', {
        host: runHost('featureMaps', old),
        initialState: { view: 'featureMaps', target: { follow: false, runDir: old }, ui: { reduction: 'max' } },
      });
      await ready(panel);
      await until(panel.page, () => (document.getElementById('reduction') as unknown as { disabled: boolean }).disabled);
      assert.deepEqual(await select(panel.page), { value: 'mean', disabled: true, options: ['Mean', 'Max', 'Top-k mean'], name: 'Channel reduction' });
      for (const pair of [conv, dense]) {
        await assertPairShows(panel.page, pair.id, pair, 0);
        assert.match((await reductionLine(panel.page, pair.id))!, /^Shown as recorded: conv taps as the channel mean, dense taps as a grid/);
      }
      assert.deepEqual(panel.errors, []);
      await panel.close();
    } finally {
      fs.rmSync(old, { recursive: true, force: true });
    }
  });
});
