/// <reference types="mocha" />
// Distill Lab's commands are registered in the real extension host, and the run commands refuse
// nothing in a trusted workspace.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, EXTENSION_ID } from './host-helpers';

suite('Distill Lab host: commands', () => {
  test('every contributed command is registered after activation', async () => {
    await api();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed: { command: string; category: string }[] = ext.packageJSON.contributes.commands;
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c.command)).map((c) => c.command);
    assert.deepEqual(missing, []);
    assert.ok(contributed.length >= 14);
    assert.ok(contributed.every((c) => c.category === 'Distill Lab'));
  });

  test('the workspace is trusted here, so runs are allowed', () => {
    assert.equal(vscode.workspace.isTrusted, true);
  });

  test('new experiment from a template writes a valid config and opens it', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('distillLab.newExperiment', undefined, { template: 'quick-mnist', name: 'from-template' });
    try {
      assert.ok(uri, 'no file created');
      assert.ok(uri.fsPath.endsWith('from-template.distill.json'));
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath);
      const problems = await vscode.commands.executeCommand<unknown[]>('distillLab.validate', uri);
      assert.deepEqual(problems, []);
      assert.equal(JSON.parse(vscode.window.activeTextEditor!.document.getText()).name, 'from-template');
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      if (uri) await vscode.workspace.fs.delete(uri);
    }
  });
});
