// What the command handlers work with; created once in extension.ts.
import type * as vscode from 'vscode';
import type { ConfigAnalyzer } from '../configAnalysis';
import type { ConfigDiagnostics } from '../diagnostics';
import type { ExperimentTreeProvider } from '../experimentTree';
import type { RunIndex } from '../runIndex';
import type { RunManager } from '../runManager';

export interface Services {
  analyzer: ConfigAnalyzer;
  diagnostics: ConfigDiagnostics;
  runIndex: RunIndex;
  manager: RunManager;
  tree: ExperimentTreeProvider;
  log: vscode.LogOutputChannel;
}
