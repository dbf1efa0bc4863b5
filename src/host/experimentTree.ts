// The Experiments tree: every *.distill.json in the workspace → its runs (newest first, with a
// status icon and the key result) → the run's artifacts. Nodes keep their identity across
// refreshes and change events name only what changed, so the tree updates without flicker and
// keeps its expansion state.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunEntry } from '../core/runStore';
import { MANIFEST, summarizeResults } from '../core/runStore';
import { groupEntries } from '../core/seedGroups';
import { Disposable } from './dispose';
import { progressText } from './runFormat';
import type { RunIndex } from './runIndex';
import type { RunJob } from './runJob';
import type { RunManager } from './runManager';
import { CONFIG_GLOB, samePath } from './runsLocation';
import { throttle } from './throttle';
import {
  type ArtifactNode,
  type DamagedRunNode,
  type ExperimentNode,
  isModelInfo,
  listProbeFiles,
  type ModelInfo,
  type ModelNode,
  type OtherRunsNode,
  type QueuedNode,
  runChildren,
  type RunNode,
  type SeedGroupNode,
  type TreeNode,
} from './treeNodes';
import { modelTreeItem, runTreeItem, seedGroupTreeItem } from './treeItems';

export class ExperimentTreeProvider extends Disposable implements vscode.TreeDataProvider<TreeNode> {
  private configPaths: string[] = [];
  private loading: Promise<void>;
  private readonly experiments = new Map<string, ExperimentNode>();
  private readonly otherRuns: OtherRunsNode = { kind: 'otherRuns' };
  private readonly runNodes = new Map<string, RunNode>();
  private readonly groupNodes = new Map<string, SeedGroupNode>();
  private readonly pendingNodes = new Map<RunJob, QueuedNode>();
  private readonly artifactNodes = new Map<string, ArtifactNode>();
  private readonly modelNodes = new Map<string, ModelNode>();
  private readonly damagedNodes = new Map<string, DamagedRunNode>();
  /** What each node's children looked like when last shown: a change event only when they differ. */
  private readonly signatures = new Map<TreeNode | 'root', string>();
  private readonly liveRuns = new Set<RunNode | SeedGroupNode>();
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly reloadSoon = this._register(throttle(() => this.reloadConfigs().catch((e) => console.error('Distill Lab: finding configs failed', e)), 300));

