// The result panels: commands that open them (palette, tree, CodeLens) and the serializers that
// bring them back after a window reload. One panel per kind, opened beside the editor; invoking a
// command again reveals it and points it at what the command was given. Also the Loss Split view in
// the panel area: the Loss Split app following the active config, out of the editor's way.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ValidationEnv } from '../../core/config/parse';
import { isPanelState, PANEL_KINDS, PANEL_TITLES, type PanelKind, type PanelTarget, VIEW_TYPES } from '../../core/webviewProtocol';
import { ConfigAnalyzer } from '../configAnalysis';
import { registerCommand } from '../notify';
import type { RunMessageEvent } from '../runManager';
import { isConfigPath } from '../runsLocation';
import { isSeedGroupNode } from '../treeNodes';
import { type PanelDeps, ResultPanel, webviewOptions } from './resultPanel';
import { editorSurface, panelAreaSurface } from './surface';

/** The Loss Split view in the panel area (package.json contributes.views.distillLabResults). */
export const RESULTS_VIEW = 'distillLab.results';

export interface PanelsDeps {
  runsDir(): string | undefined;
  log: vscode.LogOutputChannel;
  /** The run manager's trainer messages: live wake-ups for runs started in this window. */
  onRunMessage?: vscode.Event<RunMessageEvent>;
  /** The validation environment of the editor's analyzer (a fresh one is made if absent). */
  env?: ValidationEnv;
  /** Asks for the runs to compare when Compare Runs was given fewer than two (a run folder pre-selected). */
  pickRunsToCompare?(preselected?: string): Promise<string[] | undefined>;
  /** The run index: cached listings shared with the tree. */
  runs?: PanelDeps['runs'];
  /** The analyzer's data scans ending (Model Layers shows shapes from their facts). */
  onDidChangeData?: PanelDeps['onDidChangeData'];
}

/** Command id → panel kind. */
export const PANEL_COMMANDS: Record<string, PanelKind> = {
  'distillLab.openLogits': 'logits',
  // "Open Results": the loss terms and accuracies (the Loss Split panel); the raw file is "Open Metrics File".
  'distillLab.openResults': 'lossSplit',
  'distillLab.openFeatureMaps': 'featureMaps',
  'distillLab.openRelations': 'relations',
  'distillLab.openModelLayers': 'modelLayers',
  'distillLab.compareRuns': 'compare',
};

export function registerPanels(context: vscode.ExtensionContext, deps: PanelsDeps): vscode.Disposable {
  const manager = new PanelManager(context.extensionUri, { ...deps, env: deps.env ?? new ConfigAnalyzer().env });
  const disposables: vscode.Disposable[] = [manager];
  for (const [command, kind] of Object.entries(PANEL_COMMANDS)) {
    // Behind the host's error boundary: a failure is logged and shown once.
    disposables.push(
      registerCommand(
        command,
        async (arg?: unknown, selection?: unknown) => {
          let target = targetFor(kind, arg, selection);
          if (kind === 'compare' && (target.runDirs?.length ?? 0) < 2 && deps.pickRunsToCompare) {
            const runDirs = await deps.pickRunsToCompare(target.runDirs?.[0]);
            if (!runDirs) return undefined;
            target = { follow: false, runDirs: runDirs.map((d) => path.resolve(d)) };
          }
          return manager.open(kind, target);
        },
        deps.log,
      ),
    );
  }
  for (const kind of PANEL_KINDS) {
    disposables.push(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[kind], {
        deserializeWebviewPanel: async (panel, state) => {
          manager.revive(kind, panel, isPanelState(state) && state.view === kind ? state.target : { follow: true });
        },
      }),
    );
  }
  disposables.push(
    vscode.window.registerWebviewViewProvider(RESULTS_VIEW, {
      resolveWebviewView: (view) => manager.showInView(view),
    }),
  );
  return vscode.Disposable.from(...disposables);
}

class PanelManager implements vscode.Disposable {
  private readonly panels = new Map<PanelKind, ResultPanel>();
  private inView?: ResultPanel;
  private readonly deps: PanelDeps;

  constructor(
    private readonly extensionUri: vscode.Uri,
    deps: PanelsDeps & { env: ValidationEnv },
  ) {
    this.deps = { ...deps, extensionUri };
  }

