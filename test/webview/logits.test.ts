// The logits panel in headless Chromium, fed the recorded run: the gallery, the bars (measured on
// the canvas), the T slider's probabilities (computed independently here), the entropy, the
// agreement matrix, the epoch scrubber, keyboard use, saved state, CSP and typed messages.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ProbeRecord, TestPredictions } from '../../src/core/protocol';
import { RunReader } from '../../src/host/panels/runData';
import { FIXTURE_RUN, launchBrowser, openPanel, type Panel, pixel, runHost, startServer, until } from './harness';

const probe = (stage: string, epoch: number): ProbeRecord =>
  JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN, 'probes', `${stage}-epoch-${String(epoch).padStart(4, '0')}.json`), 'utf8'));

// Written out here rather than imported: the test must not share the code it checks.
function refSoftmax(z: number[], T: number): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp((v - m) / T));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
const refEntropy = (p: number[]) => -p.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0);
const refArgmax = (a: number[]) => a.indexOf(Math.max(...a));

interface Geometry {
  x0: number;
  slot: number;
  barW: number;
  zeroY: number;
  pxPerUnit: number;
  n: number;
  min: number;
  max: number;
}

async function geometry(page: Page, selector: string): Promise<Geometry> {
  return page.evaluate((sel) => {
    const d = (document.querySelector(sel) as HTMLCanvasElement).dataset;
    return { x0: +d.x0!, slot: +d.slot!, barW: +d.barW!, zeroY: +d.zeroY!, pxPerUnit: +d.pxPerUnit!, n: +d.n!, min: +d.min!, max: +d.max! };
  }, selector);
}

/** Checks on the canvas that bar i ends where value v puts it: painted just inside, empty just outside. */
async function assertBars(page: Page, selector: string, values: number[]): Promise<number> {
  const g = await geometry(page, selector);
  assert.equal(g.n, values.length);
  const plotTop = g.zeroY - g.max * g.pxPerUnit;
  const plotBottom = g.zeroY - g.min * g.pxPerUnit;
  let checked = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const h = Math.abs(v) * g.pxPerUnit;
    const cx = g.x0 + i * g.slot + g.slot / 2;
    const end = v >= 0 ? g.zeroY - h : g.zeroY + h;
    // Too short to measure, or ending on the true class's outline at the plot's edge.
    if (h < 4 || Math.abs(end - plotTop) < 3 || Math.abs(end - plotBottom) < 3) continue;
    checked++;
    const inside = await pixel(page, selector, cx, v >= 0 ? end + 1.5 : end - 1.5);
    const outside = await pixel(page, selector, cx, v >= 0 ? end - 1.5 : end + 1.5);
    assert.ok(inside[3] > 0, `${selector} bar ${i} (value ${v}) should be painted at its end`);
    assert.equal(outside[3], 0, `${selector} bar ${i} (value ${v}) should stop at its end`);
  }
  return checked;
}

/** The accessible table of a chart: [class, value, extra?] rows as numbers. */
async function tableValues(page: Page, selector: string, column = 1): Promise<number[]> {
  return page.$$eval(`${selector} tbody tr`, (rows, c) => rows.map((r) => Number(r.children[c as number].textContent)), column);
}

async function setRange(page: Page, id: string, key: string, times = 1): Promise<void> {
  await page.focus(`#${id}`);
  for (let i = 0; i < times; i++) await page.keyboard.press(key);
}

