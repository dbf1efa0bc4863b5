// Commands on runs: open the raw metrics file, delete, reveal, export the student model, show the
// log, copy the id. The result panels (Open Results, Logits, Feature Maps, Compare Runs) are
// registered in panels/index.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG, LOG, MANIFEST, METRICS, MODELS, type RunEntry } from '../../core/runStore';
import { registerCommand as register } from '../notify';
import { isInside } from '../runsLocation';
import type { RunIndex } from '../runIndex';
import type { Services } from './services';
import { resolveRun, runPickItem } from './targets';

const studentModel = (run: RunEntry) => path.join(run.dir, MODELS, 'student', 'model.json');

export function registerRunCommands(s: Services): vscode.Disposable[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- VS Code passes command arguments untyped; each handler checks its own
  const registerCommand = (id: string, handler: (...args: any[]) => unknown) => register(id, handler, s.log);
  const run = (arg: unknown, placeHolder: string, filter?: (r: RunEntry) => boolean, none?: string) =>
    resolveRun(arg, s.runIndex, { placeHolder, filter, none });
  return [
    registerCommand('distillLab.openMetricsFile', async (arg?: unknown) => {
      // The raw step and epoch records (can be tens of MB); the result panels read them for you.
      const r = await run(arg, 'Open the metrics file of which run?');
      if (r) await openFile(fs.existsSync(path.join(r.dir, METRICS)) ? path.join(r.dir, METRICS) : path.join(r.dir, MANIFEST));
      return r?.dir;
    }),
    registerCommand('distillLab.deleteRun', async (arg?: unknown) => deleteRun(s, await run(arg, 'Delete which run?'))),
    registerCommand('distillLab.revealRun', async (arg?: unknown) => reveal(await run(arg, 'Reveal which run folder?'))),
    registerCommand('distillLab.exportStudent', async (arg?: unknown) =>
      exportStudent(await run(arg, 'Export the student model of which run?', (r) => fs.existsSync(studentModel(r)), 'No run has a saved student model yet.')),
    ),
    registerCommand('distillLab.showLog', async (arg?: unknown) => {
      // From a run: its trainer.log. From the palette or the status bar: the output channel.
      if (arg === undefined) return s.log.show(true);
      const r = await run(arg, 'Show the log of which run?');
      if (r) await openFile(path.join(r.dir, LOG));
    }),
    registerCommand('distillLab.copyRunId', async (arg?: unknown) => {
      const r = await run(arg, 'Copy the id of which run?');
      if (r) await vscode.env.clipboard.writeText(r.manifest.id);
    }),
    registerCommand('distillLab.openRunConfig', async (arg?: unknown) => {
      const r = await run(arg, 'Open the config of which run?');
      if (r) await openFile(path.join(r.dir, CONFIG));
    }),
  ];
}

async function openFile(file: string): Promise<void> {
  if (!fs.existsSync(file)) {
    void vscode.window.showWarningMessage(`${file} does not exist (yet).`);
    return;
  }
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
}

/** Two or more runs for Compare Runs when the command was given fewer: a multi-select pick. */
export async function pickRunsToCompare(runIndex: RunIndex, preselected?: string): Promise<string[] | undefined> {
  const all = runIndex.allRuns();
  if (all.length < 2) {
    void vscode.window.showInformationMessage('Comparing needs at least two runs.');
    return undefined;
  }
  const items = all.map((r) => ({ ...runPickItem(r), picked: preselected !== undefined && r.dir === preselected }));
  const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: 'Pick two or more runs to compare', matchOnDescription: true, matchOnDetail: true });
  if (!picked) return undefined;
  if (picked.length < 2) {
    void vscode.window.showWarningMessage('Pick at least two runs to compare.');
    return undefined;
  }
  return picked.map((p) => p.run.dir);
}

async function deleteRun(s: Services, r: RunEntry | undefined): Promise<boolean> {
  if (!r) return false;
  if (s.manager.jobForRun(r.dir)?.state === 'running' || r.manifest.status === 'running') {
    void vscode.window.showWarningMessage(`${r.manifest.id} is still running: stop it before deleting it.`);
    return false;
  }
  const remove = 'Delete';
  const answer = await vscode.window.showWarningMessage(
    `Delete the run ${r.manifest.id}?`,
    { modal: true, detail: `Its folder — metrics, probes, saved models and log — is deleted permanently:\n${r.dir}` },
    remove,
  );
  if (answer !== remove) return false;
  await fs.promises.rm(r.dir, { recursive: true, force: true });
  await s.runIndex.refresh();
  return true;
}

async function reveal(r: RunEntry | undefined): Promise<void> {
  if (!r) return;
  const uri = vscode.Uri.file(r.dir);
  if (vscode.workspace.workspaceFolders?.some((f) => isInside(f.uri.fsPath, r.dir))) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
  } else if (!vscode.env.remoteName) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } else {
    // Outside the workspace on a remote host there is no file manager to show it in.
    await vscode.env.clipboard.writeText(r.dir);
    void vscode.window.showInformationMessage(`The run folder is outside the workspace; its path was copied: ${r.dir}`);
  }
}

async function exportStudent(r: RunEntry | undefined): Promise<vscode.Uri | undefined> {
  if (!r) return undefined;
  const source = path.dirname(studentModel(r));
  const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(r.manifest.configPath));
  let dest = await vscode.window.showSaveDialog({
    title: `Export the student model of ${r.manifest.id} (a folder with model.json and weights)`,
    saveLabel: 'Export',
    defaultUri: vscode.Uri.joinPath(base, `${r.manifest.name}-student`),
  });
  if (!dest) return undefined;
  // Someone picking the model.json inside an existing export means that folder.
  if (path.basename(dest.fsPath) === 'model.json') dest = vscode.Uri.file(path.dirname(dest.fsPath));
  try {
    await fs.promises.mkdir(dest.fsPath, { recursive: true });
    await fs.promises.cp(source, dest.fsPath, { recursive: true });
  } catch (e) {
    void vscode.window.showErrorMessage(`Distill Lab: could not export the student model to ${dest.fsPath}: ${(e as Error).message}`);
    return undefined;
  }
  void vscode.window.showInformationMessage(`Exported the student model of ${r.manifest.id} to ${dest.fsPath}.`);
  return dest;
}
