/// <reference types="mocha" />
// The Relations panel in the real workbench (the packaged extension in code-server): the relations
// fixture's config (SP and RKD on the last hidden layers) run from the editor's Run lens, then
// Distill Lab: Open Relations from the palette. Every relation's teacher, student and |difference|
// matrices must be the run's last probe file's, cell by cell, and the panel must raise no CSP
// violation.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import type { Manifest, ProbeRecord } from '../../src/core/protocol';
import { panelFrame, ROOT, runCommand, screenshot, screenshotFailures, startWorkbench, type Workbench } from './helpers';

const CONFIG = 'relations.distill.json';

/** The accessible value table under a heatmap canvas, as numbers (row-major). */
function tableValues(frame: Frame, selector: string): Promise<number[]> {
  return frame.$$eval(`${selector} table td`, (tds) => tds.map((td) => Number(td.textContent)));
}

describe('Distill Lab: the Relations panel on a real run (packaged extension)', function () {
  let wb: Workbench;
  let fixture: string;
  const consoleLines: string[] = [];

  before(async function () {
    this.timeout(180_000);
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-relations-'));
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'run', CONFIG), path.join(fixture, CONFIG));
    wb = await startWorkbench({ fixture });
    wb.page.on('console', (m) => consoleLines.push(m.text()));
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it("shows every relation term's matrices as the run's last probe file records them", async function () {
    this.timeout(300_000);
    const page = wb.page;
    await page.locator('.activitybar .action-item a[aria-label^="Distill Lab"]').click();
    const row = page.locator('.part.sidebar .pane-body [role=treeitem]').filter({ hasText: CONFIG });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.click(); // opens the config
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    await page.locator('.codelens-decoration a', { hasText: /^\s*Run\s*$/ }).first().click({ timeout: 30_000 });

    const runs = path.join(wb.workspace, '.distill', 'runs');
    const manifest = (): Manifest | undefined => {
      const [id] = fs.existsSync(runs) ? fs.readdirSync(runs) : [];
      const file = id && path.join(runs, id, 'manifest.json');
      return file && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest) : undefined;
    };
    for (let t = 0; manifest()?.status !== 'done'; t++) {
      assert.ok(t < 240, `the run did not finish: ${JSON.stringify(manifest()?.status)}`);
      await page.waitForTimeout(1000);
    }
    const runDir = path.join(runs, fs.readdirSync(runs)[0]);
    const probe = JSON.parse(fs.readFileSync(path.join(runDir, 'probes', 'student-epoch-0002.json'), 'utf8')) as ProbeRecord;
    assert.equal(probe.relations?.length, 3, 'SP one relation, RKD two (distance and angle)');

    await runCommand(page, 'Distill Lab: Open Relations');
    const frame = await panelFrame(page, 'relations');
    await frame.locator('[data-relation] .map-teacher table td').first().waitFor({ state: 'attached', timeout: 30_000 });
    const keys = await frame.$$eval('[data-relation]', (els) => els.map((e) => e.getAttribute('data-relation')));
    assert.deepEqual(keys, probe.relations!.map((r) => `${r.id}/${r.name}`));
    const close = (shown: number[], recorded: number[], what: string) => {
      assert.equal(shown.length, recorded.length, `${what}: one cell per entry`);
      shown.forEach((v, i) => assert.ok(Math.abs(v - recorded[i]) <= 1e-3 * Math.max(1, Math.abs(recorded[i])), `${what}[${i}]: shown ${v}, recorded ${recorded[i]}`));
    };
    for (const r of probe.relations!) {
      const sel = `[data-relation="${r.id}/${r.name}"]`;
      close(await tableValues(frame, `${sel} .map-teacher`), r.teacher.values, `${r.name} teacher`);
      close(await tableValues(frame, `${sel} .map-student`), r.student.values, `${r.name} student`);
      close(await tableValues(frame, `${sel} .map-diff`), r.teacher.values.map((v, i) => Math.abs(v - r.student.values[i])), `${r.name} |teacher − student|`);
      assert.match((await frame.locator(`${sel} .pair-loss`).textContent())!, /^Epoch 2: 8 × 8 over the probe samples/);
    }
    assert.deepEqual(consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l)), [], 'CSP violations in the webview');
    await screenshot(page, 'relations');
  });
});
