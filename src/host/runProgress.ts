// One cancellable progress notification per run: queue position, stage, epoch, step and time left, and a
// bar over all of the run's planned epochs. Cancelling it stops the run.
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { progressText } from './runFormat';
import type { RunJob } from './runJob';
import type { RunManager } from './runManager';

export class RunProgressNotifications extends Disposable {
  constructor(private readonly manager: RunManager) {
    super();
    this._register(manager.onDidChangeJob((e) => e.change === 'queued' && e.job.state !== 'ended' && this.show(e.job)));
  }

  private readonly shown = new Set<RunJob>();

  private show(job: RunJob): void {
    if (this.shown.has(job)) return;
    this.shown.add(job);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Distill Lab: ${job.name}`, cancellable: true },
      (progress, token) => {
        let reported = 0;
        const update = () => {
          const position = this.manager.queuePosition(job);
          const message =
            job.state === 'queued'
              ? position > 0
                ? `queued behind ${position} run${position === 1 ? '' : 's'}`
                : 'queued'
              : job.cancelling
                ? 'stopping…'
                : progressText(job.progress) || 'starting…';
          const percent = Math.floor(100 * job.fraction());
          progress.report({ message, increment: Math.max(0, percent - reported) });
          reported = Math.max(reported, percent);
        };
        // The manager's shared tick (the status bar, the tree and the CodeLens render on it too).
        const listener = this.manager.onDidTick(update);
        const cancel = token.onCancellationRequested(() => this.manager.cancel(job));
        update();
        return job.done.finally(() => {
          listener.dispose();
          cancel.dispose();
          this.shown.delete(job);
        });
      },
    );
  }
}
