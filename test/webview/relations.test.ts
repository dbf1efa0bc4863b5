// The Relations panel in headless Chromium, fed a recorded run with SP and RKD terms: for each
// relation the teacher's and the student's matrices over the probe samples and |difference| are
// drawn cell by cell from the recorded values, at the epoch the scrubber selects; a run without
// relation terms says so.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ProbeRecord } from '../../src/core/protocol';
import { FIXTURE_RUN, FIXTURE_RUN_RELATIONS, launchBrowser, openPanel, type Panel, runHost, startServer, until } from './harness';

const probe = (epoch: number): ProbeRecord =>
  JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN_RELATIONS, 'probes', `student-epoch-${String(epoch).padStart(4, '0')}.json`), 'utf8'));

/** The accessible value table under a heatmap canvas, as numbers (row-major). */
async function tableValues(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(`${selector} table td`, (tds) => tds.map((td) => Number(td.textContent)));
}

describe('relations panel', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;
  let panel: Panel;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    panel = await openPanel(browser, server.origin, 'relations', { host: runHost('relations', FIXTURE_RUN_RELATIONS) });
    await until(panel.page, () => document.querySelectorAll('[data-relation] .map-teacher canvas[data-rows]').length === 3);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows every relation of every relation term, at the last epoch, with the recorded values', async () => {
    const rec = probe(2);
    const keys = await panel.page.$$eval('[data-relation]', (els) => els.map((e) => e.getAttribute('data-relation')));
    assert.deepEqual(keys, rec.relations!.map((r) => `${r.id}/${r.name}`));
    for (const r of rec.relations!) {
      const sel = `[data-relation="${r.id}/${r.name}"]`;
      const rows = await panel.page.$eval(`${sel} .map-teacher canvas`, (c) => [Number((c as HTMLElement).dataset.rows), Number((c as HTMLElement).dataset.cols)]);
      assert.deepEqual(rows, [r.teacher.rows, r.teacher.cols]);
      const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-3 * Math.max(1, Math.abs(b[i])), `${what}[${i}] ${v} vs ${b[i]}`));
      const t = await tableValues(panel.page, `${sel} .map-teacher`);
      const s = await tableValues(panel.page, `${sel} .map-student`);
      const d = await tableValues(panel.page, `${sel} .map-diff`);
      assert.equal(t.length, r.teacher.values.length, 'one table cell per matrix entry');
      close(t, r.teacher.values, `${r.name} teacher`);
      close(s, r.student.values, `${r.name} student`);
      close(d, r.teacher.values.map((v, i) => Math.abs(v - r.student.values[i])), `${r.name} |diff|`);
      assert.match((await panel.page.textContent(`${sel} .pair-loss`))!, /^Epoch 2: 8 × 8 over the probe samples/);
    }
    assert.deepEqual(panel.errors, []);
  });

  it('scrubs to epoch 1 and redraws from that epoch\'s probes', async () => {
    const rec = probe(1);
    await panel.page.focus('#epoch');
    await panel.page.keyboard.press('Home');
    await until(panel.page, () => /^Epoch 1:/.test(document.querySelector('[data-relation] .pair-loss')?.textContent ?? ''));
    const r = rec.relations![0];
    const s = await tableValues(panel.page, `[data-relation="${r.id}/${r.name}"] .map-student`);
    s.forEach((v, i) => assert.ok(Math.abs(v - r.student.values[i]) <= 1e-3 * Math.max(1, Math.abs(r.student.values[i]))));
  });

  it('says so when the run has no relation terms', async () => {
    const other = await openPanel(browser, server.origin, 'relations', { host: runHost('relations', FIXTURE_RUN) });
    await until(other.page, () => !(document.getElementById('no-relations') as HTMLElement).hidden);
    assert.match((await other.page.textContent('#no-relations'))!, /no relation terms/);
    await other.page.close();
  });
});