  /** Opens (or reveals and re-points) the panel of `kind`; returns the target it shows. */
  open(kind: PanelKind, target: PanelTarget): PanelTarget {
    const existing = this.panels.get(kind);
    if (existing) {
      existing.retarget(target);
      existing.reveal();
      return existing.currentTarget;
    }
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPES[kind],
      PANEL_TITLES[kind],
      // Beside the config being edited, keeping the focus there (the layers view follows typing);
      // all result panels share one side group, so the config keeps its width.
      { viewColumn: this.sideColumn(), preserveFocus: true },
      webviewOptions(this.extensionUri),
    );
    return this.track(kind, this.create(kind, panel, target)).currentTarget;
  }

  /**
   * Where a new panel goes: the group of the result panels already open, else beside the active
   * editor — but never "beside" a result panel, which would open yet another group.
   */
  private sideColumn(): vscode.ViewColumn {
    const ours = new Set<string>(Object.values(VIEW_TYPES));
    const isOurs = (t: vscode.Tab) => t.input instanceof vscode.TabInputWebview && [...ours].some((v) => (t.input as vscode.TabInputWebview).viewType.endsWith(v));
    const group = vscode.window.tabGroups.all.find((g) => g.tabs.some(isOurs));
    if (group) return group.viewColumn;
    const active = vscode.window.tabGroups.activeTabGroup;
    if (active.activeTab && isOurs(active.activeTab)) return active.viewColumn;
    return vscode.ViewColumn.Beside;
  }

  revive(kind: PanelKind, panel: vscode.WebviewPanel, target: PanelTarget): void {
    this.panels.get(kind)?.dispose();
    this.track(kind, this.create(kind, panel, target));
  }

  /** The panel area's Loss Split view: Loss Split following the active config (made each time VS Code resolves the view). */
  showInView(view: vscode.WebviewView): void {
    this.inView?.dispose();
    const shown = new ResultPanel('lossSplit', panelAreaSurface(view), this.deps, { follow: true, configPath: activeConfig() });
    this.inView = shown;
    shown.onDidDispose(() => this.inView === shown && (this.inView = undefined));
  }

  private create(kind: PanelKind, panel: vscode.WebviewPanel, target: PanelTarget): ResultPanel {
    const icon = vscode.Uri.joinPath(this.extensionUri, 'media', 'distill.svg');
    return new ResultPanel(kind, editorSurface(panel, PANEL_TITLES[kind], icon), this.deps, target);
  }

  private track(kind: PanelKind, p: ResultPanel): ResultPanel {
    this.panels.set(kind, p);
    p.onDidDispose(() => this.panels.get(kind) === p && this.panels.delete(kind));
    return p;
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
    this.inView?.dispose();
  }
}

// ---- what a command was given -----------------------------------------------------------------

function pathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? arg.fsPath : undefined;
  if (typeof arg === 'string') return arg.startsWith('file://') ? vscode.Uri.parse(arg).fsPath : arg;
  if (arg && typeof arg === 'object') {
    const o = arg as { runDir?: unknown; configPath?: unknown; entry?: { dir?: unknown }; kind?: unknown };
    // Tree nodes of the Experiments view (RunNode { entry }, ExperimentNode { configPath }) and { runDir }.
    if (typeof o.runDir === 'string') return o.runDir;
    if (o.entry && typeof o.entry.dir === 'string') return o.entry.dir;
    if (typeof o.configPath === 'string') return o.configPath;
  }
  return undefined;
}

function activeConfig(): string | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  if (uri?.scheme === 'file' && isConfigPath(uri.fsPath)) return uri.fsPath;
  const visible = vscode.window.visibleTextEditors.map((e) => e.document.uri).find((u) => u.scheme === 'file' && isConfigPath(u.fsPath));
  return visible?.fsPath;
}

/**
 * The panel's target from a command argument: a config (Uri, path, experiment node) is followed;
 * a run folder (path, run node) is pinned; nothing means the active *.distill.json's latest run.
 * Compare takes the tree's multi-selection (second argument), an array of runs, or a seed group.
 */
export function targetFor(kind: PanelKind, arg: unknown, selection?: unknown): PanelTarget {
  if (kind === 'compare') {
    const list = Array.isArray(selection) && selection.length > 1 ? selection : Array.isArray(arg) ? arg : [arg];
    // A seed group (its tree node) stands for all its runs.
    const expanded = list.flatMap((a) => (isSeedGroupNode(a) ? a.entries.map((e) => e.dir) : [a]));
    const runDirs = expanded.map(pathOf).filter((p): p is string => !!p && !isConfigPath(p)).map((p) => path.resolve(p));
    return { follow: false, runDirs: [...new Set(runDirs)] };
  }
  const p = pathOf(arg);
  if (p && isConfigPath(p)) return { follow: true, configPath: path.resolve(p) };
  if (p && kind !== 'modelLayers') return { follow: false, runDir: path.resolve(p) };
  return { follow: true, configPath: activeConfig() };
}
