// One requested run, from the queue to its end: wraps the trainer process (core's startTrainer,
// the same one the CLI uses) and keeps the live state the views show. Pure (no vscode): unit
// tested with a fake trainer script.
import type { DistillConfig } from '../core/config/schema';
import type { Backend, RunGroup, RunModel, RunResults, RunStatus, StageName, StartRequest, TrainerToHost } from '../core/protocol';
import { planModels, trainingStages } from '../core/modes';
import { startTrainer, type TrainerHandle, type TrainerOptions } from '../core/trainerClient';
import { Emitter } from './events';
import type { LiveProgress } from './runFormat';

export type JobState = 'queued' | 'running' | 'ended';

/** What changed: `state` (queued → running → ended, or a cancel request), `run` (the run folder
 * exists), `stage`, `progress` (a step; frequent). */
export type JobChange = 'state' | 'run' | 'stage' | 'progress';

export interface PlannedStage {
  stage: StageName;
  epochs: number;
}

export interface JobOutcome {
  status: RunStatus;
  runId?: string;
  runDir?: string;
  error?: string;
  results: RunResults;
  /** A seed group: its run folders, in seed order (`runDir` is the last one's). */
  groupRunDirs?: string[];
}

export interface JobLaunch {
  request: StartRequest;
  trainerScript: string;
  env?: NodeJS.ProcessEnv;
  onLog?(level: 'info' | 'warn' | 'error', message: string): void;
  onStderr?(text: string): void;
}

export type StartTrainer = (request: StartRequest, opts: TrainerOptions) => TrainerHandle;

let nextSeq = 1;

