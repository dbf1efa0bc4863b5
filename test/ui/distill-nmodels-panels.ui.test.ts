/// <reference types="mocha" />
// The result panels on a run of N models in the real workbench (code-server, packaged extension):
// a tiny online run (three deep-mutual-learning peers, a few hundred MNIST examples, 2 epochs) is
// run from the palette; Loss Split lists the three peers with one accuracy curve each and Logits
// compares any two of them, the values read back from the webview frames and checked against the
// run's own files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import type { Manifest, MetricRecord, ProbeRecord } from '../../src/core/protocol';
import { closePalette, panelFrame, runCommand, screenshot, screenshotFailures, startWorkbench, treeItem, type Workbench } from './helpers';

const CONFIG = 'dml-3peers.distill.json';
const EPOCHS = 2;
const DML = {
  name: 'dml-3peers',
  seed: 1,
  data: { dataset: 'mnist', trainSize: 400, testSize: 200 },
  teacher: { model: { type: 'mlp', hidden: [64] }, training: { epochs: EPOCHS, optimizer: { type: 'sgd', lr: 0.05 } } },
  student: { model: { type: 'mlp', hidden: [32] } },
  baseline: false,
  distillation: { mode: 'online', temperature: 1, peers: [{ model: { type: 'mlp', hidden: [16] } }], losses: [{ type: 'ce', weight: 1 }, { type: 'kd', weight: 1 }] },
  training: { epochs: EPOCHS, batchSize: 64, optimizer: { type: 'sgd', lr: 0.05 } },
};
const PEERS = ['peer1', 'peer2', 'peer3'];

function runDir(ws: string): string | undefined {
  const dir = path.join(ws, '.distill', 'runs');
  const [d] = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  return d && path.join(dir, d);
}
const manifest = (dir: string): Manifest | undefined => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
};
const epochRecords = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricRecord)
    .filter((r): r is Extract<MetricRecord, { kind: 'epoch' }> => r.kind === 'epoch');
const probeFile = (dir: string, id: string, epoch: number): ProbeRecord =>
  JSON.parse(fs.readFileSync(path.join(dir, 'probes', `${id}-epoch-${String(epoch).padStart(4, '0')}.json`), 'utf8'));

