// The panels on runs of N models, in headless Chromium, fed real tiny runs (test/fixtures/run/
// online-3peers: three deep-mutual-learning peers with their alone-trained baselines; born-again:
// an ensemble teacher and two generations). Expectations come from the run folders themselves.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ModelResult, ProbeRecord, RunModel } from '../../src/core/protocol';
import { RunReader } from '../../src/host/panels/runData';
import { epochRecords, FIXTURE_RUN, FIXTURE_RUN_BORN_AGAIN, FIXTURE_RUN_BORN_AGAIN_RELATIONS, FIXTURE_RUN_ONLINE, launchBrowser, openPanel, runHost, selectValue, startServer, until } from './harness';

const manifest = (dir: string): { models: RunModel[]; results: { models: Record<string, ModelResult> } } => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const probe = (dir: string, id: string, epoch: number): ProbeRecord =>
  JSON.parse(fs.readFileSync(path.join(dir, 'probes', `${id}-epoch-${String(epoch).padStart(4, '0')}.json`), 'utf8'));
const argmax = (a: number[]) => a.indexOf(Math.max(...a));

type ChartData = { labels: string[]; data: (number | null)[][] };
async function chart(page: Page, id: string): Promise<ChartData> {
  return page.evaluate((id) => {
    const u = (document.getElementById(id) as unknown as { __uplot: { series: { label: string }[]; data: (number | null)[][] } }).__uplot;
    return { labels: u.series.map((s) => s.label), data: u.data.map((c) => Array.from(c)) };
  }, id);
}

/** The options of a vscode-single-select: [value, text]. */
async function options(page: Page, id: string): Promise<[string, string][]> {
  return page.$$eval(`#${id} vscode-option`, (os) => os.map((o) => [o.getAttribute('value') ?? '', (o.textContent ?? '').trim()] as [string, string]));
}

