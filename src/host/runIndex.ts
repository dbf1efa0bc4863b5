// The runs on disk, for the tree and the CodeLens: each runs folder listed once and cached,
// re-read (debounced) when a manifest is created, rewritten or deleted — by this extension's
// runs, the CLI, or another window.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns, MANIFEST, type RunEntry } from '../core/runStore';
import { Disposable, disposeAll } from './dispose';
import { isInside, samePath } from './runsLocation';
import { affectsSettings, runsDirForConfig, runsDirForFolder } from './settings';

const REFRESH_DEBOUNCE_MS = 150;
const POLL_MS = 2000;

export class RunIndex extends Disposable {
  private readonly runsByDir = new Map<string, { entries: RunEntry[]; signature: string }>();
  /** Runs folders of configs outside every workspace folder, learnt when they are run. */
  private readonly extraDirs = new Set<string>();
  private watchers: vscode.Disposable[] = [];
  private timer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private pollWanted = false;
  private stamps = new Map<string, string>();
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
        clearInterval(this.pollTimer);
        disposeAll(this.watchers);
      },
    });
    this.watch();
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
      const entries = listRuns(key);
      cached = { entries, signature: signature(entries) };
      this.runsByDir.set(key, cached);
    }
    return cached.entries;
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

  /**
   * File watchers miss events on some systems (on Linux, inside folders created in one go, as a
   * run folder is), so while someone looks at the runs (the view is visible) or a run is in
   * progress, a cheap check — folder names and manifest times — runs every 2 s as well.
   */
  setPolling(wanted: boolean): void {
    this.pollWanted = wanted;
    // Shown again: show what happened while hidden.
    if (wanted) this.scheduleRefresh();
    this.updatePolling();
  }

  private updatePolling(): void {
    const running = [...this.runsByDir.values()].some((c) => c.entries.some((e) => e.manifest.status === 'running'));
    const on = !this.isDisposed && (this.pollWanted || running);
    if (on && !this.pollTimer) this.pollTimer = setInterval(() => this.poll(), POLL_MS);
    else if (!on && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private poll(): void {
    let changed = false;
    for (const dir of this.runsDirs().map((d) => path.resolve(d))) {
      const stamp = folderStamp(dir);
      if (this.stamps.get(dir) !== stamp) changed = true;
      this.stamps.set(dir, stamp);
    }
    if (changed) this.refresh();
  }

  /** Re-reads every runs folder now; fires onDidChange if anything differs. */
  refresh(): void {
    clearTimeout(this.timer);
    let changed = false;
    const dirs = this.runsDirs().map((d) => path.resolve(d));
    for (const key of [...this.runsByDir.keys()]) {
      if (!dirs.includes(key)) {
        this.runsByDir.delete(key);
        changed = true;
      }
    }
    for (const dir of dirs) {
      const entries = listRuns(dir);
      const sig = signature(entries);
      if (this.runsByDir.get(dir)?.signature !== sig) changed = true;
      this.runsByDir.set(dir, { entries, signature: sig });
    }
    this.updatePolling();
    if (changed) this._onDidChange.fire();
  }

  scheduleRefresh(): void {
    if (this.isDisposed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  private reset(): void {
    this.watch();
    this.refresh();
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
      // folders leading to it: when `.distill/runs/<id>/` is created in one go, Linux watchers
      // may report only its topmost new folder.
      const segments = rel ? rel.split('/') : [];
      const globs = [rel ? `${rel}/**` : '**', ...segments.map((_, i) => segments.slice(0, i + 1).join('/'))];
      for (const glob of globs) {
        const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, glob));
        const onEvent = () => this.scheduleRefresh();
        this.watchers.push(w, w.onDidCreate(onEvent), w.onDidChange(onEvent), w.onDidDelete(onEvent));
      }
    }
  }
}

/** Run folder names and their manifests' modification times: changes whenever a run does. */
function folderStamp(dir: string): string {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return '';
  }
  return names
    .map((n) => {
      try {
        return `${n}:${fs.statSync(path.join(dir, n, MANIFEST)).mtimeMs}`;
      } catch {
        return n;
      }
    })
    .join('|');
}

function signature(entries: RunEntry[]): string {
  return JSON.stringify(entries.map((e) => [e.dir, e.manifest.status, e.manifest.stage, e.manifest.endedAt, e.manifest.results, e.manifest.error]));
}
