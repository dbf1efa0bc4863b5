// One result view: a webview (an editor panel or the panel area's Loss Split view, see surface.ts)
// with a strict CSP, its app bundle, and the data it shows —
// a run (followed from the active *.distill.json or pinned), the text of a config (layers view) or
// several runs (compare) — kept live while a run trains. The webview says `ready` first (again
// after every hide/show, since its context is not retained); the host then sends everything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import type { ValidationEnv } from '../../core/config/parse';
import type { TestPredictions } from '../../core/protocol';
import { listRuns, type RunEntry } from '../../core/runStore';
import {
  type CompareRun,
  type HostToWebview,
  isWebviewToHost,
  PANEL_APPS,
  PANEL_TITLES,
  type PanelKind,
  type PanelTarget,
  VIEW_TYPES,
  type WebviewToHost,
} from '../../core/webviewProtocol';
import { Disposable } from '../dispose';
import { notify } from '../notify';
import type { RunMessageEvent } from '../runManager';
import { isConfigPath, samePath } from '../runsLocation';
import { runsDirForConfig } from '../settings';
import { throttle } from '../throttle';
import { nonce, renderPanelHtml } from './html';
import { layersPayload } from './layerView';
import { RunReader } from './runData';
import type { ResultSurface } from './surface';

/** The panels that show probe files (per-epoch maps, logits, relations) and metrics (curves). */
const READS_PROBES = new Set<PanelKind>(['logits', 'featureMaps', 'relations']);
const READS_METRICS = new Set<PanelKind>(['lossSplit', 'featureMaps']);
const READS_TEST_PREDICTIONS = new Set<PanelKind>(['logits']);

export interface PanelDeps {
  extensionUri: vscode.Uri;
  runsDir(): string | undefined;
  log: vscode.LogOutputChannel;
  /** The run manager's trainer messages: live wake-ups for runs started in this window. */
  onRunMessage?: vscode.Event<RunMessageEvent>;
  env: ValidationEnv;
  /**
   * The run index's cached listings (shared with the tree), and when they change. Without it each
   * look lists the runs folder from disk.
   */
  runs?: { runsIn(dir: string): RunEntry[]; onDidChange: vscode.Event<void> };
  /** A scan of the user's data ended (its facts give the layers' shapes): Model Layers redraws. */
  onDidChangeData?: vscode.Event<void>;
}

/** Live updates reach the webview at most this often (docs/architecture.md §4: ≈10 Hz). */
const UPDATE_MS = 100;
/** Disk polling for runs started elsewhere (the CLI), which send this window no messages. */
const POLL_LIVE_MS = 500;
const POLL_IDLE_MS = 2000;
/** A run that sent a message this recently is followed by its messages, not by fast polling. */
const PUSH_QUIET_MS = 2000;
const TYPING_DEBOUNCE_MS = 150;

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    // Only the extension's own bundles and styles; nothing from the workspace or the network.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    // State lives in getState/setState and the host: a hidden panel costs nothing.
    retainContextWhenHidden: false,
    enableFindWidget: true,
  };
}

export class ResultPanel extends Disposable {
  private target: PanelTarget;
  private reader?: RunReader;
  private compared: RunReader[] = [];
  /** Loss Split: a reader per run of the shown run's seed group (its own, apart from `reader`'s stream). */
  private groupReaders: RunReader[] = [];
  private groupStamp = '';
  private ready = false;
  /** The webview has the metrics snapshot of the current reader: appends may follow. */
  private metricsSent = false;
  /** What the webview was last sent as the current reader's test predictions (undefined: nothing sent yet). */
  private predictionsSent?: { value?: TestPredictions };
  private stamp = '';
  private runsListing = '';
  private lastPush = 0;
  private pollTimer?: NodeJS.Timeout;
  private typingTimer?: NodeJS.Timeout;
  private readonly update = this._register(throttle(() => this.refresh(), UPDATE_MS));
  private readonly _onDidDispose = this._register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this._onDidDispose.event;

