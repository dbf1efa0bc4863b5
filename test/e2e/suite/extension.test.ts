/// <reference types="mocha" />
// Runs inside the VS Code extension host (code-server here, desktop VS Code elsewhere).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'distill-lab.distill-lab';

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

suite('Distill Lab extension', () => {
  test('activates by itself in a workspace with a *.distill.json', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    // Runs first, before anything calls activate(): proves the workspaceContains:**/*.distill.json
    // activation event fires for the fixture workspace.
    assert.ok(await waitFor(() => ext.isActive, 10_000), 'extension did not activate');
  });

  test('is installed from the development path and activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} not found among ${vscode.extensions.all.length} extensions`);
    assert.equal(ext.packageJSON.name, 'distill-lab');
    assert.ok(fs.existsSync(path.join(ext.extensionPath, 'dist', 'extension.js')), 'dist/extension.js missing: run `node esbuild.mjs`');
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  test('the workspace folder is the copied fixture workspace', async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1, `workspace folders: ${folders.map((f) => f.uri.toString()).join(', ')}`);
    const root = folders[0].uri;
    const expected = process.env.DISTILL_E2E_WORKSPACE;
    if (expected) assert.equal(root.fsPath, expected);
    const found = await vscode.workspace.findFiles('**/*.distill.json');
    assert.deepEqual(found.map((u) => path.basename(u.fsPath)), ['quick.distill.json']);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(root, 'quick.distill.json'));
    assert.equal(JSON.parse(doc.getText()).name, 'quick');
  });
});
