// How a run looks in the Experiments tree: its start time, a status icon (spinner while it
// runs), its key result or live progress, and a hover with everything else.
import * as vscode from 'vscode';
import type { ModelRole, RunStatus } from '../core/protocol';
import { summarizeSeedGroup } from '../core/seedGroups';
import { groupDescription, groupTooltip, modelDescription, modelTooltip, progressText, runDescription, runTooltip, shortTime } from './runFormat';
import type { RunJob } from './runJob';
import type { ModelNode, RunNode, SeedGroupNode } from './treeNodes';

const STATUS_ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('loading~spin'),
  done: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground')),
};

/** `job`: the live job of this run, if this window started it (gives live progress). */
export function runTreeItem(node: RunNode, job: RunJob | undefined): vscode.TreeItem {
  const m = node.entry.manifest;
  // Short: the start time and "S 1.9 · B 2.6 · T 1.5 % err" fit a side bar; the hover has the rest.
  // Under its group, a run is told apart by its seed (the group's row has the start time).
  const label = node.parent.kind === 'seedGroup' ? `seed ${m.seed}` : shortTime(m.startedAt);
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `run:${node.entry.dir}`;
  const live = job && job.state === 'running' ? job : undefined;
  item.description = live?.cancelling ? 'stopping…' : runDescription(m, live?.progress);
  item.iconPath = STATUS_ICONS[m.status];
  const progress = live ? progressText(live.progress) : '';
  const tooltip = new vscode.MarkdownString(runTooltip(m) + (progress ? `\n\nNow: ${progress}` : ''));
  tooltip.supportThemeIcons = false;
  item.tooltip = tooltip;
  item.contextValue = `distillRun.${m.status}`;
  item.accessibilityInformation = { label: `Run ${m.id}, ${m.status}, ${item.description}` };
  return item;
}

/**
 * A seed group: its start time and seed count, a status icon, and the student's test errors and
 * the gap closed as mean ± std over its finished runs (live progress while it runs); the hover
 * has every model and each seed's numbers. Its runs are its children.
 */
export function seedGroupTreeItem(node: SeedGroupNode, job: RunJob | undefined): vscode.TreeItem {
  const g = summarizeSeedGroup(node.entries.map((e) => e.manifest));
  const live = job && job.state === 'running' ? job : undefined;
  // Between two seeds no run is running, but the group is.
  const status: RunStatus = live ? 'running' : g.status;
  const item = new vscode.TreeItem(`${shortTime(g.startedAt)} · ${g.seeds.length} seeds`, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `seedGroup:${node.id}`;
  item.description = live?.cancelling ? 'stopping…' : groupDescription(g, live?.progress);
  item.iconPath = STATUS_ICONS[status];
  const tooltip = new vscode.MarkdownString(groupTooltip(g));
  tooltip.supportThemeIcons = false;
  item.tooltip = tooltip;
  item.contextValue = `distillGroup.${status}`;
  item.accessibilityInformation = { label: `Seed group of ${g.seeds.length} runs, ${status}, ${item.description}` };
  return item;
}

/** Each role's icon: what a model is reads at a glance down a run's list. */
const ROLE_ICONS: Record<ModelRole, string> = {
  teacher: 'mortar-board',
  member: 'person',
  baseline: 'circle-large-outline',
  student: 'star-full',
  peer: 'organization',
  generation: 'git-commit',
  ensemble: 'layers',
  exit: 'sign-out',
};

/** One model of a run: its label, its errors (and against what), its role's icon; opens its saved model.json. */
export function modelTreeItem(node: ModelNode): vscode.TreeItem {
  const { model } = node.row;
  const item = new vscode.TreeItem(model.label, vscode.TreeItemCollapsibleState.None);
  item.id = `model:${node.parent.entry.dir}#${model.id}`;
  item.description = modelDescription(node.row, node.state);
  item.iconPath = node.state === 'training' ? new vscode.ThemeIcon('loading~spin') : new vscode.ThemeIcon(ROLE_ICONS[model.role] ?? 'circle-outline');
  const tooltip = new vscode.MarkdownString(modelTooltip(node.row, node.state));
  tooltip.supportThemeIcons = false;
  item.tooltip = tooltip;
  // A saved network keeps the artifact's context value: the student's menu (Export) still finds it.
  item.contextValue = node.path ? `distillArtifact.model.${model.id}` : 'distillModel';
  if (node.path) {
    item.resourceUri = vscode.Uri.file(node.path);
    item.command = { title: 'Open', command: 'vscode.open', arguments: [item.resourceUri] };
  }
  item.accessibilityInformation = { label: `${model.label}, ${item.description}` };
  return item;
}