/** The accessible table of a bar chart: the values column as numbers. */
async function tableValues(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(`${selector} tbody tr`, (rows) => rows.map((r) => Number(r.children[1].textContent)));
}
const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`));

describe('panels on runs of N models', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Loss Split: an online run lists every peer and baseline, one accuracy line each, and splits a peer’s ce and kd', async () => {
    const panel = await openPanel(browser, server.origin, 'lossSplit', { host: runHost('lossSplit', FIXTURE_RUN_ONLINE) });
    const plan = manifest(FIXTURE_RUN_ONLINE).models;
    const records = epochRecords(FIXTURE_RUN_ONLINE);
    await until(panel.page, () => document.querySelectorAll('#stage vscode-option').length >= 6);
    assert.deepEqual(
      await options(panel.page, 'stage'),
      plan.map((m) => [m.id, m.label]),
    );
    assert.ok((await options(panel.page, 'stage')).some(([id, label]) => id === 'peer3' && label === 'peer 3'));
    const acc = await chart(panel.page, 'accuracy-chart');
    assert.deepEqual(acc.labels.slice(1), plan.map((m) => m.label));
    plan.forEach((m, i) =>
      assert.deepEqual(
        acc.data[i + 1],
        records.filter((r) => r.stage === m.id).map((r) => r.testAccuracy),
        m.id,
      ),
    );
    const swatches = await panel.page.$$eval('#accuracy-toggles .swatch', (els) => els.map((e) => (e as HTMLElement).style.background));
    assert.equal(swatches.length, plan.length);
    assert.equal(new Set(swatches).size, plan.length, 'a distinct colour per model');

    await selectValue(panel.page, 'stage', 'peer3');
    await until(panel.page, () => document.querySelector('#loss-chart-caption')?.textContent?.includes('peer 3'));
    const loss = await chart(panel.page, 'loss-chart');
    assert.match(loss.labels[1], /^ce /);
    assert.match(loss.labels[2], /^kd /);
    const peer3 = records.filter((r) => r.stage === 'peer3');
    assert.deepEqual(loss.data[1], peer3.map((r) => r.losses.ce));
    assert.deepEqual(loss.data[2], peer3.map((r) => r.losses.kd));
    assert.deepEqual(loss.data[3], peer3.map((r) => r.total));
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    await panel.screenshot('lossSplit-online-3peers');
    await panel.close();
  });

  it('Logits: an online run compares peer 1 with peer 2 by default, and any two peers from their own probes', async () => {
    const panel = await openPanel(browser, server.origin, 'logits', { host: runHost('logits', FIXTURE_RUN_ONLINE) });
    await until(panel.page, () => !!document.querySelector('.probs-peer2 canvas')?.getAttribute('data-n'));
    const plan = manifest(FIXTURE_RUN_ONLINE).models;
    assert.deepEqual((await options(panel.page, 'model-a')).map(([id]) => id), plan.map((m) => m.id));
    assert.deepEqual(await options(panel.page, 'model-b'), plan.map((m) => [m.id, m.label]));
    const shown = await panel.page.$$eval('.model-col:not([hidden])', (cs) => cs.map((c) => c.getAttribute('data-model')));
    assert.deepEqual(shown, ['peer1', 'peer2', 'peer2-alone'], 'peer 1, peer 2 and peer 2’s own baseline');
    const last = 2;
    const p1 = probe(FIXTURE_RUN_ONLINE, 'peer1', last);
    assert.equal(p1.teacherLogits, undefined, 'peers have no frozen teacher: each logits come from its own file');
    close(await tableValues(panel.page, '.logits-peer1'), p1.studentLogits[0], 'peer1');
    close(await tableValues(panel.page, '.logits-peer2'), probe(FIXTURE_RUN_ONLINE, 'peer2', last).studentLogits[0], 'peer2');

    await selectValue(panel.page, 'model-b', 'peer3');
    await until(panel.page, () => !!document.querySelector('.logits-peer3 tbody tr'));
    const p3 = probe(FIXTURE_RUN_ONLINE, 'peer3', last);
    close(await tableValues(panel.page, '.logits-peer3'), p3.studentLogits[0], 'peer3');
    const counts = Array.from({ length: 10 }, () => new Array(10).fill(0));
    p1.studentLogits.forEach((row, k) => counts[argmax(row)][argmax(p3.studentLogits[k])]++);
    await until(panel.page, () => document.querySelector('#agreement-rate')?.textContent?.includes('peer 3'));
    const rows = await panel.page.$$eval('.agreement tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => Number(td.textContent || 0))));
    assert.deepEqual(rows, counts);
    const agree = counts.reduce((a, row, i) => a + row[i], 0);
    assert.match((await panel.page.textContent('#agreement-rate'))!, new RegExp(`epoch 2 peer 3 predicts peer 1 \\(teacher\\)’s class for ${agree} of ${p1.samples.length}`));
    // setState is debounced (100 ms, later on a busy machine): wait for the choice to be saved.
    await until(panel.page, () => (window as unknown as { __state?: { ui?: { b?: string } } }).__state?.ui?.b === 'peer3');
    const state = await panel.savedState();
    assert.equal(state?.ui?.b, 'peer3');
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    await panel.screenshot('logits-online-3peers');
    await panel.close();
  });

  it('Logits: a born-again run compares its (ensemble) teacher with the last generation; the teacher’s logits are those its first pupil recorded', async () => {
    const panel = await openPanel(browser, server.origin, 'logits', { host: runHost('logits', FIXTURE_RUN_BORN_AGAIN) });
    await until(panel.page, () => !!document.querySelector('.logits-teacher tbody tr') && !!document.querySelector('.logits-gen2 tbody tr'));
    const shown = await panel.page.$$eval('.model-col:not([hidden])', (cs) => cs.map((c) => c.getAttribute('data-model')));
    assert.deepEqual(shown, ['teacher', 'gen2', 'baseline']);
    const gen1 = probe(FIXTURE_RUN_BORN_AGAIN, 'gen1', 2);
    close(await tableValues(panel.page, '.logits-teacher'), gen1.teacherLogits![0], 'teacher');
    close(await tableValues(panel.page, '.logits-gen2'), probe(FIXTURE_RUN_BORN_AGAIN, 'gen2', 2).studentLogits[0], 'gen2');
    const labels = Object.fromEntries(await options(panel.page, 'model-a'));
    assert.equal(labels.teacher, 'teacher (generation 0)');
    assert.equal(labels.teacher1, 'teacher 1');
    assert.deepEqual(panel.errors, []);
    await panel.close();
  });

  it('Compare: lists the model ids of every compared run, draws any of them, and names each run’s other models', async () => {
    const dirs = [FIXTURE_RUN, FIXTURE_RUN_ONLINE, FIXTURE_RUN_BORN_AGAIN];
    const runs = dirs.map((d) => {
      const r = new RunReader(d);
      return { run: r.runInfo()!, epochs: r.readMetrics(true).epochs };
    });
    const panel = await openPanel(browser, server.origin, 'compare', {
      host: async (m, p) => {
        if (m.type !== 'ready') return;
        await p.send({ type: 'target', target: { follow: false, runDirs: dirs } });
        await p.send({ type: 'compare', runs });
      },
    });
    await until(panel.page, () => document.querySelectorAll('#stage vscode-option').length > 3);
    const ids = (await options(panel.page, 'stage')).map(([id]) => id);
    const withCurves = new Set(dirs.flatMap((d) => epochRecords(d).map((r) => r.stage)));
    assert.deepEqual([...ids].sort(), [...withCurves].sort(), 'every model with curves, once');
    for (const id of ['peer3', 'gen2', 'teacher1', 'student']) assert.ok(ids.includes(id), id);
    await selectValue(panel.page, 'stage', 'peer3');
    await until(panel.page, () => document.querySelector('#compare-chart-caption')?.textContent?.includes('peer 3'));
    const c = await chart(panel.page, 'compare-chart');
    assert.deepEqual(c.data[2].filter((v) => v !== null), epochRecords(FIXTURE_RUN_ONLINE).filter((r) => r.stage === 'peer3').map((r) => r.testAccuracy));
    assert.ok(c.data[1].every((v) => v === null) && c.data[3].every((v) => v === null), 'the other runs have no peer 3');
    // The "other models" cell: each model beyond the headline three with its test errors, from the manifest.
    const cells = await panel.page.$$eval('#runs .models-cell', (tds) => tds.map((td) => td.textContent));
    assert.equal(cells[0], '–', 'an older run has only the headline three');
    for (const [i, d] of [FIXTURE_RUN_ONLINE, FIXTURE_RUN_BORN_AGAIN].entries()) {
      const m = manifest(d);
      const expected = m.models.filter((x) => !['teacher', 'baseline', 'student'].includes(x.id) && m.results.models[x.id]).map((x) => `${x.label} ${m.results.models[x.id].testErrors}`);
      assert.equal(cells[i + 1], expected.join(' · '));
    }
    assert.match(cells[1]!, /peer 3 \d+/);
    assert.deepEqual(panel.errors, []);
    await panel.screenshot('compare-nmodels');
    await panel.close();
  });

  it('Relations: a born-again run’s generations each show their own relation matrices', async () => {
    const dir = FIXTURE_RUN_BORN_AGAIN_RELATIONS;
    const panel = await openPanel(browser, server.origin, 'relations', { host: runHost('relations', dir) });
    await until(panel.page, () => document.querySelectorAll('#model vscode-option').length === 2 && !!document.querySelector('[data-relation] .map-student table td'));
    assert.deepEqual(await options(panel.page, 'model'), [
      ['gen1', 'generation 1'],
      ['gen2', 'generation 2'],
    ]);
    const cells = (sel: string) => panel.page.$$eval(`${sel} table td`, (tds) => tds.map((td) => Number(td.textContent)));
    for (const id of ['gen1', 'gen2']) {
      if (id === 'gen2') await selectValue(panel.page, 'model', 'gen2');
      const r = probe(dir, id, 2).relations![0];
      const sel = `[data-relation="${r.id}/${r.name}"]`;
      await until(panel.page, () => !!document.querySelector('[data-relation] .map-student table td'));
      await panel.waitFor('getProbes', (m) => m.stages.includes(id));
      // Generation 2's student map differs from generation 1's: wait until the records of the one chosen are drawn.
      const want = r.student.values.slice(0, 3).map((v) => Number(v.toPrecision(3)));
      await panel.page.waitForFunction(
        ({ sel, want }) => Array.from(document.querySelectorAll(`${sel} .map-student table td`)).slice(0, 3).every((td, i) => Math.abs(Number(td.textContent) - want[i]) <= 1e-2 * Math.max(1, Math.abs(want[i]))),
        { sel, want },
      );
      const s = await cells(`${sel} .map-student`);
      s.forEach((v, i) => assert.ok(Math.abs(v - r.student.values[i]) <= 1e-3 * Math.max(1, Math.abs(r.student.values[i])), `${id} student[${i}]`));
      const t = await cells(`${sel} .map-teacher`);
      t.forEach((v, i) => assert.ok(Math.abs(v - r.teacher.values[i]) <= 1e-3 * Math.max(1, Math.abs(r.teacher.values[i])), `${id} teacher[${i}]`));
    }
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    await panel.close();
  });

  it('Feature Maps: a born-again run shows the models that recorded maps, each its own CKA', async () => {
    const panel = await openPanel(browser, server.origin, 'featureMaps', { host: runHost('featureMaps', FIXTURE_RUN_BORN_AGAIN) });
    await until(panel.page, () => document.querySelectorAll('#model vscode-option').length >= 2);
    const withMaps = ['gen1', 'gen2'].filter((id) => !!probe(FIXTURE_RUN_BORN_AGAIN, id, 1).cka);
    assert.deepEqual((await options(panel.page, 'model')).map(([id]) => id), withMaps);
    await selectValue(panel.page, 'model', 'gen2');
    const req = await panel.waitFor('getProbes', (m) => m.stages.includes('gen2'));
    assert.deepEqual(req.stages, ['gen2']);
    assert.deepEqual(panel.errors, []);
    assert.deepEqual(panel.malformed, []);
    await panel.close();
  });

  it('Feature Maps: each generation’s own layer pair maps (the index lists the first generation’s pairs)', async () => {
    const dir = FIXTURE_RUN_BORN_AGAIN_RELATIONS;
    const panel = await openPanel(browser, server.origin, 'featureMaps', { host: runHost('featureMaps', dir) });
    await until(panel.page, () => document.querySelectorAll('#model vscode-option').length === 2 && !!document.querySelector('.pair .map-student table td'));
    for (const id of ['gen1', 'gen2']) {
      if (id === 'gen2') await selectValue(panel.page, 'model', 'gen2');
      const pair = probe(dir, id, 2).pairs[0];
      const want = pair.studentMaps[0].values;
      const sel = `.pair[data-pair="${pair.id}"] .map-student table td`;
      await panel.page.waitForFunction(
        ({ sel, want }) => {
          const tds = Array.from(document.querySelectorAll(sel));
          return tds.length === want.length && tds.every((td, i) => Math.abs(Number(td.textContent) - want[i]) <= 1e-2 * Math.max(1, Math.abs(want[i])));
        },
        { sel, want },
      );
      assert.match((await panel.page.textContent(`.pair[data-pair="${pair.id}"] h3`))!, /fc2/);
    }
    // The two generations' maps differ, so the check above tells them apart.
    assert.notDeepEqual(probe(dir, 'gen1', 2).pairs[0].studentMaps[0].values, probe(dir, 'gen2', 2).pairs[0].studentMaps[0].values);
    assert.deepEqual(panel.errors, []);
    await panel.close();
  });
});
