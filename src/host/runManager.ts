// Starts, queues and stops training runs. Every run is validated first (an invalid config shows
// its problems and nothing starts), then queued (`distillLab.concurrency` at a time) and run in
// the trainer child process through core's startTrainer — fork, IPC, cancel-then-kill — exactly
// as the CLI does. The extension host itself never trains.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Problem } from '../core/config/parse';
import type { Manifest, TrainerToHost } from '../core/protocol';
import { MODELS, readManifest, summarizeResults } from '../core/runStore';
import { summarizeGroupLine, summarizeSeedGroup } from '../core/seedGroups';
import type { ConfigAnalyzer } from './configAnalysis';
import type { ConfigDiagnostics } from './diagnostics';
import { Disposable } from './dispose';
import { notify } from './notify';
import { firstLine, groupDescription, shortResults } from './runFormat';
import { throttle } from './throttle';
import { type JobChange, type JobOutcome, planStages, RunJob, type StartTrainer } from './runJob';
import type { RunIndex } from './runIndex';
import { RunQueue } from './runQueue';
import { samePath } from './runsLocation';
import { affectsSettings, readSettings, runsDirForConfig } from './settings';

export interface RunManagerOptions {
  /** The extension's dist/trainer.js. */
  trainerScript: string;
  /** Where the trainer caches converted built-in datasets (the extension's global storage). */
  cacheDir: string;
  extensionVersion: string;
  log: vscode.LogOutputChannel;
  analyzer: ConfigAnalyzer;
  diagnostics: ConfigDiagnostics;
  runIndex: RunIndex;
  /** Replaced in tests. */
  startTrainer?: StartTrainer;
}

export interface JobEvent {
  job: RunJob;
  change: JobChange | 'queued';
}

/** A trainer message of a run that has its folder (the result panels' live wake-up). */
export interface RunMessageEvent {
  runDir: string;
  message: TrainerToHost;
}

export interface FinishedRun {
  job: RunJob;
  outcome: JobOutcome;
  /** Its short result ("S 3.1 · B 3.9 · T 2.5 % err"). */
  summary: string;
}

/** How often the live views re-render (each trainer step message does not need a repaint). */
const TICK_MS = 500;

export class RunManager extends Disposable {
  private readonly queue: RunQueue;
  private readonly _onDidChangeJob = this._register(new vscode.EventEmitter<JobEvent>());
  /** A job was queued, started, progressed, got its run folder, or ended. */
  readonly onDidChangeJob = this._onDidChangeJob.event;
  private readonly _onRunMessage = this._register(new vscode.EventEmitter<RunMessageEvent>());
  readonly onRunMessage = this._onRunMessage.event;
  private readonly _onDidTick = this._register(new vscode.EventEmitter<void>());
  /**
   * The one heartbeat of live progress: the notification, the status bar, the CodeLens and the
   * tree all re-render on it, from the same job snapshots, so their counters agree.
   */
  readonly onDidTick = this._onDidTick.event;
  private readonly tick = this._register(throttle(() => this._onDidTick.fire(), TICK_MS));

  private readonly _onDidFinish = this._register(new vscode.EventEmitter<FinishedRun>());
  /** A run finished (done) in this window. */
  readonly onDidFinish = this._onDidFinish.event;

  constructor(private readonly opts: RunManagerOptions) {
    super();
    this.queue = this._register(new RunQueue(readSettings().concurrency, (job) => this.launch(job)));
    this._register(this.queue.onDidChange(() => this.jobs.forEach((job) => job.state === 'queued' && this._onDidChangeJob.fire({ job, change: 'queued' }))));
    this._register(vscode.workspace.onDidChangeConfiguration((e) => affectsSettings(e, 'concurrency') && this.queue.setConcurrency(readSettings().concurrency)));
    this._register({ dispose: () => this.jobs.forEach((job) => job.cancel(1000)) });
  }

