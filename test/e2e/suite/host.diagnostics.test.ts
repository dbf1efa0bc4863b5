/// <reference types="mocha" />
// The validator's problems appear in the Problems panel on the right lines, follow edits, skip
// JSON syntax errors (VS Code's JSON service reports those) and go away when the file closes;
// CodeLens shows Run/Validate and the hint pair's shapes and connector.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAllEditors, waitFor, writeConfig } from './host-helpers';

const BROKEN = `{
  "name": "broken",
  "data": { "dataset": "mnist", "trainSize": 2000, "testSize": 500 },
  "teacher": { "model": { "type": "mlp", "hidden": [64] }, "training": { "epochs": 1, "optimizer": { "type": "sgd", "lr": 0.05 } } },
  "student": { "model": { "type": "mlp", "hidden": [32] } },
  "distillation": {
    "temperature": 4,
    "losses": [
      { "type": "kd", "weight": 1 },
      { "type": "hint", "weight": 1, "student": "fc7", "teacher": "fc1" }
    ]
  },
  "training": { "epochs": 1, "optimizer": { "type": "sgd", "lr": -1 } }
}
`;

const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'distill');

suite('Distill Lab host: diagnostics and CodeLens', function () {
  this.timeout(60_000);
  let uri: vscode.Uri;

  suiteSetup(async () => {
    await api();
    uri = writeConfig('broken.distill.json', BROKEN);
  });

  suiteTeardown(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.delete(uri).then(undefined, () => undefined);
  });

  test('a broken config produces diagnostics on the right lines', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diags = await waitFor('distill diagnostics', () => ours(uri).length >= 2 && ours(uri));
    const byCode = new Map(diags.map((d) => [String(d.code), d]));
    const layer = byCode.get('unknown-layer');
    assert.ok(layer, `codes: ${[...byCode.keys()].join(', ')}`);
    assert.equal(layer.range.start.line, 9);
    assert.equal(doc.getText(layer.range), '"fc7"');
    assert.equal(layer.severity, vscode.DiagnosticSeverity.Error);
    assert.match(layer.message, /no layer "fc7"; did you mean "fc1"\?/);
    const lr = byCode.get('out-of-range');
    assert.ok(lr);
    assert.equal(lr.range.start.line, 12);
    assert.equal(doc.getText(lr.range), '-1');
  });

  test('diagnostics follow edits (debounced) and skip JSON syntax errors', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    const fix = (find: string, replace: string) =>
      editor.edit((e) => {
        const at = doc.getText().indexOf(find);
        e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + find.length)), replace);
      });
    await fix('"fc7"', '"fc1"');
    await fix('"lr": -1', '"lr": 0.05');
    await waitFor('diagnostics to clear after the fix', () => ours(uri).length === 0, 5000);
    // A syntax error: VS Code's JSON service reports it; Distill Lab adds nothing of its own.
    await fix('"temperature": 4,', '"temperature": 4,,');
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(ours(uri).map((d) => d.code), []);
    await fix('"temperature": 4,,', '"temperature": 4,');
  });

  test('CodeLens: Run, Validate, and the hint pair with shapes and connector', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const lenses = await waitFor('code lenses', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100);
      return l?.some((x) => x.command?.title.includes('→')) && l;
    });
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.includes('$(play) Run'), titles.join(' | '));
    assert.ok(titles.includes('$(check) Validate'), titles.join(' | '));
    const hint = lenses.find((l) => l.command?.title.includes('→'))!;
    assert.equal(hint.command!.title, 'hint: student fc1 [32] → linear → teacher fc1 [64]');
    assert.equal(hint.range.start.line, 9);
    assert.equal(hint.command!.command, 'distillLab.openModelLayers', 'the hint lens opens the layers view');
    assert.ok(titles.includes('$(type-hierarchy) Layers'), titles.join(' | '));
    const run = lenses.find((l) => l.command?.title === '$(play) Run')!;
    assert.equal(run.command!.command, 'distillLab.run');
    assert.equal((run.command!.arguments![0] as vscode.Uri).fsPath, uri.fsPath);
  });

  test('diagnostics are cleared when the document closes', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), BROKEN));
    await waitFor('diagnostics again', () => ours(uri).length > 0, 5000);
    await doc.save();
    await closeAllEditors();
    await waitFor('diagnostics cleared on close', () => ours(uri).length === 0, 20_000);
  });
});
