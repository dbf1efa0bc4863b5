// CodeLens on a config: "▶ Run" / "Stop", "Validate" and the last run's result at the top; on
// each feature (`hint`) term the two layers' shapes and the connector between them, or the error.
import * as vscode from 'vscode';
import { ConfigAnalyzer } from './configAnalysis';
import { Disposable } from './dispose';
import { describeHints } from './hintLenses';
import { progressText, runDescription } from './runFormat';
import type { RunIndex } from './runIndex';
import type { RunManager } from './runManager';
import { throttle } from './throttle';

export class ConfigCodeLensProvider extends Disposable implements vscode.CodeLensProvider {
  private readonly _onDidChangeCodeLenses = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this._onDidChangeCodeLenses.event;
  private readonly changed = this._register(throttle(() => this._onDidChangeCodeLenses.fire(), 500));

  constructor(
    private readonly analyzer: ConfigAnalyzer,
    private readonly runIndex: RunIndex,
    private readonly manager: RunManager,
  ) {
    super();
    this._register(runIndex.onDidChange(() => this.changed()));
    // Layer shapes need the data's facts, which arrive when a scan ends.
    this._register(analyzer.onDidChangeData(() => this.changed()));
    // Steps are too frequent for a lens; stage changes and starts/ends are not.
    this._register(manager.onDidChangeJob(({ change }) => change !== 'progress' && this.changed()));
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed()));
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!ConfigAnalyzer.isConfig(document)) return [];
    const { result, configDir } = this.analyzer.analyze(document);
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses: vscode.CodeLens[] = [];
    const lens = (range: vscode.Range, title: string, command = '', args: unknown[] = [], tooltip?: string) =>
      lenses.push(new vscode.CodeLens(range, { title, command, arguments: args, tooltip }));

    const uri = document.uri;
    const active = this.manager.jobsForConfig(uri.fsPath).filter((j) => j.state !== 'ended');
    if (vscode.workspace.isTrusted) {
      lens(top, '$(play) Run', 'distillLab.run', [uri], 'Train the teacher, the baseline and the student (Distill Lab: Run Experiment)');
      if (active.length) lens(top, '$(debug-stop) Stop', 'distillLab.stop', [uri], 'Stop the run of this experiment');
    }
    const errors = result.problems.filter((p) => p.severity === 'error').length;
    lens(top, errors ? `$(error) ${errors} problem${errors === 1 ? '' : 's'}` : '$(check) Validate', 'distillLab.validate', [uri], 'Check the config (Distill Lab: Validate Experiment)');

    const running = active.find((j) => j.state === 'running');
    const last = this.runIndex.runsForConfig(uri)[0];
    if (running) {
      lens(top, `$(loading~spin) Running: ${progressText(running.progress) || 'starting…'}`, 'distillLab.showLog', [], 'Show the log');
    } else if (active.length) {
      lens(top, '$(clock) Queued', 'distillLab.showLog');
    } else if (last) {
      lens(top, `Last run: ${runDescription(last.manifest)}`, 'distillLab.openLossSplit', [last.dir], `Open the loss split of ${last.manifest.id}`);
    }
    if (last || running) {
      // The result panels follow this config (its newest run, live while it trains).
      lens(top, '$(symbol-numeric) Logits', 'distillLab.openLogits', [uri], 'Teacher, baseline and student logits of the probe samples');
      lens(top, '$(layers) Feature Maps', 'distillLab.openFeatureMaps', [uri], 'Hint pairs\' maps and the CKA matrix');
    }
    lens(top, '$(type-hierarchy) Layers', 'distillLab.openModelLayers', [uri], 'Teacher and student layers side by side, with the hint pairs');

    for (const hint of describeHints(result, this.analyzer.env, configDir)) {
      const line = document.positionAt(hint.offset).line;
      // The shapes and connector; clicking shows the pair in the layers view.
      lens(new vscode.Range(line, 0, line, 0), hint.title, 'distillLab.openModelLayers', [uri]);
    }
    return lenses;
  }
}
