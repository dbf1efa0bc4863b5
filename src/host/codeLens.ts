// CodeLens on a config: "▶ Run" / "Stop", "Validate" and the last run's result (a seed group's:
// its mean ± std, opening Compare with its runs) at the top (and
// the last finished result when the last run was cancelled or failed); on a trained teacher, the
// offer to reuse the one an earlier run saved; on each layer-pair term the two layers' shapes (and
// the connector between them), or the error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findNodeAtLocation, type Node } from 'jsonc-parser';
import * as vscode from 'vscode';
import { MODES, modeOf, planModels } from '../core/modes';
import { MODELS, type RunEntry } from '../core/runStore';
import { ConfigAnalyzer } from './configAnalysis';
import { Disposable } from './dispose';
import { describePairs } from './pairLenses';
import { summarizeSeedGroup } from '../core/seedGroups';
import { groupDescription, groupTooltip, planText, progressText, runDescription, runTooltip, shortTime } from './runFormat';
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
    // Progress on the manager's shared tick (with the status bar and the tree); starts and ends at once.
    this._register(manager.onDidChangeJob(({ change }) => change !== 'progress' && this.changed()));
    this._register(manager.onDidTick(() => manager.jobs.some((j) => j.state === 'running') && this._onDidChangeCodeLenses.fire()));
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
    const plan = result.config && planModels(result.config);
    if (vscode.workspace.isTrusted) {
      const trains = plan ? plan.filter((m) => m.trained).map((m) => m.label) : ['the teacher', 'the baseline', 'the student'];
      lens(top, '$(play) Run', 'distillLab.run', [uri], `Train ${trains.join(', ')} (Distill Lab: Run Experiment)`);
      if (active.length) lens(top, '$(debug-stop) Stop', 'distillLab.stop', [uri], 'Stop the run of this experiment');
    }
    const errors = result.problems.filter((p) => p.severity === 'error').length;
    lens(top, errors ? `$(error) ${errors} problem${errors === 1 ? '' : 's'}` : '$(check) Validate', 'distillLab.validate', [uri], 'Check the config (Distill Lab: Validate Experiment)');

    const running = active.find((j) => j.state === 'running');
    const runs = this.runIndex.runsForConfig(uri);
    const last = runs[0];
    const lastDone = runs.find((r) => r.manifest.status === 'done');
    if (running) {
      lens(top, `$(loading~spin) ${running.cancelling ? 'stopping…' : progressText(running.progress) || 'starting…'}`, 'distillLab.showLog', [], 'Show the log');
    } else if (active.length) {
      lens(top, '$(clock) Queued', 'distillLab.showLog');
    } else if (last?.manifest.group) {
      // A seed group: its mean ± std, not just its last seed's run.
      const members = runs.filter((r) => r.manifest.group?.id === last.manifest.group!.id);
      const g = summarizeSeedGroup(members.map((r) => r.manifest));
      lens(top, `Last group ${shortTime(g.startedAt)} (${g.seeds.length} seeds): ${groupDescription(g)}`, 'distillLab.compareRuns', [members.map((r) => r.dir)], groupTooltip(g).replace(/\*\*|`/g, '').replace(/\n\n/g, '\n'));
    } else if (last) {
      lens(top, `Last run ${shortTime(last.manifest.startedAt)}: ${runDescription(last.manifest)}`, 'distillLab.openResults', [last.dir], plainTooltip(last));
    }
    // A cancelled or failed last run does not hide the last result that counts.
    if (lastDone && lastDone !== last) {
      lens(top, `Last result ${shortTime(lastDone.manifest.startedAt)}: ${runDescription(lastDone.manifest)}`, 'distillLab.openResults', [lastDone.dir], plainTooltip(lastDone));
    }
    if (last || running) {
      // The result panels follow this config (its newest run, live while it trains).
      lens(top, '$(symbol-numeric) Logits', 'distillLab.openLogits', [uri], 'Teacher, baseline and student logits of the probe samples');
      lens(top, '$(layers) Feature Maps', 'distillLab.openFeatureMaps', [uri], 'Each layer pair\'s maps and the CKA matrix');
    }
    lens(top, '$(type-hierarchy) Layers', 'distillLab.openModelLayers', [uri], 'Teacher and student layers side by side, with the layer pairs');

    // Over `distillation.mode`: the models that mode trains, in order.
    const mode = result.tree && findNodeAtLocation(result.tree, ['distillation', 'mode']);
    if (mode?.parent && plan && result.config) {
      const line = document.positionAt(mode.parent.offset).line;
      const definition = MODES[modeOf(result.config)];
      lens(
        new vscode.Range(line, 0, line, 0),
        `$(list-ordered) ${planText(plan)}`,
        '',
        [],
        `${definition.title} (${definition.reference}): ${plan.map((m) => `${m.id} = ${m.label}`).join('; ')}`,
      );
    }

    const teacher = result.tree && findNodeAtLocation(result.tree, ['teacher']);
    const reusable = teacher && trainsTeacher(teacher) && runs.find((r) => r.manifest.status === 'done' && hasTeacherModel(r));
    if (teacher?.parent && reusable) {
      const line = document.positionAt(teacher.parent.offset).line;
      lens(
        new vscode.Range(line, 0, line, 0),
        `$(history) Reuse the teacher trained ${shortTime(reusable.manifest.startedAt)}`,
        'distillLab.reuseTeacher',
        [uri, reusable.manifest.id],
        `Skip training the teacher: take the one run ${reusable.manifest.id} saved (teacher.source "run")`,
      );
    }

    for (const pair of describePairs(result, this.analyzer.env, configDir)) {
      const line = document.positionAt(pair.offset).line;
      // The shapes (and connector); clicking shows the pair in the layers view.
      lens(new vscode.Range(line, 0, line, 0), pair.title, 'distillLab.openModelLayers', [uri]);
    }
    return lenses;
  }
}

/** The run's hover as plain text (a CodeLens tooltip is not Markdown). */
function plainTooltip(run: RunEntry): string {
  return runTooltip(run.manifest).replace(/\*\*|`/g, '').replace(/\n\n/g, '\n');
}

const hasTeacherModel = (r: RunEntry) => fs.existsSync(path.join(r.dir, MODELS, 'teacher', 'model.json'));

/** The teacher object says `source: "train"` (or leaves it out: the default). */
function trainsTeacher(node: Node): boolean {
  const source = findNodeAtLocation(node, ['source']);
  return node.type === 'object' && (source === undefined || source.value === 'train');
}
