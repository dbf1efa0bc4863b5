// Shared by the host.*.test.ts suites (Distill Lab's extension-host tests): the extension's API,
// the workspace, and polling.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DistillLabApi } from '../../../src/host/api';

export const EXTENSION_ID = 'distill-lab.distill-lab';

export async function api(): Promise<DistillLabApi> {
  const ext = vscode.extensions.getExtension<DistillLabApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  const exports = await ext.activate();
  assert.ok(exports?.runs, 'activate() returned no API');
  return exports;
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder open');
  return folder.uri.fsPath;
}

export const runsDir = () => path.join(workspaceRoot(), '.distill', 'runs');

/** Polls `cond` every 100 ms; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes a config into the workspace and returns its Uri. */
export function writeConfig(name: string, config: object | string): vscode.Uri {
  const file = path.join(workspaceRoot(), name);
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2) + '\n');
  return vscode.Uri.file(file);
}

/** A small valid config on the built-in MNIST digits. */
export function tinyConfig(name: string, epochs = 1, extra: object = {}): object {
  const training = { epochs, batchSize: 64, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } };
  return {
    name,
    seed: 5,
    data: { dataset: 'mnist', trainSize: 2000, testSize: 500 },
    teacher: { model: { type: 'mlp', hidden: [64] }, training },
    student: { model: { type: 'mlp', hidden: [32] } },
    distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] },
    training,
    probes: { samples: 4, ckaSamples: 64 },
    ...extra,
  };
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
