// The runs on disk, for the tree, the CodeLens and the result panels: each runs folder listed once
// and cached, re-read (debounced, asynchronously, only the manifests that changed — runListing.ts)
// when a manifest is created, rewritten or deleted or a run folder comes or goes — by this
// extension's runs, the CLI, or another window. A running run's metrics appends (up to 10 a
// second) and probe files do not cause a re-read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type DamagedRun, MANIFEST, type RunEntry } from '../core/runStore';
import { Disposable, disposeAll } from './dispose';
import { affectsListing, RunListing } from './runListing';
import { isInside, samePath } from './runsLocation';
import { affectsSettings, runsDirForConfig, runsDirForFolder } from './settings';

const REFRESH_DEBOUNCE_MS = 150;

export class RunIndex extends Disposable {
  private readonly runsByDir = new Map<string, { entries: RunEntry[]; damaged: DamagedRun[]; signature: string }>();
  /** Runs folders of configs outside every workspace folder, learnt when they are run. */
  private readonly extraDirs = new Set<string>();
  private watchers: vscode.Disposable[] = [];
  private timer?: NodeJS.Timeout;
  private readonly listing = new RunListing();
  /** A refresh in progress, and whether another was asked for meanwhile. */
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  /** Node watchers on each runs folder and on each running run's folder (see syncFolderWatchers). */
  private readonly folderWatchers = new Map<string, fs.FSWatcher>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  /** The runs on disk changed (a run was added, removed, or its manifest rewritten). */
  readonly onDidChange = this._onDidChange.event;