  constructor(
    readonly kind: PanelKind,
    private readonly surface: ResultSurface,
    private readonly deps: PanelDeps,
    target: PanelTarget,
  ) {
    super();
    this.target = target;
    const webview = surface.webview;
    webview.options = webviewOptions(deps.extensionUri);
    webview.html = this.html();
    this._register(surface.onDidDispose(() => this.dispose()));
    this._register(webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)));
    this._register(
      surface.onDidChangeVisibility(() => {
        // A hidden webview is torn down; it says `ready` again when shown.
        if (!surface.visible) this.ready = false;
        this.schedulePoll();
      }),
    );
    this._register(vscode.window.onDidChangeActiveTextEditor((e) => this.followEditor(e)));
    if (kind === 'modelLayers') {
      this._register(
        vscode.workspace.onDidChangeTextDocument((e) => {
          if (!this.target.configPath || !samePath(e.document.uri.fsPath, this.target.configPath)) return;
          clearTimeout(this.typingTimer);
          this.typingTimer = setTimeout(() => this.sendLayers(), TYPING_DEBOUNCE_MS);
        }),
      );
      if (deps.onDidChangeData) this._register(deps.onDidChangeData(() => this.sendLayers()));
    }
    if (deps.onRunMessage) this._register(deps.onRunMessage((e) => this.onRunMessage(e)));
    // A new run of the followed config, seen by the index (started here, by the CLI or elsewhere).
    if (deps.runs) this._register(deps.runs.onDidChange(() => this.checkLatest()));
    this._register({
      dispose: () => {
        clearTimeout(this.pollTimer);
        clearTimeout(this.typingTimer);
      },
    });
    this.resolve();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._onDidDispose.fire();
    super.dispose();
    this.surface.dispose();
  }

  get currentTarget(): PanelTarget {
    return { ...this.target };
  }

  /** Shows something else (a command ran with another run or config); sends it if the webview is up. */
  retarget(target: PanelTarget): void {
    this.target = target;
    this.resolve();
    if (this.ready) this.sendAll();
  }

  reveal(): void {
    this.surface.reveal();
  }

  // ---- what to show ---------------------------------------------------------------------------

  /** Picks the reader(s) for the target: the pinned run, the followed config's latest run, or runs. */
  private resolve(): void {
    const t = this.target;
    if (this.kind === 'compare') {
      const dirs = t.runDirs ?? [];
      this.compared = dirs.map((d) => this.compared.find((r) => samePath(r.dir, d)) ?? new RunReader(d));
    } else if (this.kind !== 'modelLayers') {
      const dir = t.follow ? this.latestRun()?.dir : t.runDir;
      if (!dir) this.reader = undefined;
      else if (!this.reader || !samePath(this.reader.dir, dir)) this.reader = new RunReader(dir);
      t.runDir = dir;
    }
    this.stamp = '';
    this.updateTitle();
    this.schedulePoll();
  }

  private runsDirFor(configPath: string | undefined): string | undefined {
    return configPath ? runsDirForConfig(vscode.Uri.file(configPath)) : this.deps.runsDir();
  }

  private latestRun(): RunEntry | undefined {
    const configPath = this.target.configPath;
    const runs = this.runsIn(this.runsDirFor(configPath));
    return configPath ? runs.find((r) => samePath(r.manifest.configPath, configPath)) : runs[0];
  }

  private runsIn(dir: string | undefined): RunEntry[] {
    if (!dir) return [];
    return this.deps.runs ? this.deps.runs.runsIn(dir) : listRuns(dir);
  }

  private followEditor(editor: vscode.TextEditor | undefined): void {
    if (!this.target.follow || this.kind === 'compare' || !editor) return;
    const uri = editor.document.uri;
    if (uri.scheme !== 'file' || !isConfigPath(uri.fsPath)) return;
    if (this.target.configPath && samePath(this.target.configPath, uri.fsPath)) return;
    this.retarget({ follow: true, configPath: uri.fsPath });
  }

  private updateTitle(): void {
    let what: string | undefined;
    if (this.kind === 'modelLayers') what = this.target.configPath && path.basename(this.target.configPath).replace(/\.distill\.json$/i, '');
    else if (this.kind === 'compare') what = this.compared.length ? `${this.compared.length} runs` : undefined;
    else what = this.reader?.runInfo()?.name;
    this.surface.setSubject(what);
  }

  // ---- sending --------------------------------------------------------------------------------

  private post(m: HostToWebview): void {
    if (!this.ready) return;
    void this.surface.webview.postMessage(m);
  }

  private emptyMessage(): string | undefined {
    const t = this.target;
    const name = t.configPath ? path.basename(t.configPath) : undefined;
    switch (this.kind) {
      case 'modelLayers':
        return t.configPath ? undefined : 'Open a *.distill.json experiment to see its teacher and student layers.';
      case 'compare':
        return this.compared.length ? undefined : 'Add two or more runs to compare.';
      default:
        if (this.reader) return undefined;
        return name ? `${name} has no run yet. Run it to see its results here, live while it trains.` : 'Open a *.distill.json experiment, or choose a run.';
    }
  }

  private sendAll(): void {
    this.post({ type: 'target', target: this.currentTarget, empty: this.emptyMessage() });
    this.stamp = '';
    if (this.kind === 'modelLayers') return this.sendLayers();
    if (this.kind === 'compare') return void this.sendCompare();
    if (!this.reader) return;
    const run = this.reader.runInfo();
    if (run) this.post({ type: 'run', run });
    if (READS_PROBES.has(this.kind)) {
      const index = this.reader.probeIndex();
      if (index) this.post({ type: 'probeIndex', index });
    }
    this.predictionsSent = undefined;
    this.sendTestPredictions(this.reader);
    this.stamp = this.reader.stamp();
    if (READS_METRICS.has(this.kind)) void this.sendMetricsSnapshot(this.reader);
    this.groupStamp = '';
    void this.sendGroup();
  }

  /** The runs of the shown run's seed group (the shown one included), oldest seed first; none when it is not one seed of a group. */
  private groupDirs(): string[] {
    const group = this.reader?.runInfo()?.group;
    if (!this.reader || !group) return [];
    return this.runsIn(path.dirname(this.reader.dir))
      .filter((r) => r.manifest.group?.id === group.id)
      .sort((a, b) => a.manifest.group!.index - b.manifest.group!.index)
      .map((r) => r.dir);
  }

  /** Loss Split: sends the seed group's epoch records when a member run was added or changed since the last send. */
  private async sendGroup(): Promise<void> {
    if (this.kind !== 'lossSplit' || !this.reader) return;
    const dirs = this.groupDirs();
    this.groupReaders = dirs.map((d) => this.groupReaders.find((r) => samePath(r.dir, d)) ?? new RunReader(d));
    const stamp = `${this.reader.dir}#${this.groupReaders.map((r) => `${r.dir}|${r.stamp()}`).join('#')}`;
    if (stamp === this.groupStamp) return;
    this.groupStamp = stamp;
    const runDir = this.reader.dir;
    const members = await epochRecords(this.groupReaders);
    if (this.reader && samePath(this.reader.dir, runDir)) this.post({ type: 'group', runDir, members });
  }

  /** Sends the run's test predictions (Logits only: the numbers are long) when they are new to the webview. */
  private sendTestPredictions(r: RunReader): void {
    if (!READS_TEST_PREDICTIONS.has(this.kind)) return;
    const predictions = r.testPredictions();
    if (this.predictionsSent && this.predictionsSent.value === predictions) return;
    this.predictionsSent = { value: predictions };
    this.post({ type: 'testPredictions', runDir: r.dir, predictions });
  }

  /** The whole metrics history (parsed in slices the first time: a long run has ~200k records). */
  private async sendMetricsSnapshot(r: RunReader): Promise<void> {
    this.metricsSent = false;
    try {
      await r.loadMetrics();
    } catch (e) {
      this.deps.log.warn(`${VIEW_TYPES[this.kind]}: cannot read ${r.dir}: ${(e as Error).message}`);
    }
    if (r !== this.reader || !this.ready || this.isDisposed) return;
    this.post({ type: 'metrics', runDir: r.dir, reset: true, ...r.readMetrics(true) });
    this.metricsSent = true;
  }

  /** Sends what changed on disk since the last look (throttled by `update`). */
  private refresh(): void {
    if (!this.ready || this.isDisposed) return;
    if (this.kind === 'compare') {
      const stamp = this.compared.map((r) => r.stamp()).join('#');
      if (stamp !== this.stamp) void this.sendCompare();
      return;
    }
    const r = this.reader;
    if (!r) return;
    // Another seed of the group may have started or moved on while this one is unchanged.
    void this.sendGroup();
    const stamp = r.stamp();
    if (stamp === this.stamp) return;
    const [manifest, metrics, probes] = stamp.split('|');
    const [m0, m1, m2] = this.stamp.split('|');
    this.stamp = stamp;
    if (manifest !== m0) {
      const run = r.runInfo();
      if (run) this.post({ type: 'run', run });
      this.updateTitle();
      // The trainer writes a finished model's predictions just before the manifest that records it.
      this.sendTestPredictions(r);
    }
    if (metrics !== m1 && this.metricsSent && READS_METRICS.has(this.kind)) {
      const m = r.readMetrics(false);
      if (m.epochs.length || m.steps.length) this.post({ type: 'metrics', runDir: r.dir, reset: false, ...m });
    }
    if (probes !== m2 && READS_PROBES.has(this.kind)) {
      const index = r.probeIndex();
      if (index) this.post({ type: 'probeIndex', index });
    }
  }

  private sendLayers(): void {
    const file = this.target.configPath;
    if (!file) return;
    const open = vscode.workspace.textDocuments.find((d) => samePath(d.uri.fsPath, file));
    let text: string | undefined = open?.getText();
    if (text === undefined) {
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        this.post({ type: 'target', target: this.currentTarget, empty: `Cannot read ${file}.` });
        return;
      }
    }
    this.post({ type: 'layers', layers: layersPayload(text, file, this.deps.env) });
  }

  private async sendCompare(): Promise<void> {
    this.stamp = this.compared.map((r) => r.stamp()).join('#');
    this.post({ type: 'compare', runs: await epochRecords(this.compared) });
  }

  // ---- live -----------------------------------------------------------------------------------

  /** The trainer wrote something (it writes before it sends): re-read the run folder now (throttled). */
  private onRunMessage({ runDir, message }: RunMessageEvent): void {
    if (this.kind === 'modelLayers') return;
    if (message.type === 'runCreated') {
      // Perhaps a new run of the followed config: switch to it.
      this.checkLatest();
      return;
    }
    const mine = this.kind === 'compare' ? this.compared.some((r) => samePath(r.dir, runDir)) : this.reader && samePath(this.reader.dir, runDir);
    if (!mine || !(message.type === 'metrics' || message.type === 'probe' || message.type === 'stage' || message.type === 'done')) return;
    this.lastPush = Date.now();
    this.update();
  }

  /**
   * Polls the disk while visible: fast while the shown run is running and sends no messages (it
   * was started elsewhere), slowly otherwise (to notice new runs).
   */
  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (this.isDisposed || !this.surface.visible || this.kind === 'modelLayers') return;
    const running =
      this.kind === 'compare' ? this.compared.some((r) => r.runInfo()?.status === 'running') : this.reader?.runInfo()?.status === 'running';
    const pushed = Date.now() - this.lastPush < PUSH_QUIET_MS;
    this.pollTimer = setTimeout(() => {
      this.pollTick();
      this.schedulePoll();
    }, running && !pushed ? POLL_LIVE_MS : POLL_IDLE_MS);
  }

  private pollTick(): void {
    if (this.target.follow && this.kind !== 'compare') {
      // New run folders (a run started from the CLI or another window)?
      const dir = this.runsDirFor(this.target.configPath);
      let listing = '';
      try {
        listing = dir ? fs.readdirSync(dir).join('|') : '';
      } catch {
        listing = '';
      }
      if (listing !== this.runsListing) {
        this.runsListing = listing;
        if (this.checkLatest()) return;
      }
    }
    this.update();
  }

  /** When following, switches to the followed config's newest run if that changed; says whether it did. */
  private checkLatest(): boolean {
    if (!this.target.follow || this.kind === 'compare' || this.kind === 'modelLayers') return false;
    const latest = this.latestRun()?.dir;
    if (!latest || (this.reader && samePath(latest, this.reader.dir))) return false;
    this.retarget({ ...this.target });
    return true;
  }

  // ---- from the webview -----------------------------------------------------------------------

  private onMessage(m: unknown): void {
    if (!isWebviewToHost(m)) {
      this.deps.log.warn(`${VIEW_TYPES[this.kind]}: ignored a malformed webview message`);
      return;
    }
    void this.handle(m).catch((e) => this.deps.log.error(`${VIEW_TYPES[this.kind]}: ${(e as Error).message}`));
  }

  private async handle(m: WebviewToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.sendAll();
        this.schedulePoll();
        return;
      case 'getProbes': {
        const reader = this.reader && samePath(this.reader.dir, m.runDir) ? this.reader : undefined;
        const records = reader ? reader.probes(m.epoch, m.stages) : {};
        this.post({ type: 'probes', requestId: m.requestId, runDir: m.runDir, epoch: m.epoch, records });
        return;
      }
      case 'setFollow': {
        const active = vscode.window.activeTextEditor?.document.uri;
        const configPath = m.follow && active?.scheme === 'file' && isConfigPath(active.fsPath) ? active.fsPath : (this.target.configPath ?? this.reader?.runInfo()?.configPath);
        return this.retarget(m.follow ? { follow: true, configPath } : { ...this.target, follow: false });
      }
      case 'pickRun':
        return this.kind === 'compare' ? this.addRuns() : this.pickRun();
      case 'removeRun':
        return this.retarget({ ...this.target, runDirs: (this.target.runDirs ?? []).filter((d) => !samePath(d, m.runDir)) });
      case 'runExperiment':
        if (this.target.configPath) await vscode.commands.executeCommand('distillLab.run', vscode.Uri.file(this.target.configPath));
        return;
      case 'revealTerm':
        return this.revealTerm(m.index);
      case 'export':
        return this.export(m);
      case 'log':
        this.deps.log[m.level === 'error' ? 'error' : m.level === 'warn' ? 'warn' : 'info'](`${VIEW_TYPES[this.kind]}: ${m.message}`);
        return;
    }
  }

  private allRuns(): RunEntry[] {
    const dirs = new Set<string>();
    const d = this.deps.runsDir();
    if (d) dirs.add(path.resolve(d));
    if (this.target.configPath) dirs.add(path.resolve(runsDirForConfig(vscode.Uri.file(this.target.configPath))));
    for (const f of vscode.workspace.workspaceFolders ?? []) dirs.add(path.resolve(runsDirForConfig(vscode.Uri.joinPath(f.uri, 'x.distill.json'))));
    return [...dirs].flatMap((x) => this.runsIn(x)).sort((a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt));
  }

  private runItems(runs: RunEntry[]): (vscode.QuickPickItem & { run: RunEntry })[] {
    return runs.map((run) => ({
      label: `${run.manifest.name} · ${run.manifest.startedAt.replace('T', ' ').slice(0, 19)}`,
      description: run.manifest.status,
      detail: run.manifest.id,
      run,
    }));
  }

  private async pickRun(): Promise<void> {
    const runs = this.allRuns();
    if (!runs.length) {
      void vscode.window.showInformationMessage('There are no runs yet.');
      return;
    }
    const picked = await vscode.window.showQuickPick(this.runItems(runs), { placeHolder: `Show which run in ${PANEL_TITLES[this.kind]}?`, matchOnDetail: true });
    if (picked) this.retarget({ follow: false, runDir: picked.run.dir, configPath: picked.run.manifest.configPath });
  }

  private async addRuns(): Promise<void> {
    const have = this.target.runDirs ?? [];
    const runs = this.allRuns().filter((r) => !have.some((d) => samePath(d, r.dir)));
    if (!runs.length) {
      void vscode.window.showInformationMessage('There are no other runs to add.');
      return;
    }
    const picked = await vscode.window.showQuickPick(this.runItems(runs), { placeHolder: 'Add which runs to the comparison?', canPickMany: true, matchOnDetail: true });
    if (picked?.length) this.retarget({ ...this.target, follow: false, runDirs: [...have, ...picked.map((p) => p.run.dir)] });
  }

  private async revealTerm(index: number): Promise<void> {
    const file = this.target.configPath;
    if (!file) return;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const tree = parseTree(document.getText());
    const node = tree && findNodeAtLocation(tree, ['distillation', 'losses', index]);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    if (!node) return;
    const range = new vscode.Range(document.positionAt(node.offset), document.positionAt(node.offset + node.length));
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private async export(m: Extract<WebviewToHost, { type: 'export' }>): Promise<void> {
    const name = path.basename(m.suggestedName).replace(/[^\w.-]+/g, '_');
    const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? (this.reader ? vscode.Uri.file(this.reader.dir) : undefined);
    const uri = await vscode.window.showSaveDialog({
      defaultUri: base ? vscode.Uri.joinPath(base, name) : undefined,
      filters: m.format === 'csv' ? { CSV: ['csv'] } : { PNG: ['png'] },
      saveLabel: 'Export',
    });
    if (!uri) return this.post({ type: 'exported', requestId: m.requestId });
    try {
      const bytes = m.format === 'csv' ? Buffer.from(m.data, 'utf8') : Buffer.from(m.data.slice(m.data.indexOf(',') + 1), 'base64');
      await vscode.workspace.fs.writeFile(uri, bytes);
      this.post({ type: 'exported', requestId: m.requestId, path: uri.fsPath });
      // Say where it went: the save dialog's default (the workspace folder) is easy to accept unread.
      const where = vscode.workspace.asRelativePath(uri, true);
      notify('info', `Distill Lab: exported ${m.format.toUpperCase()} to ${where}`, {
        Open: () => vscode.commands.executeCommand('vscode.open', uri),
        Reveal: () =>
          vscode.workspace.getWorkspaceFolder(uri)
            ? vscode.commands.executeCommand('revealInExplorer', uri)
            : vscode.commands.executeCommand('revealFileInOS', uri),
      });
    } catch (e) {
      this.post({ type: 'exported', requestId: m.requestId, error: (e as Error).message });
      void vscode.window.showErrorMessage(`Distill Lab: could not export to ${uri.fsPath}: ${(e as Error).message}`);
    }
  }

  private html(): string {
    const w = this.surface.webview;
    const asset = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...p)).toString();
    return renderPanelHtml({
      kind: this.kind,
      place: this.surface.place,
      title: PANEL_TITLES[this.kind],
      cspSource: w.cspSource,
      nonce: nonce(),
      scriptUri: asset('dist', 'webview', `${PANEL_APPS[this.kind]}.js`),
      styleUris: [asset('dist', 'webview', 'uplot.css'), asset('media', 'webview.css')],
    });
  }
}

/** Each readable run of `readers` with its epoch records (Compare's rows, a seed group's members), in order. */
async function epochRecords(readers: RunReader[]): Promise<CompareRun[]> {
  const runs: CompareRun[] = [];
  for (const r of readers) {
    await r.loadMetrics();
    const run = r.runInfo();
    if (run) runs.push({ run, epochs: r.readMetrics(true).epochs });
  }
  return runs;
}