export class RunJob {
  /** Unique within this extension host; identifies a job before it has a run folder. */
  readonly seq = nextSeq++;
  state: JobState = 'queued';
  /** The run in progress (a seed group: the current seed's). */
  runId?: string;
  runDir?: string;
  /** A seed group: the current run's place in it (one job runs all its seeds, one after another). */
  group?: RunGroup;
  /** A seed group: its run folders so far, in seed order. */
  readonly groupRunDirs: string[] = [];
  backend?: Backend;
  progress: LiveProgress = {};
  /** The run's models, once the trainer has sent its plan. */
  models?: RunModel[];
  outcome?: JobOutcome;
  private handle?: TrainerHandle;
  private cancelRequested = false;
  private readonly _onDidChange = new Emitter<JobChange>();
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidMessage = new Emitter<TrainerToHost>();
  /** Every message from the trainer (metrics and probes too), after the job has taken it in. */
  readonly onDidMessage = this._onDidMessage.event;
  /** When the current stage started, for the time estimate. */
  private stageStartedAt = 0;
  /** A seed group: when its first and its current run started, for the time estimate of the seeds to come. */
  private groupStartedAt = 0;
  private runStartedAt = 0;
  private resolveDone!: (o: JobOutcome) => void;
  /** Resolves when the run has ended (never rejects). */
  readonly done = new Promise<JobOutcome>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly configPath: string,
    readonly name: string,
    /** The stages the config will train, for the overall progress fraction (the trainer's plan replaces it when it comes). */
    public plan: PlannedStage[],
    private readonly startTrainerFn: StartTrainer = startTrainer,
    private readonly now: () => number = Date.now,
  ) {}

  /** True between a cancel request and the trainer's end. */
  get cancelling(): boolean {
    return this.cancelRequested && this.state === 'running';
  }

  start(launch: JobLaunch): void {
    if (this.state !== 'queued') return;
    this.state = 'running';
    this.fire('state');
    try {
      this.handle = this.startTrainerFn(launch.request, {
        trainerScript: launch.trainerScript,
        env: launch.env,
        onStderr: launch.onStderr,
        onMessage: (m) => this.onMessage(m, launch),
      });
    } catch (e) {
      this.finish({ status: 'failed', error: `cannot start the trainer: ${e instanceof Error ? e.message : String(e)}`, results: {} });
      return;
    }
    this.handle.done.then(
      (d) =>
        this.finish({
          status: d.status,
          runId: d.runId || this.runId,
          runDir: this.runDir,
          error: d.error,
          results: d.results,
          ...(this.group ? { groupRunDirs: [...this.groupRunDirs] } : {}),
        }),
      (e: unknown) => this.finish({ status: 'failed', runId: this.runId, runDir: this.runDir, error: String(e), results: {} }),
    );
  }

  /** A queued job ends at once; a running one is asked to stop and killed after `graceMs`. */
  cancel(graceMs?: number): void {
    if (this.state === 'ended' || this.cancelRequested) return;
    this.cancelRequested = true;
    if (this.state === 'queued') {
      this.finish({ status: 'cancelled', results: {} });
      return;
    }
    this.handle?.cancel(graceMs);
    this.fire('state');
  }

  /** Overall progress over all planned stages (a seed group: of all its seeds' runs), 0…1. */
  fraction(): number {
    const total = this.plan.reduce((a, s) => a + s.epochs, 0);
    const p = this.progress;
    const index = this.plan.findIndex((s) => s.stage === p.stage);
    const seeds = this.group ? { done: this.group.index, count: this.group.seeds.length } : { done: 0, count: 1 };
    if (!total || index < 0) return this.state === 'ended' ? 1 : seeds.done / seeds.count;
    const before = this.plan.slice(0, index).reduce((a, s) => a + s.epochs, 0);
    const epochs = p.epochs ?? this.plan[index].epochs;
    const within = p.epoch !== undefined ? p.epoch - 1 + (p.steps ? (p.step ?? 0) / p.steps : 0) : 0;
    const scaled = (within / Math.max(1, epochs)) * this.plan[index].epochs;
    const run = Math.min(1, Math.max(0, (before + scaled) / total));
    return (seeds.done + run) / seeds.count;
  }

  /**
   * Time left for the whole run, from the current stage's pace: its remaining steps, plus the
   * stages still to come at the same pace and steps per epoch (an estimate: a smaller student
   * trains faster than the teacher, so it errs long). Undefined until a few seconds of steps.
   */
  private eta(p: LiveProgress): number | undefined {
    if (!p.stage || !p.steps || p.epoch === undefined || p.epochs === undefined) return undefined;
    const done = (p.epoch - 1) * p.steps + (p.step ?? 0);
    const elapsed = this.now() - this.stageStartedAt;
    if (!this.stageStartedAt || done < 3 || elapsed < 2000) return undefined;
    const perStep = elapsed / done;
    const index = this.plan.findIndex((s) => s.stage === p.stage);
    const later = index < 0 ? 0 : this.plan.slice(index + 1).reduce((a, s) => a + s.epochs, 0);
    const left = perStep * (p.epochs * p.steps - done + later * p.steps);
    if (!this.group) return left;
    // The seeds still to come, each as long as the runs so far took (the first: this one's estimate).
    const seedsLeft = this.group.seeds.length - this.group.index - 1;
    const perRun = this.group.index > 0 ? (this.runStartedAt - this.groupStartedAt) / this.group.index : this.now() - this.runStartedAt + left;
    return left + seedsLeft * perRun;
  }

  private onMessage(m: TrainerToHost, launch: JobLaunch): void {
    switch (m.type) {
      case 'ready':
        this.backend = m.backend;
        break;
      case 'runCreated':
        this.runId = m.runId;
        this.runDir = m.runDir;
        this.runStartedAt = this.now();
        if (m.group) {
          if (!this.group) this.groupStartedAt = this.runStartedAt;
          this.group = m.group;
          this.groupRunDirs.push(m.runDir);
          this.progress = { seed: this.seedProgress() };
        }
        this.fire('run');
        break;
      case 'plan':
        // The trainer's own plan is the one it follows (the host's came from the config as it was validated).
        this.models = m.models;
        this.plan = stagesOf(m.models);
        break;
      case 'stage':
        this.stageStartedAt = this.now();
        this.progress = { stage: m.stage, epoch: 0, epochs: m.epochs, step: 0, steps: m.stepsPerEpoch, seed: this.seedProgress() };
        this.fire('stage');
        break;
      case 'progress': {
        const progress: LiveProgress = { stage: m.stage, epoch: m.epoch, epochs: m.epochs, step: m.step, steps: m.steps, loss: m.loss, seed: this.seedProgress() };
        progress.etaMs = this.eta(progress);
        this.progress = progress;
        this.fire('progress');
        break;
      }
      case 'log':
        launch.onLog?.(m.level, m.message);
        break;
      default:
        break;
    }
    this._onDidMessage.fire(m);
  }

  private seedProgress(): LiveProgress['seed'] {
    return this.group && { index: this.group.index, count: this.group.seeds.length };
  }

  private finish(outcome: JobOutcome): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.outcome = outcome;
    this.runId ??= outcome.runId;
    this.fire('state');
    this._onDidChange.dispose();
    this._onDidMessage.dispose();
    this.resolveDone(outcome);
  }

  private fire(change: JobChange): void {
    this._onDidChange.fire(change);
  }
}

/** The stages a valid config trains, in order (its mode's plan: e.g. the teacher unless loaded, the baseline if asked for, the student). */
export function planStages(config: DistillConfig): PlannedStage[] {
  return stagesOf(planModels(config));
}

const stagesOf = (models: RunModel[]): PlannedStage[] => trainingStages(models).map(({ stage, epochs }) => ({ stage, epochs }));