  constructor() {
    super();
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.reset()));
    this._register(vscode.workspace.onDidChangeConfiguration((e) => affectsSettings(e, 'runsFolder') && this.reset()));
    // A safety net for file events a watcher cannot see (network drives, a folder created in one go).
    this._register(vscode.window.onDidChangeWindowState((state) => state.focused && this.scheduleRefresh()));
    this._register({
      dispose: () => {
        clearTimeout(this.timer);
        disposeAll(this.watchers);
        for (const w of this.folderWatchers.values()) w.close();
        this.folderWatchers.clear();
      },
    });
    this.watch();
    // Off the activation path: attaches the folder watchers (the tree reads lazily before that).
    this.scheduleRefresh();
  }

  runsDirs(): string[] {
    const dirs = (vscode.workspace.workspaceFolders ?? []).map(runsDirForFolder);
    for (const d of this.extraDirs) if (!dirs.some((x) => samePath(x, d))) dirs.push(d);
    return dirs;
  }

  /** Makes the index watch the runs folder of a config outside the workspace folders. */
  addRunsDir(dir: string): void {
    if (this.runsDirs().some((d) => samePath(d, dir))) return;
    this.extraDirs.add(path.resolve(dir));
    this.reset();
  }

  runsIn(dir: string): RunEntry[] {
    const key = path.resolve(dir);
    let cached = this.runsByDir.get(key);
    if (!cached) {
      // The first look at a folder cannot wait for the asynchronous refresh; later ones are cached.
      const { runs: entries, damaged } = this.listing.listSync(key);
      cached = { entries, damaged, signature: signature(entries, damaged) };
      this.runsByDir.set(key, cached);
    }
    return cached.entries;
  }

  /** Run folders whose manifest is damaged, in every runs folder, with the reason. */
  damagedRuns(): DamagedRun[] {
    return this.runsDirs().flatMap((d) => {
      this.runsIn(d);
      return this.runsByDir.get(path.resolve(d))?.damaged ?? [];
    });
  }

  /** The runs of one config, newest first. */
  runsForConfig(configUri: vscode.Uri): RunEntry[] {
    return this.runsIn(runsDirForConfig(configUri)).filter((r) => samePath(r.manifest.configPath, configUri.fsPath));
  }

  /** Every run in every runs folder, newest first. */
  allRuns(): RunEntry[] {
    return this.runsDirs()
      .flatMap((d) => this.runsIn(d))
      .sort((a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt) || b.manifest.id.localeCompare(a.manifest.id));
  }

  find(runDir: string): RunEntry | undefined {
    return this.allRuns().find((r) => samePath(r.dir, runDir));
  }

  /** The Experiments view was shown or hidden: when shown, show what happened meanwhile. */
  viewVisible(visible: boolean): void {
    if (visible) this.scheduleRefresh();
  }

  /**
   * VS Code's file watcher misses events inside folders created in one go on Linux (inotify
   * watches are added after the fact), which is how the trainer creates `.distill/runs/<id>/`. So
   * each runs folder, and each running run's folder, also gets a plain non-recursive fs.watch,
   * attached once the folder exists. Returns whether a watcher was added (the caller re-reads,
   * to catch what changed before it was attached).
   */
  private syncFolderWatchers(): boolean {
    const wanted = new Set<string>();
    for (const [dir, cached] of this.runsByDir) {
      if (fs.existsSync(dir)) wanted.add(dir);
      for (const e of cached.entries) if (e.manifest.status === 'running') wanted.add(path.resolve(e.dir));
    }
    for (const [p, w] of this.folderWatchers) {
      if (!wanted.has(p)) {
        w.close();
        this.folderWatchers.delete(p);
      }
    }
    let added = false;
    for (const p of wanted) {
      if (this.folderWatchers.has(p) || this.isDisposed) continue;
      try {
        // The runs folder: any entry added or removed. A run's folder: only its manifest.
        const isRunsDir = this.runsByDir.has(p);
        const w = fs.watch(p, { persistent: false }, (_event, name) => {
          if (isRunsDir || !name || String(name) === MANIFEST) this.scheduleRefresh();
        });
        w.on('error', () => {
          w.close();
          this.folderWatchers.delete(p);
        });
        this.folderWatchers.set(p, w);
        added = true;
      } catch {
        // Removed in the meantime: the next refresh decides again.
      }
    }
    return added;
  }

  /**
   * Re-reads every runs folder (asynchronously; unchanged manifests come from the cache) and fires
   * onDidChange if anything differs. Resolves when done; a call during a refresh runs once more after it.
   */
  refresh(): Promise<void> {
    clearTimeout(this.timer);
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = this.reread().finally(() => {
      this.refreshing = undefined;
      if (this.refreshAgain && !this.isDisposed) {
        this.refreshAgain = false;
        void this.refresh();
      }
    });
    return this.refreshing;
  }

  private async reread(): Promise<void> {
    let changed = false;
    const dirs = this.runsDirs().map((d) => path.resolve(d));
    for (const key of [...this.runsByDir.keys()]) {
      if (!dirs.includes(key)) {
        this.runsByDir.delete(key);
        changed = true;
      }
    }
    for (const dir of dirs) {
      const { runs: entries, damaged } = await this.listing.list(dir);
      if (this.isDisposed) return;
      const sig = signature(entries, damaged);
      if (this.runsByDir.get(dir)?.signature !== sig) changed = true;
      this.runsByDir.set(dir, { entries, damaged, signature: sig });
    }
    if (this.syncFolderWatchers()) this.scheduleRefresh();
    if (changed) this._onDidChange.fire();
  }

  scheduleRefresh(): void {
    if (this.isDisposed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  private reset(): void {
    this.watch();
    void this.refresh();
  }

  private watch(): void {
    disposeAll(this.watchers);
    const folders = vscode.workspace.workspaceFolders ?? [];
    for (const dir of this.runsDirs()) {
      // Watch from the workspace folder when the runs folder is inside it: that base exists even
      // before the first run creates the runs folder.
      const folder = folders.find((f) => isInside(f.uri.fsPath, dir));
      const rel = folder ? path.relative(folder.uri.fsPath, dir).split(path.sep).join('/') : '';
      const base = folder ? folder.uri : vscode.Uri.file(dir);
      // Anything under the runs folder (a manifest is rewritten by a temp file + rename), and the
      // folders leading to it: when `.distill/runs/<id>/` is created in one go, this watcher may
      // report only the topmost new folder (then syncFolderWatchers takes over).
      const segments = rel ? rel.split('/') : [];
      const globs = [rel ? `${rel}/**` : '**', ...segments.map((_, i) => segments.slice(0, i + 1).join('/'))];
      for (const glob of globs) {
        const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, glob));
        const onEvent = (uri: vscode.Uri) => {
          if (affectsListing(uri.fsPath, this.runsDirs())) this.scheduleRefresh();
        };
        this.watchers.push(w, w.onDidCreate(onEvent), w.onDidChange(onEvent), w.onDidDelete(onEvent));
      }
    }
  }
}

function signature(entries: RunEntry[], damaged: DamagedRun[]): string {
  return JSON.stringify([entries.map((e) => [e.dir, e.manifest.status, e.manifest.stage, e.manifest.endedAt, e.manifest.results, e.manifest.error]), damaged]);
}
