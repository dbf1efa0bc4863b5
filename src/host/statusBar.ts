// A status-bar item while runs are active: the first run's stage, epoch, step and time left,
// and how many more are running or queued (clicking shows the log). After a run finishes it keeps
// that run's result until the next run starts (clicking opens the results): the finish toast
// hides after a few seconds, the status bar does not.
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { lossText, progressText } from './runFormat';
import type { FinishedRun, RunManager } from './runManager';

export class RunStatusBar extends Disposable {
  private readonly item = this._register(vscode.window.createStatusBarItem('distillLab.runs', vscode.StatusBarAlignment.Left, 10));
  private finished?: FinishedRun;

  constructor(private readonly manager: RunManager) {
    super();
    this.item.name = 'Distill Lab Runs';
    // Progress re-renders on the manager's shared tick; starts and ends at once.
    this._register(manager.onDidTick(() => this.render()));
    this._register(manager.onDidChangeJob(({ change }) => change !== 'progress' && this.render()));
    this._register(
      manager.onDidFinish((f) => {
        this.finished = f;
        this.render();
      }),
    );
    this.render();
  }

  private render(): void {
    if (this.isDisposed) return;
    const jobs = this.manager.jobs.filter((j) => j.state !== 'ended');
    const running = jobs.filter((j) => j.state === 'running');
    if (!jobs.length) {
      this.renderFinished();
      return;
    }
    this.finished = undefined;
    const first = running[0];
    const more = jobs.length - (first ? 1 : 0);
    const head = first ? `${first.name}: ${first.cancelling ? 'stopping…' : progressText(first.progress) || 'starting…'}` : `${jobs.length} queued`;
    this.item.text = `$(loading~spin) ${head}${first && more ? ` (+${more})` : ''}`;
    const tooltip = new vscode.MarkdownString('**Distill Lab runs**\n\n', true);
    for (const j of jobs) {
      const what = j.state === 'queued' ? 'queued' : j.cancelling ? 'stopping…' : [progressText(j.progress), lossText(j.progress)].filter(Boolean).join(' · ') || 'starting…';
      tooltip.appendMarkdown(`- ${escapeMarkdown(j.name)}: ${escapeMarkdown(what)} (${Math.floor(100 * j.fraction())}%)\n`);
    }
    tooltip.appendMarkdown('\nClick to show the log.');
    this.item.tooltip = tooltip;
    this.item.command = { title: 'Show Log', command: 'distillLab.showLog' };
    this.item.show();
  }

  private renderFinished(): void {
    const f = this.finished;
    if (!f) {
      this.item.hide();
      return;
    }
    this.item.text = `$(pass) ${f.job.name}${f.summary ? `: ${f.summary}` : ' finished'}`;
    this.item.tooltip = `Distill Lab: ${f.job.name} finished (${f.outcome.runId ?? ''}). Click to open its results.`;
    this.item.command = { title: 'Open Results', command: 'distillLab.openResults', arguments: [f.outcome.runDir] };
    this.item.show();
  }
}

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
