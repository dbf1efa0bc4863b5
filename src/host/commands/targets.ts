// What a command acts on. Commands are invoked from the palette (no argument), from tree menus
// (a tree node), from CodeLens and editor menus (a Uri) and from tests (a path): these helpers
// turn any of them into a config or a run, asking with a quick pick when nothing was given.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readManifest, type RunEntry } from '../../core/runStore';
import { formatTimestamp, runDescription } from '../runFormat';
import type { RunIndex } from '../runIndex';
import { CONFIG_GLOB, isConfigPath, samePath } from '../runsLocation';
import { isArtifactNode, isExperimentNode, isModelNode, isQueuedNode, isRunNode, type RunNode } from '../treeNodes';

function pathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? arg.fsPath : undefined;
  if (typeof arg === 'string') return arg.startsWith('file://') ? vscode.Uri.parse(arg).fsPath : arg;
  if (arg && typeof arg === 'object' && typeof (arg as { runDir?: unknown }).runDir === 'string') return (arg as { runDir: string }).runDir;
  return undefined;
}

/** The config a command should act on: from the argument, the active editor, or a quick pick. */
export async function resolveConfig(arg: unknown, placeHolder: string): Promise<vscode.Uri | undefined> {
  if (isExperimentNode(arg)) return vscode.Uri.file(arg.configPath);
  if (isRunNode(arg)) return vscode.Uri.file(arg.entry.manifest.configPath);
  const p = pathOf(arg);
  if (p && isConfigPath(p)) return vscode.Uri.file(path.resolve(p));
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && isConfigPath(active.fsPath)) return active;

  const uris = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**');
  if (uris.length === 1) return uris[0];
  if (!uris.length) {
    const create = 'New Experiment';
    const a = await vscode.window.showInformationMessage('There is no *.distill.json experiment in this workspace.', create);
    if (a === create) await vscode.commands.executeCommand('distillLab.newExperiment');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    uris
      .map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)), uri }))
      .sort((a, b) => a.label.localeCompare(b.label)),
    { placeHolder, matchOnDescription: true },
  );
  return picked?.uri;
}

interface RunPickOptions {
  placeHolder: string;
  /** Only runs for which this holds are offered. */
  filter?: (run: RunEntry) => boolean;
  /** Shown when no run qualifies. */
  none?: string;
}

function entryAt(dir: string, runIndex: RunIndex): RunEntry | undefined {
  const m = readManifest(dir);
  return m ? { dir, manifest: m } : runIndex.find(dir);
}

/** The run a command should act on: from the argument, else a quick pick (runs of the active config first). */
export async function resolveRun(arg: unknown, runIndex: RunIndex, opts: RunPickOptions): Promise<RunEntry | undefined> {
  const filter = opts.filter ?? (() => true);
  let node: RunNode | undefined;
  if (isRunNode(arg)) node = arg;
  else if (isModelNode(arg)) node = arg.parent;
  else if (isArtifactNode(arg)) {
    let a = arg;
    while (isArtifactNode(a.parent)) a = a.parent;
    node = a.parent as RunNode;
  }
  if (node) return entryAt(node.entry.dir, runIndex);
  if (isQueuedNode(arg)) return arg.job.runDir ? entryAt(arg.job.runDir, runIndex) : undefined;

  let configPath: string | undefined = isExperimentNode(arg) ? arg.configPath : undefined;
  const p = pathOf(arg);
  if (p && isConfigPath(p)) configPath = p;
  else if (p && fs.existsSync(p)) return entryAt(p, runIndex);
  if (configPath) {
    const latest = runIndex.runsForConfig(vscode.Uri.file(configPath)).find(filter);
    if (!latest) void vscode.window.showInformationMessage(opts.none ?? `${path.basename(configPath)} has no run yet.`);
    return latest;
  }

  const active = vscode.window.activeTextEditor?.document.uri.fsPath;
  const runs = runIndex.allRuns().filter(filter);
  if (!runs.length) {
    void vscode.window.showInformationMessage(opts.none ?? 'There are no runs yet.');
    return undefined;
  }
  const mine = (r: RunEntry) => active !== undefined && samePath(r.manifest.configPath, active);
  const ordered = [...runs.filter(mine), ...runs.filter((r) => !mine(r))];
  const picked = await vscode.window.showQuickPick(ordered.map(runPickItem), { placeHolder: opts.placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.run;
}

export function runPickItem(run: RunEntry): vscode.QuickPickItem & { run: RunEntry } {
  const m = run.manifest;
  const icon = { running: '$(loading~spin)', done: '$(pass)', failed: '$(error)', cancelled: '$(circle-slash)' }[m.status];
  return { label: `${icon} ${m.name} · ${formatTimestamp(m.startedAt)}`, description: runDescription(m), detail: m.id, run };
}
