// The validator's problems in the Problems panel: exact ranges, updated as the user types
// (debounced), cleared when the config's last editor tab closes. JSON syntax errors are left to
// VS Code's JSON language service, which reports them itself.
//
// "Open" means open in a tab: a TextDocument outlives its editor (VS Code keeps documents an
// extension opened for minutes), so onDidCloseTextDocument alone would leave stale problems.
import * as vscode from 'vscode';
import type { Problem } from '../core/config/parse';
import { ConfigAnalyzer } from './configAnalysis';
import { Disposable } from './dispose';

export const DIAGNOSTIC_SOURCE = 'distill';
const DEBOUNCE_MS = 300;

export function toDiagnostic(p: Problem): vscode.Diagnostic {
  const range = new vscode.Range(p.range.start.line, p.range.start.col, p.range.end.line, p.range.end.col);
  const severity = p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning;
  const d = new vscode.Diagnostic(range, p.message, severity);
  d.source = DIAGNOSTIC_SOURCE;
  d.code = p.code;
  return d;
}

export class ConfigDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection(DIAGNOSTIC_SOURCE));
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly analyzer: ConfigAnalyzer) {
    super();
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.validateNow(d)));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)));
    this._register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.cancelTimer(d);
        this.collection.delete(d.uri);
        this.analyzer.invalidate(d);
      }),
    );
    this._register(
      vscode.window.tabGroups.onDidChangeTabs((e) => {
        for (const tab of e.closed) {
          const uri = tabUri(tab);
          if (uri && !isInTab(uri)) this.collection.delete(uri);
        }
        for (const tab of e.opened) {
          const uri = tabUri(tab);
          const document = uri && vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
          if (document) this.validateNow(document);
        }
      }),
    );
    // A data file or a teacher's model.json appearing or disappearing changes the problems of
    // configs whose text did not change.
    this._register(vscode.workspace.onDidCreateFiles(() => this.revalidateOpen()));
    this._register(vscode.workspace.onDidDeleteFiles(() => this.revalidateOpen()));
    this._register(vscode.workspace.onDidRenameFiles(() => this.revalidateOpen()));
    // A data scan ended: its facts (or its error) change the problems of the configs using it.
    this._register(analyzer.onDidChangeData(() => this.revalidateOpen()));
    this._register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
    for (const d of vscode.workspace.textDocuments) this.validateNow(d);
  }

  /** Validates now and returns all problems (including syntax errors, which are not shown). */
  validateNow(document: vscode.TextDocument): Problem[] {
    if (!ConfigAnalyzer.isConfig(document) || this.isDisposed) return [];
    this.cancelTimer(document);
    const { problems } = this.analyzer.analyze(document).result;
    if (isInTab(document.uri)) this.collection.set(document.uri, problems.filter((p) => p.code !== 'json-syntax').map(toDiagnostic));
    else this.collection.delete(document.uri);
    return problems;
  }

  revalidateOpen(): void {
    this.analyzer.invalidate();
    for (const d of vscode.workspace.textDocuments) this.validateNow(d);
  }

  private schedule(document: vscode.TextDocument): void {
    if (!ConfigAnalyzer.isConfig(document)) return;
    this.cancelTimer(document);
    const key = document.uri.toString();
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!document.isClosed) this.validateNow(document);
      }, DEBOUNCE_MS),
    );
  }

  private cancelTimer(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }
}

function tabUri(tab: vscode.Tab): vscode.Uri | undefined {
  if (tab.input instanceof vscode.TabInputText) return tab.input.uri;
  if (tab.input instanceof vscode.TabInputTextDiff) return tab.input.modified;
  return undefined;
}

function isInTab(uri: vscode.Uri): boolean {
  const key = uri.toString();
  return vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => tabUri(t)?.toString() === key));
}
