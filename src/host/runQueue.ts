// Runs jobs in order, at most `concurrency` at a time (training is CPU-bound: on a laptop two
// concurrent runs are each about half as fast). Pure (no vscode): unit tested.
import type * as vscode from 'vscode';
import { Emitter } from './events';
import type { RunJob } from './runJob';

export class RunQueue implements vscode.Disposable {
  private readonly waiting: RunJob[] = [];
  private readonly active = new Set<RunJob>();
  private readonly _onDidChange = new Emitter<void>();
  /** A job was added, started or ended. */
  readonly onDidChange = this._onDidChange.event;

  constructor(
    private concurrency: number,
    /** Starts a job (calls job.start); the queue learns of its end through job.done. */
    private readonly launch: (job: RunJob) => void,
  ) {
    this.concurrency = RunQueue.clamp(concurrency);
  }

  private static clamp(n: number): number {
    return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
  }

  /** Running jobs first, then the waiting ones in order. */
  get jobs(): RunJob[] {
    return [...this.active, ...this.waiting];
  }

  /** How many jobs start before this one (0 = next), or -1 if it is not waiting. */
  position(job: RunJob): number {
    return this.waiting.indexOf(job);
  }

  enqueue(job: RunJob): void {
    this.waiting.push(job);
    void job.done.then(() => {
      this.active.delete(job);
      const i = this.waiting.indexOf(job);
      if (i >= 0) this.waiting.splice(i, 1);
      this.pump();
      this._onDidChange.fire();
    });
    this.pump();
    this._onDidChange.fire();
  }

  setConcurrency(n: number): void {
    this.concurrency = RunQueue.clamp(n);
    this.pump();
  }

  private pump(): void {
    while (this.active.size < this.concurrency && this.waiting.length) {
      const job = this.waiting.shift()!;
      if (job.state !== 'queued') continue; // cancelled while waiting
      this.active.add(job);
      this.launch(job);
    }
  }

  dispose(): void {
    this._onDidChange.dispose();
  }
}