describe('logits panel', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;
  const last = { student: probe('student', 4), baseline: probe('baseline', 4) };

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'logits', { host: runHost('logits') });
    await until(panel.page, () => document.querySelectorAll('#gallery [role=option]').length > 0 && !!document.querySelector('.probs-teacher canvas')?.getAttribute('data-n'));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('says ready first and posts only typed protocol messages', async () => {
    assert.deepEqual(panel.posted[0], { type: 'ready', view: 'logits' });
    const req = await panel.waitFor('getProbes');
    assert.equal(req.epoch, 4, 'opens at the latest epoch');
    assert.deepEqual([...req.stages].sort(), ['baseline', 'student']);
    assert.deepEqual(panel.malformed, []);
  });

  it('draws the probe samples as a gallery of their pixels', async () => {
    const n = await panel.page.$$eval('#gallery [role=option]', (els) => els.length);
    assert.equal(n, last.student.samples.length);
    const pixels = probe('teacher', 1).images!.pixels[0];
    for (const [x, y] of [
      [14, 14],
      [10, 20],
      [3, 3],
    ]) {
      const [r] = await pixel(panel.page, '#gallery-0 canvas', 2 * x + 1, 2 * y + 1);
      assert.equal(r, Math.round(255 * pixels[y * 28 + x]));
    }
    assert.equal(await panel.page.getAttribute('#gallery', 'aria-activedescendant'), 'gallery-0');
    const label = await panel.page.getAttribute('#gallery-0', 'aria-label');
    assert.match(label!, new RegExp(`label ${last.student.labels[0]}`));
  });

  it('draws each model’s logits as bars of the recorded values', async () => {
    const z = { teacher: last.student.teacherLogits![0], student: last.student.studentLogits[0], baseline: last.baseline.studentLogits[0] };
    const all = [...z.teacher, ...z.student, ...z.baseline];
    for (const m of ['teacher', 'student', 'baseline'] as const) {
      const g = await geometry(panel.page, `.logits-${m} canvas`);
      assert.ok(Math.abs(g.max - Math.max(0, ...all)) < 1e-9 && Math.abs(g.min - Math.min(0, ...all)) < 1e-9, 'one scale for the three models');
      const shown = await tableValues(panel.page, `.logits-${m}`);
      shown.forEach((v, i) => assert.ok(Math.abs(v - z[m][i]) <= 1e-5 * Math.max(1, Math.abs(z[m][i])), `${m} logit ${i}`));
      assert.ok((await assertBars(panel.page, `.logits-${m} canvas`, z[m])) >= 5, `${m}: most bars measured`);
    }
  });

  it('recomputes softmax(z/T) when the T slider moves (keyboard), with the soft target’s entropy', async () => {
    const z = last.student.teacherLogits![0];
    const zs = last.student.studentLogits[0];
    // Home → T = 0.5; one step right → T = 1.
    await setRange(panel.page, 'temperature', 'Home');
    await setRange(panel.page, 'temperature', 'ArrowRight');
    assert.equal(await panel.page.inputValue('#temperature'), '1');
    const entropies: number[] = [];
    let prev = 1;
    for (const T of [1, 4, 20]) {
      await setRange(panel.page, 'temperature', 'ArrowRight', (T - prev) / 0.5);
      prev = T;
      assert.equal(await panel.page.inputValue('#temperature'), String(T));
      const expected = refSoftmax(z, T);
      const shown = await tableValues(panel.page, '.probs-teacher');
      shown.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-6, `T=${T}: p[${i}] = ${p}, expected ${expected[i]}`));
      const student = await tableValues(panel.page, '.probs-student');
      refSoftmax(zs, T).forEach((p, i) => assert.ok(Math.abs(student[i] - p) < 1e-6));
      const g = await geometry(panel.page, '.probs-teacher canvas');
      assert.equal(g.min, 0);
      assert.equal(g.max, 1);
      assert.ok((await assertBars(panel.page, '.probs-teacher canvas', expected)) >= ({ 1: 0, 4: 2, 20: 5 } as Record<number, number>)[T], `T=${T}: bars measured`);
      const h = Number(await panel.page.getAttribute('#entropy', 'data-entropy'));
      assert.ok(Math.abs(h - refEntropy(expected)) < 1e-12);
      entropies.push(h);
      assert.match((await panel.page.textContent('#temperature-value'))!, new RegExp(`T = ${T}`));
    }
    assert.ok(entropies[0] < entropies[1] && entropies[1] < entropies[2], 'the soft target flattens as T grows (dark knowledge appears)');
  });

  it('shows the teacher-vs-student agreement matrix over the probe set', async () => {
    const t = last.student.teacherLogits!;
    const s = last.student.studentLogits;
    const counts = Array.from({ length: 10 }, () => new Array(10).fill(0));
    t.forEach((row, k) => counts[refArgmax(row)][refArgmax(s[k])]++);
    const rows = await panel.page.$$eval('.agreement tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => Number(td.textContent || 0))));
    assert.deepEqual(rows, counts);
    // The fullest cell has the top of the colormap (viridis #fde725), an empty cell its bottom (#440154).
    const d = await panel.page.$eval('.agreement canvas', (c) => ({ ...(c as HTMLCanvasElement).dataset }));
    const cell = +d.cellW!;
    const max = Math.max(...counts.flat());
    const r = counts.findIndex((row) => row.includes(max));
    const c = counts[r].indexOf(max);
    const top = await pixel(panel.page, '.agreement canvas', +d.x0! + c * cell + 2, +d.y0! + r * cell + 2);
    assert.deepEqual(top.slice(0, 3), [0xfd, 0xe7, 0x25]);
    const zr = counts.findIndex((row) => row.includes(0));
    const zc = counts[zr].indexOf(0);
    const bottom = await pixel(panel.page, '.agreement canvas', +d.x0! + zc * cell + 2, +d.y0! + zr * cell + 2);
    assert.deepEqual(bottom.slice(0, 3), [0x44, 0x01, 0x54]);
    const agree = counts.reduce((a, row, i) => a + row[i], 0);
    assert.match((await panel.page.textContent('#agreement-rate'))!, new RegExp(`${agree} of ${t.length}`));
    // The recorded run has no test-predictions.json (recorded before it existed): the probe set it is, said so.
    assert.equal(await panel.page.textContent('#agreement-title'), `Agreement over the ${t.length} probe samples of epoch 4`);
    assert.equal(await panel.page.isHidden('#agreement-correctness'), true);
  });

  it('shows the agreement over the whole test set when both models have test predictions, the probe set while one has none', async () => {
    // A copy of the recorded run with a test-predictions.json made here: 500 test examples (as the
    // run's results count), the teacher wrong on 24 and the student on 37 of them.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-logits-'));
    fs.cpSync(FIXTURE_RUN, dir, { recursive: true });
    const n = 500;
    const labels = Array.from({ length: n }, (_, i) => (i * 7) % 10);
    const teacher = labels.map((y, i) => (i % 21 === 0 ? (y + 1) % 10 : y));
    const student = labels.map((y, i) => (i % 13 === 5 && i < 13 * 37 ? (y + 1 + (i % 2)) % 10 : y));
    const baseline = labels.map((y, i) => (i % 15 === 7 && i < 15 * 33 ? (y + 3) % 10 : y));
    const predictions: TestPredictions = { labels, classes: 10, models: { teacher, baseline, student } };
    fs.writeFileSync(path.join(dir, 'test-predictions.json'), JSON.stringify(predictions));
    const counts = Array.from({ length: 10 }, () => new Array(10).fill(0));
    const right = { both: 0, teacher: 0, student: 0, neither: 0 };
    for (let i = 0; i < n; i++) {
      counts[teacher[i]][student[i]]++;
      const t = teacher[i] === labels[i];
      const s = student[i] === labels[i];
      right[t && s ? 'both' : t ? 'teacher' : s ? 'student' : 'neither']++;
    }
    const agree = counts.reduce((a, row, i) => a + row[i], 0);
    assert.deepEqual([right.student + right.neither, right.teacher + right.neither], [24, 37], 'the teacher wrong on 24, the student on 37');

    const whole = await openPanel(browser, server.origin, 'logits', { host: runHost('logits', dir) });
    const title = () => whole.page.textContent('#agreement-title');
    await until(whole.page, () => document.querySelector('#agreement-title')?.textContent?.includes('test examples'));
    assert.equal(await title(), 'Agreement over the 500 test examples');
    assert.equal(await whole.page.textContent('#agreement-rate'), `The distilled student predicts the teacher’s class for ${agree} of 500 test examples (${((100 * agree) / n).toFixed(1)}%).`);
    assert.equal(
      await whole.page.textContent('#agreement-correctness'),
      `Both right: ${right.both} · only the teacher right: ${right.teacher} · only the distilled student right: ${right.student} · both wrong: ${right.neither}.`,
    );
    const rows = await whole.page.$$eval('.agreement tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => Number(td.textContent || 0))));
    assert.deepEqual(rows, counts);

    // A live run before the student is finished: the probe set of the shown epoch, saying what it waits for.
    const run = new RunReader(dir).runInfo()!;
    await whole.send({ type: 'run', run: { ...run, status: 'running' } });
    await whole.send({ type: 'testPredictions', runDir: dir, predictions: { ...predictions, models: { teacher } } });
    await until(whole.page, () => document.querySelector('#agreement-title')?.textContent?.includes('probe samples'));
    assert.equal(await title(), `Agreement over the ${last.student.samples.length} probe samples of epoch 4`);
    assert.match((await whole.page.textContent('#agreement-rate'))!, /appears once the distilled student is finished\.$/);
    assert.equal(await whole.page.isHidden('#agreement-correctness'), true);
    // Finished: the whole test set again.
    await whole.send({ type: 'run', run });
    await whole.send({ type: 'testPredictions', runDir: dir, predictions });
    await until(whole.page, () => document.querySelector('#agreement-title')?.textContent?.includes('test examples'));
    assert.deepEqual(whole.malformed, []);
    assert.deepEqual(whole.errors, []);
    await whole.screenshot('logits-test-agreement');
    await whole.close();
  });

  it('moves through epochs with the scrubber, asking the host for that epoch’s probes', async () => {
    await setRange(panel.page, 'epoch', 'Home');
    const req = await panel.waitFor('getProbes', (m) => m.epoch === 1);
    assert.deepEqual([...req.stages].sort(), ['baseline', 'student']);
    const e1 = probe('student', 1).studentLogits[0];
    await until(panel.page, () => document.querySelector('#detail-title')?.textContent?.includes('epoch 1') && !document.querySelector('#detail-title')?.textContent?.includes('loading'));
    const shown = await tableValues(panel.page, '.logits-student');
    shown.forEach((v, i) => assert.ok(Math.abs(v - e1[i]) <= 1e-5 * Math.max(1, Math.abs(e1[i]))));
    assert.match((await panel.page.textContent('#epoch-value'))!, /^1 \/ 4$/);
  });

  it('is keyboard-usable: arrow keys move through the gallery; choices are saved with setState', async () => {
    await panel.page.focus('#gallery');
    await panel.page.keyboard.press('ArrowRight');
    await panel.page.keyboard.press('ArrowRight');
    await until(panel.page, () => document.querySelector('#gallery')?.getAttribute('aria-activedescendant') === 'gallery-2');
    assert.equal(await panel.page.getAttribute('#gallery-2', 'aria-selected'), 'true');
    await until(panel.page, () => document.querySelector('#detail-title')?.textContent?.startsWith('Sample 3'));
    // setState is debounced (100 ms, later on a busy machine): wait for the last choice to be saved.
    await until(panel.page, () => (window as unknown as { __state?: { ui?: { sample?: number } } }).__state?.ui?.sample === 2);
    const state = await panel.savedState();
    assert.equal(state?.view, 'logits');
    assert.equal(state?.ui?.sample, 2);
    assert.equal(state?.ui?.T, 20);
    assert.equal(state?.ui?.epoch, 1);
  });

  it('restores its state after a reload (the serializer’s state comes back through getState)', async () => {
    const state = await panel.savedState();
    const again = await openPanel(browser, server.origin, 'logits', { host: runHost('logits'), initialState: state });
    await until(again.page, () => document.querySelector('#detail-title')?.textContent?.includes('epoch 1') && !document.querySelector('#detail-title')?.textContent?.includes('loading'));
    await until(again.page, () => document.querySelector('#gallery')?.getAttribute('aria-activedescendant') === 'gallery-2');
    assert.equal(await again.page.inputValue('#temperature'), '20');
    assert.deepEqual(again.errors, []);
    await again.close();
  });

  it('names the classes where the dataset has names (Fashion-MNIST), in the gallery and on the bars, even when the run arrives after the probes', async () => {
    const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
    const run = new RunReader(FIXTURE_RUN).runInfo()!;
    await panel.send({ type: 'run', run: { ...run, classNames: names } });
    await until(panel.page, () => (document.querySelector('#gallery .thumb-caption')?.textContent ?? '').length > 2);
    const captions = (await panel.page.$$eval('#gallery .thumb-caption', (els) => els.map((e) => (e.textContent ?? '').replace(' ✕', '')))) as string[];
    assert.deepEqual(captions.slice(0, 3), last.student.labels.slice(0, 3).map((l) => names[l]));
    const barClasses = await panel.page.$$eval('.logits-teacher table tbody tr', (rows) => rows.map((r) => r.children[0].textContent));
    assert.deepEqual(barClasses, names);
    await panel.send({ type: 'run', run });
    await until(panel.page, () => /^\d/.test(document.querySelector('#gallery .thumb-caption')?.textContent ?? ''));
  });

  it('labels its graphics for screen readers and violates no CSP rule', async () => {
    const unlabeled = await panel.page.$$eval('canvas[role=img]', (cs) => cs.filter((c) => !c.getAttribute('aria-label')).length);
    assert.equal(unlabeled, 0);
    assert.equal(await panel.page.getAttribute('#gallery', 'role'), 'listbox');
    assert.ok(await panel.page.$('label[for=temperature]'));
    assert.deepEqual(await panel.csp(), []);
    assert.deepEqual(panel.errors, []);
  });

  it('saves screenshots in the light and dark themes', async () => {
    await panel.screenshot('logits-dark');
    const light = await openPanel(browser, server.origin, 'logits', { theme: 'light', host: runHost('logits') });
    await until(light.page, () => !!document.querySelector('.agreement canvas')?.getAttribute('data-rows'));
    const bg = await light.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(255, 255, 255)');
    await light.screenshot('logits-light');
    assert.deepEqual(await light.csp(), []);
    await light.close();
  });
});