function chartData(frame: Frame, id: string): Promise<{ labels: string[]; data: (number | null)[][] } | undefined> {
  return frame.evaluate((chartId) => {
    const u = (document.getElementById(chartId) as unknown as { __uplot?: { series: { label?: string }[]; data: (number | null)[][] } } | null)?.__uplot;
    return u ? { labels: u.series.map((s) => String(s.label ?? '')), data: u.data.map((c) => Array.from(c)) } : undefined;
  }, id);
}
const options = (frame: Frame, id: string) => frame.$$eval(`#${id} vscode-option`, (os) => os.map((o) => [o.getAttribute('value') ?? '', (o.textContent ?? '').trim()]));
const logitsShown = async (frame: Frame, id: string) => frame.$$eval(`.logits-${id} tbody tr`, (rows) => rows.map((r) => Number(r.children[1].textContent)));
function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${what}[${i}]: shown ${actual[i]}, recorded ${e}`));
}

describe('Distill Lab: panels on an online run of three peers (packaged extension)', function () {
  let wb: Workbench;
  let fixture: string;
  let run = '';

  before(async function () {
    this.timeout(180_000);
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ui-nmodels-'));
    fs.writeFileSync(path.join(fixture, CONFIG), JSON.stringify(DML, null, 2) + '\n');
    wb = await startWorkbench({ fixture, viewport: { width: 1600, height: 1000 } });
  });

  screenshotFailures(() => wb);

  after(async () => {
    await wb?.dispose();
    fs.rmSync(fixture, { recursive: true, force: true });
  });

  it('runs the online config from the palette', async function () {
    this.timeout(300_000);
    const page = wb.page;
    await treeItem(page, CONFIG).dblclick();
    await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor();
    // Run Experiment is enabled once the workbench has settled the workspace's trust; on a loaded
    // machine the palette can open before that and not list it (it does not refresh while open).
    for (let attempt = 1; ; attempt++) {
      try {
        await runCommand(page, 'Distill Lab: Run Experiment');
        break;
      } catch (e) {
        if (attempt === 3) throw e;
        await closePalette(page);
        await page.waitForTimeout(3000);
      }
    }
    const end = Date.now() + 280_000;
    for (;;) {
      const dir = runDir(wb.workspace);
      const status = dir && manifest(dir)?.status;
      if (status === 'done') {
        run = dir!;
        break;
      }
      assert.ok(!status || status === 'running', `the run ended ${status}`);
      assert.ok(Date.now() < end, 'the run did not finish');
      await page.waitForTimeout(500);
    }
    assert.deepEqual(manifest(run)!.models!.map((m) => m.id), PEERS);
  });

  it('Loss Split lists the three peers, one accuracy curve each, and a peer’s ce and kd', async function () {
    this.timeout(120_000);
    const page = wb.page;
    await runCommand(page, 'Distill Lab: Open Results');
    const frame = await panelFrame(page, 'lossSplit');
    const plan = manifest(run)!.models!;
    const epochs = epochRecords(run);
    await frame.waitForFunction((n) => {
      const u = (document.getElementById('accuracy-chart') as unknown as { __uplot?: { data: (number | null)[][] } })?.__uplot;
      return !!u && u.data.slice(1).flat().filter((v) => v !== null).length === n;
    }, epochs.length);
    assert.deepEqual(await options(frame, 'stage'), plan.map((m) => [m.id, m.label]));
    const acc = (await chartData(frame, 'accuracy-chart'))!;
    assert.deepEqual(acc.labels.slice(1), ['peer 1 (teacher)', 'peer 2 (student)', 'peer 3']);
    PEERS.forEach((id, i) => assert.deepEqual(acc.data[i + 1], epochs.filter((r) => r.stage === id).map((r) => r.validationAccuracy), `${id} validation accuracy`));
    // Peer 3's own terms: cross-entropy and the KL towards the other two peers.
    await frame.evaluate(() => {
      const el = document.getElementById('stage') as HTMLElement & { value: string };
      el.value = 'peer3';
      el.dispatchEvent(new Event('change'));
    });
    await frame.locator('#loss-chart-caption', { hasText: 'peer 3' }).waitFor();
    const loss = (await chartData(frame, 'loss-chart'))!;
    const peer3 = epochs.filter((r) => r.stage === 'peer3');
    assert.deepEqual(loss.data[1], peer3.map((r) => r.losses.ce));
    assert.deepEqual(loss.data[2], peer3.map((r) => r.losses.kd));
    await screenshot(page, 'nmodels-loss-split');
  });

  it('Logits compares peer 1 with peer 2, and with peer 3 from its own probe file', async function () {
    this.timeout(120_000);
    const page = wb.page;
    await runCommand(page, 'Distill Lab: Open Logits');
    const frame = await panelFrame(page, 'logits');
    await frame.locator('#detail-title', { hasText: new RegExp(`epoch ${EPOCHS}$`) }).waitFor({ timeout: 30_000 });
    assert.deepEqual((await options(frame, 'model-b')).map(([id]) => id), PEERS);
    await frame.locator('.logits-peer2 tbody tr').first().waitFor();
    assertClose(await logitsShown(frame, 'peer1'), probeFile(run, 'peer1', EPOCHS).studentLogits[0], 'peer 1 logits');
    assertClose(await logitsShown(frame, 'peer2'), probeFile(run, 'peer2', EPOCHS).studentLogits[0], 'peer 2 logits');
    await frame.evaluate(() => {
      const el = document.getElementById('model-b') as HTMLElement & { value: string };
      el.value = 'peer3';
      el.dispatchEvent(new Event('change'));
    });
    await frame.locator('.logits-peer3 tbody tr').first().waitFor();
    assertClose(await logitsShown(frame, 'peer3'), probeFile(run, 'peer3', EPOCHS).studentLogits[0], 'peer 3 logits');
    // A finished run: over the whole test set.
    assert.match((await frame.locator('#agreement-rate').textContent())!, /^Peer 3 predicts peer 1 \(teacher\)’s class for [\d,]+ of [\d,]+ test examples/);
    await screenshot(page, 'nmodels-logits');
  });
});