  /** Running jobs, then queued ones in order. */
  get jobs(): RunJob[] {
    return this.queue.jobs;
  }

  jobsForConfig(configPath: string): RunJob[] {
    return this.jobs.filter((j) => samePath(j.configPath, configPath));
  }

  jobForRun(runDir: string): RunJob | undefined {
    return this.jobs.find((j) => j.runDir !== undefined && samePath(j.runDir, runDir));
  }

  /** How many queued jobs start before this one. */
  queuePosition(job: RunJob): number {
    return this.queue.position(job);
  }

  /**
   * Validates the config and queues a run. Resolves when the run has ended, or with undefined
   * when nothing was started (untrusted workspace, unreadable or invalid config).
   */
  async run(configUri: vscode.Uri): Promise<JobOutcome | undefined> {
    if (!vscode.workspace.isTrusted) {
      notify('warning', 'Distill Lab does not train in an untrusted workspace: results can be browsed, but nothing runs.', {
        'Manage Workspace Trust': () => vscode.commands.executeCommand('workbench.trust.manage'),
      });
      return undefined;
    }
    const name = path.basename(configUri.fsPath);
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === configUri.toString());
    // The trainer reads the file from disk: run what the user sees.
    if (document?.isDirty && !(await document.save())) {
      void vscode.window.showErrorMessage(`Distill Lab: ${name} could not be saved, so it was not run.`);
      return undefined;
    }
    const analysis = document ? this.opts.analyzer.analyze(document) : this.opts.analyzer.analyzeFile(configUri.fsPath);
    if (!analysis) {
      void vscode.window.showErrorMessage(`Distill Lab: cannot read ${configUri.fsPath}.`);
      return undefined;
    }
    const { config, problems } = analysis.result;
    if (!config) {
      await this.showProblems(configUri, problems);
      return undefined;
    }

