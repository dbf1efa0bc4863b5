/// <reference types="mocha" />
// The Experiments tree lists the workspace's configs and their runs (newest first, status icon,
// key result), a run's artifacts, and refreshes when configs or runs change on disk.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../../src/core/protocol';
import type { RunNode, TreeNode } from '../../../src/host/treeNodes';
import { api, runsDir, waitFor, workspaceRoot, writeConfig } from './host-helpers';

const result = (errors: number) => ({ testAccuracy: 1 - errors / 1000, testErrors: errors, testCount: 1000, params: 1000, flops: 2000, latencyMs: 0.3 });

function seedRun(id: string, configPath: string, extra: Partial<Manifest>): string {
  const dir = path.join(runsDir(), id);
  fs.mkdirSync(path.join(dir, 'models', 'student'), { recursive: true });
  const manifest: Manifest = { id, name: 'quick', configPath, configHash: 'h', status: 'done', startedAt: '2025-01-01T10:00:00.000Z', versions: {}, seed: 1, results: {}, ...extra };
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
  fs.writeFileSync(path.join(dir, 'trainer.log'), 'log\n');
  fs.writeFileSync(path.join(dir, 'models', 'student', 'model.json'), '{}');
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

suite('Distill Lab host: Experiments tree', function () {
  this.timeout(60_000);
  const seeded: string[] = [];
  let extra: vscode.Uri | undefined;

  suiteTeardown(async () => {
    for (const d of seeded) fs.rmSync(d, { recursive: true, force: true });
    if (extra) fs.rmSync(extra.fsPath, { force: true });
  });

  test('lists the workspace experiments and their runs, newest first, with status and result', async () => {
    const { experiments } = await api();
    await experiments.ready();
    const quick = path.join(workspaceRoot(), 'quick.distill.json');
    seeded.push(seedRun('20250101-100000-quick', quick, { results: { teacher: result(15), baseline: result(26), student: result(19) } }));
    seeded.push(seedRun('20250102-100000-quick', quick, { status: 'cancelled', startedAt: '2025-01-02T10:00:00.000Z' }));
    seeded.push(seedRun('20250103-100000-gone', '/nowhere/gone.distill.json', { startedAt: '2025-01-03T10:00:00.000Z' }));

    // Found through the file watcher on the runs folder, not a manual refresh.
    const seededAt = Date.now();
    const runs = await waitFor('the seeded runs in the tree', async () => {
      const roots = await experiments.getChildren();
      const exp = roots.find((n) => n.kind === 'experiment' && n.configPath === quick);
      if (!exp) return undefined;
      const children = (await experiments.getChildren(exp)).filter((n): n is RunNode => n.kind === 'run');
      return children.length >= 2 && children.some((n) => n.entry.manifest.id === '20250101-100000-quick') && children;
    });
    console.log(`      seeded runs appeared in the tree after ${Date.now() - seededAt} ms`);
    const ids = runs.map((n) => n.entry.manifest.id);
    assert.ok(ids.indexOf('20250102-100000-quick') < ids.indexOf('20250101-100000-quick'), `order: ${ids.join(', ')}`);

    const done = runs.find((n) => n.entry.manifest.id === '20250101-100000-quick')!;
    const item = experiments.getTreeItem(done);
    assert.equal(item.description, 'S 1.9 · B 2.6 · T 1.5 % err');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass');
    assert.equal(item.contextValue, 'distillRun.done');
    const cancelled = experiments.getTreeItem(runs.find((n) => n.entry.manifest.status === 'cancelled')!);
    assert.equal((cancelled.iconPath as vscode.ThemeIcon).id, 'circle-slash');

    const artifacts = (await experiments.getChildren(done)).map((a) => experiments.getTreeItem(a).label);
    assert.deepEqual(artifacts, ['Metrics', 'Log', 'Student model', 'Manifest']);

    // Compare Runs with two runs selected in the tree: the Compare panel on both (no Markdown report).
    const compared = await vscode.commands.executeCommand<{ runDirs?: string[] }>('distillLab.compareRuns', runs[0], runs.slice(0, 2));
    assert.deepEqual(compared.runDirs?.map((d) => path.basename(d)).sort(), runs.slice(0, 2).map((n) => path.basename(n.entry.dir)).sort());
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.isUntitled), 'no untitled document to save');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');

    // A run whose config is not in the workspace goes to "Other runs".
    const roots = await experiments.getChildren();
    const other = roots.find((n) => n.kind === 'otherRuns');
    assert.ok(other, 'no Other runs node');
    const orphans = await experiments.getChildren(other);
    assert.deepEqual(orphans.map((n) => (n as RunNode).entry.manifest.id), ['20250103-100000-gone']);
  });

  test('refreshes when a config or a run is added or removed', async () => {
    const { experiments } = await api();
    const names = async () => (await experiments.getChildren()).map((n: TreeNode) => (n.kind === 'experiment' ? path.basename(n.configPath) : n.kind));
    const changes: unknown[] = [];
    const sub = experiments.onDidChangeTreeData((e) => changes.push(e));
    try {
      extra = writeConfig('added.distill.json', { name: 'added' });
      await waitFor('the new config in the tree', async () => (await names()).includes('added.distill.json'));
      fs.rmSync(extra.fsPath);
      await waitFor('the deleted config gone', async () => !(await names()).includes('added.distill.json'));

      for (const d of seeded.splice(0)) fs.rmSync(d, { recursive: true, force: true });
      await waitFor('the deleted runs gone', async () => !(await names()).includes('otherRuns'));
      assert.ok(changes.length > 0);
    } finally {
      sub.dispose();
    }
  });

  test('a damaged manifest is listed under Other runs with the reason; the other runs still list', async () => {
    const { experiments } = await api();
    const quick = path.join(workspaceRoot(), 'quick.distill.json');
    seeded.push(seedRun('20250104-100000-quick', quick, { startedAt: '2025-01-04T10:00:00.000Z' }));
    const damaged: [string, string, RegExp][] = [
      ['20250105-100000-null', 'null', /holds null/],
      ['20250105-100001-empty', '{}', /has no id, startedAt, status, results/],
      ['20250105-100002-cut', '{"id": "x", "sta', /not valid JSON/],
    ];
    for (const [id, text] of damaged) {
      const dir = path.join(runsDir(), id);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'manifest.json'), text);
      seeded.push(dir);
    }
    const nodes = await waitFor('the damaged run folders under Other runs', async () => {
      const other = (await experiments.getChildren()).find((n) => n.kind === 'otherRuns');
      const children = other ? await experiments.getChildren(other) : [];
      return children.filter((n) => n.kind === 'damaged').length === damaged.length && children;
    });
    for (const [id, , reason] of damaged) {
      const node = nodes.find((n) => n.kind === 'damaged' && path.basename(n.dir) === id);
      assert.ok(node, id);
      const item = experiments.getTreeItem(node);
      assert.equal(item.label, id);
      assert.match(String(item.description), /^damaged: /);
      assert.match(String(item.description), reason);
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'warning');
    }
    const exp = (await experiments.getChildren()).find((n) => n.kind === 'experiment' && n.configPath === quick)!;
    const runs = (await experiments.getChildren(exp)).filter((n): n is RunNode => n.kind === 'run');
    assert.ok(runs.some((n) => n.entry.manifest.id === '20250104-100000-quick'), 'the good run still lists');
    for (const d of seeded.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
});
