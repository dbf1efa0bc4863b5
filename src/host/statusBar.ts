// A status-bar item while runs are active: the first run's stage, epoch and live loss, and how
// many more are running or queued. Clicking it shows the log.
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { progressText } from './runFormat';
import type { RunManager } from './runManager';
import { throttle } from './throttle';

export class RunStatusBar extends Disposable {
  private readonly item = this._register(vscode.window.createStatusBarItem('distillLab.runs', vscode.StatusBarAlignment.Left, 10));
  private readonly update = this._register(throttle(() => this.render(), 300));

  constructor(private readonly manager: RunManager) {
    super();
    this.item.name = 'Distill Lab Runs';
    this.item.command = { title: 'Show Log', command: 'distillLab.showLog' };
    this._register(manager.onDidChangeJob(() => this.update()));
    this.render();
  }

  private render(): void {
    if (this.isDisposed) return;
    const jobs = this.manager.jobs.filter((j) => j.state !== 'ended');
    const running = jobs.filter((j) => j.state === 'running');
    if (!jobs.length) {
      this.item.hide();
      return;
    }
    const first = running[0];
    const more = jobs.length - (first ? 1 : 0);
    const head = first ? `${first.name}: ${first.cancelling ? 'stopping…' : progressText(first.progress) || 'starting…'}` : `${jobs.length} queued`;
    this.item.text = `$(loading~spin) ${head}${first && more ? ` (+${more})` : ''}`;
    const tooltip = new vscode.MarkdownString('**Distill Lab runs**\n\n', true);
    for (const j of jobs) {
      const what = j.state === 'queued' ? 'queued' : j.cancelling ? 'stopping…' : progressText(j.progress) || 'starting…';
      tooltip.appendMarkdown(`- ${escapeMarkdown(j.name)}: ${escapeMarkdown(what)} (${Math.floor(100 * j.fraction())}%)\n`);
    }
    tooltip.appendMarkdown('\nClick to show the log.');
    this.item.tooltip = tooltip;
    this.item.show();
  }
}

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
