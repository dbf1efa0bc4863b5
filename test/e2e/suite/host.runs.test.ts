/// <reference types="mocha" />
// Runs from the commands, through the run manager and the real trainer process: an invalid config
// starts nothing; a tiny config finishes with a run folder and shows up in the tree; Stop cancels
// a run within 2 s; a trainer failure is reported and the extension keeps working.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readManifest } from '../../../src/core/runStore';
import type { JobOutcome } from '../../../src/host/runJob';
import type { RunNode } from '../../../src/host/treeNodes';
import { api, closeAllEditors, runsDir, tinyConfig, waitFor, writeConfig } from './host-helpers';

const runCount = () => (fs.existsSync(runsDir()) ? fs.readdirSync(runsDir()).length : 0);

suite('Distill Lab host: runs', function () {
  this.timeout(240_000);
  const created: vscode.Uri[] = [];
  const runDirs: string[] = [];

  suiteTeardown(async () => {
    await closeAllEditors();
    for (const u of created) fs.rmSync(u.fsPath, { force: true });
    for (const d of runDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('an invalid config shows its problems and starts nothing', async () => {
    await api();
    const bad = writeConfig('invalid.distill.json', { ...tinyConfig('invalid'), training: { epochs: 0, optimizer: { type: 'sgd', lr: 0.05 } } });
    created.push(bad);
    const before = runCount();
    const outcome = await vscode.commands.executeCommand<JobOutcome | undefined>('distillLab.run', bad);
    assert.equal(outcome, undefined);
    assert.equal(runCount(), before);
    // It was opened so that its problems are in the Problems panel.
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, bad.fsPath);
    assert.ok(vscode.languages.getDiagnostics(bad).some((d) => d.source === 'distill' && d.code === 'out-of-range'));
  });

  test('running a tiny config creates a finished run folder and updates the tree', async () => {
    const { experiments, runs } = await api();
    const uri = writeConfig('tiny.distill.json', tinyConfig('tiny'));
    created.push(uri);
    const states: string[] = [];
    const sub = runs.onDidChangeJob(({ job, change }) => change === 'state' && states.push(job.state));
    const t0 = Date.now();
    const outcome = await vscode.commands.executeCommand<JobOutcome>('distillLab.run', uri);
    sub.dispose();
    console.log(`      tiny run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (outcome?.runDir) runDirs.push(outcome.runDir);
    assert.equal(outcome?.status, 'done', outcome?.error);
    assert.ok(outcome.runDir && fs.existsSync(outcome.runDir));
    const m = readManifest(outcome.runDir);
    assert.equal(m?.status, 'done');
    assert.equal(m?.configPath, uri.fsPath);
    assert.ok(m?.results.student && m.results.teacher && m.results.baseline);
    for (const f of ['metrics.jsonl', 'trainer.log', 'config.json', 'models/student/model.json']) assert.ok(fs.existsSync(path.join(outcome.runDir, f)), f);
    assert.deepEqual(states, ['running', 'ended']);

    const node = await waitFor('the finished run in the tree', async () => {
      const exp = (await experiments.getChildren()).find((n) => n.kind === 'experiment' && n.configPath === uri.fsPath);
      const child = exp && (await experiments.getChildren(exp)).find((n): n is RunNode => n.kind === 'run' && n.entry.dir === outcome.runDir);
      return child && child.entry.manifest.status === 'done' && child;
    });
    assert.match(String(experiments.getTreeItem(node).description), /^S \d+\.\d · B \d+\.\d · T \d+\.\d % err$/);

    // The CodeLens shows the last run's result.
    await vscode.window.showTextDocument(uri);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10);
    assert.ok(lenses.some((l) => /^Last run \d\d:\d\d: S \d/.test(l.command?.title ?? '')), lenses.map((l) => l.command?.title).join(' | '));
  });

  test('Stop cancels a running run within 2 s and marks it cancelled', async () => {
    const { runs, experiments } = await api();
    const uri = writeConfig('long.distill.json', tinyConfig('long', 40));
    created.push(uri);
    const running = vscode.commands.executeCommand<JobOutcome>('distillLab.run', uri);
    const job = await waitFor(
      'the run to be training',
      () => runs.jobs.find((j) => j.configPath === uri.fsPath && j.runDir && j.progress.step !== undefined && j.progress.step > 0),
      120_000,
    );
    runDirs.push(job.runDir!);
    // While it runs the tree shows it with a spinner.
    const node = await waitFor('the running run in the tree', () => experiments.findRunNode(job.runDir!));
    assert.equal((experiments.getTreeItem(node).iconPath as vscode.ThemeIcon).id, 'loading~spin');
    assert.equal(experiments.getTreeItem(node).contextValue, 'distillRun.running');

    const t0 = Date.now();
    const stopped = await vscode.commands.executeCommand<number>('distillLab.stop', uri);
    assert.equal(stopped, 1);
    const outcome = await running;
    const ms = Date.now() - t0;
    console.log(`      stopped in ${ms} ms`);
    assert.equal(outcome.status, 'cancelled');
    assert.ok(ms < 2500, `stopping took ${ms} ms`);
    assert.equal(readManifest(job.runDir!)?.status, 'cancelled');
    assert.equal(runs.jobs.length, 0);
  });

  test('runs wait in a queue (concurrency 1); a queued run can be stopped before it starts', async () => {
    const { runs, experiments } = await api();
    const first = writeConfig('queue-a.distill.json', tinyConfig('queue-a', 40));
    const second = writeConfig('queue-b.distill.json', tinyConfig('queue-b'));
    created.push(first, second);
    const runningFirst = vscode.commands.executeCommand<JobOutcome>('distillLab.run', first);
    const jobA = await waitFor('the first run to start', () => runs.jobs.find((j) => j.configPath === first.fsPath && j.state === 'running'), 60_000);
    const runningSecond = vscode.commands.executeCommand<JobOutcome>('distillLab.run', second);
    const jobB = await waitFor('the second run to be queued', () => runs.jobs.find((j) => j.configPath === second.fsPath));
    assert.equal(jobB.state, 'queued');
    assert.equal(runs.queuePosition(jobB), 0);

    // The tree shows it as queued under its experiment, with a stop button (contextValue).
    const queued = await waitFor('the queued run in the tree', async () => {
      const exp = (await experiments.getChildren()).find((n) => n.kind === 'experiment' && n.configPath === second.fsPath);
      return exp && (await experiments.getChildren(exp)).find((n) => n.kind === 'queued');
    });
    const item = experiments.getTreeItem(queued);
    assert.equal(item.label, 'Queued');
    assert.equal(item.contextValue, 'distillRun.queued');

    assert.equal(await vscode.commands.executeCommand<number>('distillLab.stop', queued), 1);
    const b = await runningSecond;
    assert.equal(b.status, 'cancelled');
    assert.equal(b.runDir, undefined, 'a queued run never started a trainer');
    assert.equal(jobA.state, 'running', 'stopping the queued run left the running one alone');

    await vscode.commands.executeCommand('distillLab.stop', first);
    const a = await runningFirst;
    if (a.runDir) runDirs.push(a.runDir);
    assert.equal(a.status, 'cancelled');
  });

  test('a trainer failure is reported as failed and the extension keeps working', async () => {
    const { runs } = await api();
    const config = vscode.workspace.getConfiguration('distillLab');
    // tfjs-node is not installed here: the trainer fails when it picks its backend.
    await config.update('backend', 'tensorflow', vscode.ConfigurationTarget.Workspace);
    try {
      const uri = writeConfig('native.distill.json', tinyConfig('native'));
      created.push(uri);
      const outcome = await vscode.commands.executeCommand<JobOutcome>('distillLab.run', uri);
      assert.equal(outcome?.status, 'failed');
      assert.match(outcome.error ?? '', /tfjs-node/);
    } finally {
      await config.update('backend', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.equal(runs.jobs.length, 0);
    const problems = await vscode.commands.executeCommand<unknown[]>('distillLab.validate', created[1]);
    assert.deepEqual(problems, []);
  });
});
