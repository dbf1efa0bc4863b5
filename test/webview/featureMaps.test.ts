// The feature-maps panel in headless Chromium, fed the recorded run: the teacher map, the student
// map after its connector and their difference drawn cell by cell from the recorded values; the
// matching loss over epochs; the CKA matrix with the configured pairs outlined.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Heatmap, MetricRecord, ProbeRecord } from '../../src/core/protocol';
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
      assert.match((await panel.page.textContent(`${sel} .pair-loss`))!, new RegExp(`probe samples ${String(Number(pair.loss.toPrecision(4)))}`));
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
    assert.match((await panel.page.textContent('#reduction-note'))!, /mean over channels.*max and top-k channels are not recorded yet/);
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