  constructor(
    private readonly runIndex: RunIndex,
    private readonly manager: RunManager,
  ) {
    super();
    const watcher = this._register(vscode.workspace.createFileSystemWatcher(CONFIG_GLOB, false, true, false));
    this._register(watcher.onDidCreate(() => this.reloadSoon()));
    this._register(watcher.onDidDelete(() => this.reloadSoon()));
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.reloadSoon()));
    this._register(runIndex.onDidChange(() => this.update()));
    this._register(
      manager.onDidChangeJob(({ job, change }) => {
        if (change === 'progress' || change === 'stage') {
          const node = job.runDir && this.runNodes.get(path.resolve(job.runDir));
          if (node) this.liveRuns.add(node);
          // A seed group's row shows its job's progress too.
          const group = job.group && this.groupNodes.get(job.group.id);
          if (group) this.liveRuns.add(group);
        } else {
          this.update();
        }
      }),
    );
    // Live rows repaint on the manager's shared tick, with the status bar and the notification.
    this._register(
      manager.onDidTick(() => {
        const nodes = [...this.liveRuns];
        this.liveRuns.clear();
        if (nodes.length) this._onDidChangeTreeData.fire(nodes);
      }),
    );
    this.loading = this.reloadConfigs();
  }

  /** Resolves once the workspace's configs have been found. */
  ready(): Promise<void> {
    return this.loading;
  }

  async reloadConfigs(): Promise<void> {
    const uris = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**');
    this.configPaths = uris.map((u) => u.fsPath).sort((a, b) => this.relative(a).localeCompare(this.relative(b)));
    this.update();
  }

  // ---- TreeDataProvider ----------------------------------------------------------------------

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) {
      await this.loading;
      return this.rootChildren();
    }
    switch (node.kind) {
      case 'experiment':
      case 'otherRuns':
        return this.runChildren(node);
      case 'seedGroup':
        return node.entries.map((e) => this.runNode(e, node));
      case 'run':
        return runChildren(node.entry).map((c) => (isModelInfo(c) ? this.modelNode(c, node) : this.artifactNode(c, node)));
      case 'artifact':
        return node.type === 'probes' ? listProbeFiles(node.path).map((a) => this.artifactNode(a, node)) : [];
      case 'queued':
      case 'model':
      case 'damaged':
        return [];
    }
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === 'experiment' || node.kind === 'otherRuns' ? undefined : node.parent;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'experiment':
        return this.experimentItem(node);
      case 'otherRuns': {
        const item = new vscode.TreeItem('Other runs', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = 'otherRuns';
        item.iconPath = new vscode.ThemeIcon('history');
        item.tooltip = 'Runs whose config file is not in this workspace (moved, renamed or deleted), and run folders whose manifest is damaged';
        return item;
      }
      case 'run':
        return runTreeItem(node, this.manager.jobForRun(node.entry.dir));
      case 'seedGroup':
        return seedGroupTreeItem(node, this.manager.jobs.find((j) => j.group?.id === node.id));
      case 'queued':
        return this.pendingItem(node);
      case 'model':
        return modelTreeItem(node);
      case 'artifact':
        return this.artifactItem(node);
      case 'damaged':
        return damagedItem(node);
    }
  }

  // ---- lookups for commands and tests --------------------------------------------------------

  experimentNodes(): ExperimentNode[] {
    return this.configPaths.map((p) => this.experimentNode(p));
  }

  findRunNode(runDir: string): RunNode | undefined {
    return this.runNodes.get(path.resolve(runDir));
  }

  // ---- children --------------------------------------------------------------------------------

  private rootChildren(): TreeNode[] {
    const nodes: TreeNode[] = this.experimentNodes();
    if (this.otherRunEntries().length || this.runIndex.damagedRuns().length) nodes.push(this.otherRuns);
    return nodes;
  }

  private otherRunEntries(): RunEntry[] {
    return this.runIndex.allRuns().filter((r) => !this.configPaths.some((p) => samePath(p, r.manifest.configPath)));
  }

  private runChildren(parent: ExperimentNode | OtherRunsNode): TreeNode[] {
    if (parent.kind === 'otherRuns') {
      // A damaged manifest names no config for certain: its folder is listed here, with the reason.
      const damaged = this.runIndex.damagedRuns().map((d) => this.damagedNode(d.dir, d.reason));
      return [...this.runsAndGroups(this.otherRunEntries(), parent), ...damaged];
    }
    const entries = this.runIndex.runsForConfig(vscode.Uri.file(parent.configPath));
    // Jobs not yet visible as a run folder: queued, or the trainer is starting up.
    const pending = this.manager
      .jobsForConfig(parent.configPath)
      .filter((j) => j.state === 'queued' || (j.state === 'running' && !(j.runDir && entries.some((e) => samePath(e.dir, j.runDir!)))))
      .map((job) => this.pendingNode(job, parent));
    return [...pending, ...this.runsAndGroups(entries, parent)];
  }

  /** Runs as listed, a seed group's runs gathered under one node where its newest run is. */
  private runsAndGroups(entries: RunEntry[], parent: ExperimentNode | OtherRunsNode): (RunNode | SeedGroupNode)[] {
    return groupEntries(entries, (e) => e.manifest).map((g) => (g.kind === 'run' ? this.runNode(g.entry, parent) : this.groupNode(g.id, g.entries, parent)));
  }

  private groupNode(id: string, entries: RunEntry[], parent: ExperimentNode | OtherRunsNode): SeedGroupNode {
    let node = this.groupNodes.get(id);
    if (!node || node.parent !== parent) this.groupNodes.set(id, (node = { kind: 'seedGroup', id, entries, parent }));
    else node.entries = entries;
    return node;
  }

  private experimentNode(configPath: string): ExperimentNode {
    let node = this.experiments.get(configPath);
    if (!node) this.experiments.set(configPath, (node = { kind: 'experiment', configPath }));
    return node;
  }

  private runNode(entry: RunEntry, parent: RunNode['parent']): RunNode {
    const key = path.resolve(entry.dir);
    let node = this.runNodes.get(key);
    if (!node || node.parent !== parent) this.runNodes.set(key, (node = { kind: 'run', entry, parent }));
    else node.entry = entry;
    return node;
  }

  private damagedNode(dir: string, reason: string): DamagedRunNode {
    const key = `damaged:${path.resolve(dir)}`;
    const node = this.damagedNodes.get(key);
    if (node && node.reason === reason) return node;
    const fresh: DamagedRunNode = { kind: 'damaged', dir, reason, parent: this.otherRuns };
    this.damagedNodes.set(key, fresh);
    return fresh;
  }

  private pendingNode(job: RunJob, parent: ExperimentNode): QueuedNode {
    let node = this.pendingNodes.get(job);
    if (!node) this.pendingNodes.set(job, (node = { kind: 'queued', job, parent }));
    return node;
  }

  /** The same node while the model looks the same (tree identity); a fresh one when its result or state changed. */
  private modelNode(info: ModelInfo, parent: RunNode): ModelNode {
    const key = `${path.resolve(parent.entry.dir)}#${info.row.model.id}`;
    const node = this.modelNodes.get(key);
    const same = node && node.parent === parent && node.state === info.state && node.path === info.path && JSON.stringify(node.row) === JSON.stringify(info.row);
    if (node && same) return node;
    const fresh: ModelNode = { ...info, kind: 'model', parent };
    this.modelNodes.set(key, fresh);
    return fresh;
  }

  private artifactNode(info: Omit<ArtifactNode, 'kind' | 'parent'>, parent: RunNode | ArtifactNode): ArtifactNode {
    const node = this.artifactNodes.get(info.path);
    if (node && node.parent === parent && node.description === info.description) return node;
    const fresh: ArtifactNode = { ...info, kind: 'artifact', parent };
    this.artifactNodes.set(info.path, fresh);
    return fresh;
  }

  // ---- change detection ------------------------------------------------------------------------

  /** Fires for the root when the experiments changed, else for each node whose children changed. */
  private update(): void {
    if (this.isDisposed) return;
    for (const job of [...this.pendingNodes.keys()]) if (job.state === 'ended') this.pendingNodes.delete(job);
    const roots = this.rootChildren();
    const rootSignature = roots.map((n) => (n.kind === 'experiment' ? n.configPath : n.kind)).join('\n');
    const changed: TreeNode[] = [];
    const runSignature = (c: RunNode) => `${c.entry.dir}|${c.entry.manifest.status}|${c.entry.manifest.stage}|${summarizeResults(c.entry.manifest)}`;
    for (const node of roots) {
      if (node.kind !== 'experiment' && node.kind !== 'otherRuns') continue;
      // The node's own look (its active-run count) and its children's.
      const active = node.kind === 'experiment' ? this.manager.jobsForConfig(node.configPath).filter((j) => j.state !== 'ended').length : 0;
      const children = this.runChildren(node);
      const signature = [
        `active:${active}`,
        ...children.map((c) =>
          c.kind === 'run'
            ? runSignature(c)
            : c.kind === 'seedGroup'
              ? `group|${c.id}`
              : c.kind === 'damaged'
                ? `damaged|${c.dir}|${c.reason}`
                : `job${c.kind === 'queued' ? `${c.job.seq}:${c.job.state}` : ''}`,
        ),
      ].join('\n');
      if (this.signatures.get(node) !== signature) changed.push(node);
      this.signatures.set(node, signature);
      // A seed group's own row (its mean ± std) and its runs: refreshed on their own.
      for (const group of children) {
        if (group.kind !== 'seedGroup') continue;
        const job = this.manager.jobs.find((j) => j.group?.id === group.id && j.state !== 'ended');
        const groupSignature = [`job:${job ? job.state : ''}`, ...group.entries.map((e) => runSignature(this.runNode(e, group)))].join('\n');
        if (this.signatures.get(group) !== groupSignature) changed.push(group);
        this.signatures.set(group, groupSignature);
      }
    }
    if (this.signatures.get('root') !== rootSignature) {
      this.signatures.set('root', rootSignature);
      this._onDidChangeTreeData.fire(undefined);
    } else if (changed.length) {
      this._onDidChangeTreeData.fire(changed);
    }
  }

  // ---- items -----------------------------------------------------------------------------------

  private relative(p: string): string {
    return vscode.workspace.asRelativePath(p, (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
  }

  private experimentItem(node: ExperimentNode): vscode.TreeItem {
    const uri = vscode.Uri.file(node.configPath);
    // Always expandable: an item that turns from None to Expanded when its first run appears
    // would be shown collapsed (VS Code keeps the state it knew for the id).
    const item = new vscode.TreeItem(uri, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `experiment:${node.configPath}`;
    item.label = path.basename(node.configPath);
    const dir = path.dirname(this.relative(node.configPath));
    const running = this.manager.jobsForConfig(node.configPath).filter((j) => j.state !== 'ended');
    item.description = [dir !== '.' ? dir : '', running.length ? `${running.length} active` : ''].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon('beaker');
    item.tooltip = node.configPath;
    item.contextValue = running.length ? 'distillExperiment.running' : 'distillExperiment';
    item.command = { title: 'Open Config', command: 'vscode.open', arguments: [uri] };
    return item;
  }

  private pendingItem(node: QueuedNode): vscode.TreeItem {
    const job = node.job;
    const position = this.manager.queuePosition(job);
    const item = new vscode.TreeItem(job.state === 'queued' ? 'Queued' : 'Starting…', vscode.TreeItemCollapsibleState.None);
    item.id = `job:${job.seq}`;
    item.description = job.state === 'queued' ? (position > 0 ? `behind ${position} run${position === 1 ? '' : 's'}` : 'next') : progressText(job.progress, true);
    item.iconPath = new vscode.ThemeIcon(job.state === 'queued' ? 'clock' : 'loading~spin');
    item.contextValue = job.state === 'queued' ? 'distillRun.queued' : 'distillRun.starting';
    return item;
  }

  private artifactItem(node: ArtifactNode): vscode.TreeItem {
    const uri = vscode.Uri.file(node.path);
    const folder = node.type === 'probes';
    const item = new vscode.TreeItem(node.label, folder ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `artifact:${node.path}`;
    item.resourceUri = uri;
    item.description = node.description;
    item.tooltip = node.path;
    item.iconPath = new vscode.ThemeIcon(
      { metrics: 'graph-line', log: 'output', probes: 'folder', probe: 'json', model: 'package', config: 'settings-gear', manifest: 'info' }[node.type],
    );
    item.contextValue = node.type === 'model' ? `distillArtifact.model.${node.stage}` : `distillArtifact.${node.type}`;
    if (!folder) item.command = { title: 'Open', command: 'vscode.open', arguments: [uri] };
    return item;
  }
}

/** A damaged run folder: its name, "damaged" and the reason; opens its manifest to fix or delete. */
function damagedItem(node: DamagedRunNode): vscode.TreeItem {
  const item = new vscode.TreeItem(path.basename(node.dir), vscode.TreeItemCollapsibleState.None);
  item.id = `damaged:${node.dir}`;
  item.description = `damaged: ${node.reason}`;
  item.tooltip = `${node.dir}\n${node.reason}`;
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  item.contextValue = 'distillRun.damaged';
  const manifest = vscode.Uri.file(path.join(node.dir, MANIFEST));
  item.resourceUri = vscode.Uri.file(node.dir);
  item.command = { title: 'Open Manifest', command: 'vscode.open', arguments: [manifest] };
  item.accessibilityInformation = { label: `Run folder ${path.basename(node.dir)}, damaged: ${node.reason}` };
  return item;
}

/** The view itself: the provider plus a badge counting active runs. */
export class ExperimentsView extends Disposable {
  readonly view: vscode.TreeView<TreeNode>;

  constructor(provider: ExperimentTreeProvider, manager: RunManager, runIndex: RunIndex) {
    super();
    this.view = this._register(vscode.window.createTreeView('distillLab.experiments', { treeDataProvider: provider, showCollapseAll: true }));
    this._register(this.view.onDidChangeVisibility((e) => runIndex.viewVisible(e.visible)));
    const updateBadge = () => {
      const active = manager.jobs.filter((j) => j.state !== 'ended').length;
      this.view.badge = active ? { value: active, tooltip: `${active} run${active === 1 ? '' : 's'} active` } : undefined;
    };
    this._register(manager.onDidChangeJob(({ change }) => change !== 'progress' && updateBadge()));
  }
}
