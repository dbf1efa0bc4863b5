// Entry point of the VS Code extension: creates the host pieces and wires them together.
// Cheap by design — no tfjs here; training runs in the trainer child process (dist/trainer.js).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DistillLabApi } from './host/api';
import { ConfigCodeLensProvider } from './host/codeLens';
import { registerExperimentCommands } from './host/commands/experimentCommands';
import { pickRunsToCompare, registerRunCommands } from './host/commands/runCommands';
import { ConfigAnalyzer } from './host/configAnalysis';
import { ConfigQuickFixes, LayerNameCompletions } from './host/configEditing';
import { ConfigDiagnostics } from './host/diagnostics';
import { ExperimentsView, ExperimentTreeProvider } from './host/experimentTree';
import { registerPanels } from './host/panels';
import { RunIndex } from './host/runIndex';
import { RunManager } from './host/runManager';
import { RunProgressNotifications } from './host/runProgress';
import { CONFIG_GLOB } from './host/runsLocation';
import { RunStatusBar } from './host/statusBar';

export function activate(context: vscode.ExtensionContext): DistillLabApi {
  const own = <T extends vscode.Disposable>(d: T): T => (context.subscriptions.push(d), d);

  // The log level is the channel's own (Output view ⚙ / "Developer: Set Log Level…").
  const log = own(vscode.window.createOutputChannel('Distill Lab', { log: true }));
  const analyzer = own(new ConfigAnalyzer());
  const diagnostics = own(new ConfigDiagnostics(analyzer));
  const runIndex = own(new RunIndex());
  const manager = own(
    new RunManager({
      trainerScript: context.asAbsolutePath(path.join('dist', 'trainer.js')),
      cacheDir: path.join(context.globalStorageUri.fsPath, 'datasets'),
      extensionVersion: String(context.extension.packageJSON.version ?? 'dev'),
      log,
      analyzer,
      diagnostics,
      runIndex,
    }),
  );
  own(new RunProgressNotifications(manager));
  own(new RunStatusBar(manager));
  const tree = own(new ExperimentTreeProvider(runIndex, manager));
  own(new ExperimentsView(tree, manager, runIndex));
  const configs = { scheme: 'file', pattern: CONFIG_GLOB };
  own(vscode.languages.registerCodeLensProvider(configs, own(new ConfigCodeLensProvider(analyzer, runIndex, manager))));
  own(vscode.languages.registerCompletionItemProvider(configs, new LayerNameCompletions(analyzer), '"'));
  own(vscode.languages.registerCodeActionsProvider(configs, new ConfigQuickFixes(analyzer), { providedCodeActionKinds: ConfigQuickFixes.kinds }));

  // Result panels (logits, loss split, feature maps, layers, compare): woken by the trainer's
  // messages for runs started here, polling the run folder for runs started elsewhere (the CLI).
  own(
    registerPanels(context, {
      runsDir: () => runIndex.runsDirs()[0],
      log,
      env: analyzer.env,
      onRunMessage: manager.onRunMessage,
      pickRunsToCompare: (preselected) => pickRunsToCompare(runIndex, preselected),
      runs: runIndex,
      onDidChangeData: (l) => analyzer.onDidChangeData(l),
    }),
  );

  const services = { analyzer, diagnostics, runIndex, manager, tree, log };
  for (const d of [...registerExperimentCommands(services), ...registerRunCommands(services)]) own(d);

  log.info(`Distill Lab ${context.extension.packageJSON.version} active; trust: ${vscode.workspace.isTrusted ? 'trusted' : 'restricted (browsing only)'}`);
  return { runs: manager, runIndex, experiments: tree };
}

export function deactivate(): void {
  // Everything is in context.subscriptions: VS Code disposes it, which stops running trainers.
}