    const job = new RunJob(configUri.fsPath, config.name, planStages(config), this.opts.startTrainer);
    job.onDidChange((change) => {
      // The trainer rewrites the manifest when the run starts and at each stage.
      if (change === 'run' || change === 'stage') this.opts.runIndex.scheduleRefresh();
      this._onDidChangeJob.fire({ job, change });
      this.tick();
    });
    job.onDidMessage((message) => job.runDir && this._onRunMessage.fire({ runDir: job.runDir, message }));
    this.opts.log.info(`[${job.name}] queued ${configUri.fsPath}`);
    // Announced before it is queued: with a free slot it starts at once, inside enqueue().
    this._onDidChangeJob.fire({ job, change: 'queued' });
    this.queue.enqueue(job);
    const outcome = await job.done;
    this.report(job, outcome);
    return outcome;
  }

  /** Stops a job: a queued one is dropped, a running one stops within 2 s (killed if need be). */
  cancel(job: RunJob): void {
    if (job.state === 'ended') return;
    this.opts.log.info(`[${job.name}] ${job.state === 'queued' ? 'removed from the queue' : 'stopping…'}`);
    job.cancel();
  }

  private launch(job: RunJob): void {
    const configUri = vscode.Uri.file(job.configPath);
    const settings = readSettings(configUri);
    const runsDir = runsDirForConfig(configUri);
    this.opts.runIndex.addRunsDir(runsDir);
    const log = this.opts.log;
    log.info(`[${job.name}] starting: backend ${settings.backend}, runs folder ${runsDir}`);
    let partial = '';
    job.start({
      request: { type: 'start', configPath: job.configPath, runsDir, backend: settings.backend, probeSamples: settings.probeSamples, cacheDir: this.opts.cacheDir },
      trainerScript: this.opts.trainerScript,
      env: { DISTILL_LAB_VERSION: this.opts.extensionVersion },
      onLog: (level, message) => log[level](`[${job.name}] ${message}`),
      onStderr: (text) => {
        // Chunks are not lines: keep a partial last line for the next chunk.
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) log.warn(`[${job.name}] ${line}`);
      },
    });
  }

  private report(job: RunJob, outcome: JobOutcome): void {
    const log = this.opts.log;
    void this.opts.runIndex.refresh();
    switch (outcome.status) {
      case 'done': {
        if (outcome.groupRunDirs) {
          this.reportGroup(job, outcome, outcome.groupRunDirs);
          break;
        }
        // Its own manifest, now: the index re-reads asynchronously.
        const m = outcome.runDir ? readManifest(outcome.runDir) : undefined;
        const summary = m ? summarizeResults(m) : '';
        log.info(`[${job.name}] finished${summary ? `: ${summary}` : ''} (${outcome.runDir ?? ''})`);
        // A run that saved a trained teacher offers to reuse it: the next runs skip the teacher's epochs
        // (an ensemble's members, online peers and born-again generations save no `teacher` model).
        const trainedTeacher = Boolean(outcome.runDir) && job.plan.some((s) => s.stage === 'teacher') && fs.existsSync(path.join(outcome.runDir!, MODELS, 'teacher', 'model.json'));
        notify('info', `Distill Lab: ${job.name} finished${summary ? ` — ${summary}` : ''}.`, {
          'Open Results': () => vscode.commands.executeCommand('distillLab.openResults', outcome.runDir),
          ...(trainedTeacher && outcome.runId
            ? { 'Reuse Its Teacher': () => vscode.commands.executeCommand('distillLab.reuseTeacher', vscode.Uri.file(job.configPath), outcome.runId) }
            : {}),
        });
        // The toast hides after a few seconds; the status bar keeps the result until the next run.
        this._onDidFinish.fire({ job, outcome, summary: m ? shortResults(m) : '' });
        break;
      }
      case 'cancelled':
        log.info(`[${job.name}] cancelled${outcome.runDir ? `; what was recorded is in ${outcome.runDir}` : ''}`);
        vscode.window.setStatusBarMessage(`Distill Lab: ${job.name} cancelled`, 4000);
        break;
      case 'failed': {
        const error = outcome.error ?? 'the run failed';
        log.error(`[${job.name}] failed: ${error}`);
        notify('error', `Distill Lab: ${job.name} failed: ${firstLine(error)}`, { 'Show Log': () => log.show(true) });
        break;
      }
      case 'running':
        break;
    }
  }

  /** A seed group that finished: its mean ± std over the seeds, and Compare with its runs. */
  private reportGroup(job: RunJob, outcome: JobOutcome, runDirs: string[]): void {
    const g = summarizeSeedGroup(runDirs.map((d) => readManifest(d)).filter((m): m is Manifest => m !== undefined));
    const summary = summarizeGroupLine(g);
    this.opts.log.info(`[${job.name}] finished ${g.seeds.length} seeds: ${summary}`);
    notify('info', `Distill Lab: ${job.name} finished ${g.seeds.length} seeds — ${summary}.`, {
      'Compare Seeds': () => vscode.commands.executeCommand('distillLab.compareRuns', runDirs),
      'Open Results': () => vscode.commands.executeCommand('distillLab.openResults', outcome.runDir),
    });
    this._onDidFinish.fire({ job, outcome, summary: groupDescription(g) });
  }

  private async showProblems(configUri: vscode.Uri, problems: Problem[]): Promise<void> {
    const errors = problems.filter((p) => p.severity === 'error');
    const name = path.basename(configUri.fsPath);
    // Diagnostics exist for open documents only: open it so its problems are in the Problems panel.
    const document = await vscode.workspace.openTextDocument(configUri);
    await vscode.window.showTextDocument(document, { preview: false });
    this.opts.diagnostics.validateNow(document);
    const first = errors[0];
    const where = first ? ` Line ${first.range.start.line + 1}: ${first.message}` : '';
    notify('error', `Distill Lab: ${name} has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was started.${where}`, {
      'Show Problems': () => vscode.commands.executeCommand('workbench.actions.view.problems'),
    });
  }
}
