// Writes one run's folder as the trainer goes (docs/architecture.md §3) and mirrors each record to the host:
// the manifest (atomically), metrics (step records buffered and appended at most ~10 times a
// second, each append followed by a live message, so a message always points at data on disk),
// probes and the log. Every write first checks that the run folder is still the one it created:
// a folder deleted or moved away mid-run is never re-created as a stub beside the real one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processIdentity } from '../core/processIdentity';
import type { Manifest, MetricRecord, ProbeRecord, RunStatus, StageName, TestPredictions, TrainerToHost } from '../core/protocol';
import {
  appendMetrics,
  describeWriteError,
  LOG,
  MANIFEST,
  METRICS,
  MODELS,
  PROBES,
  probeFileName,
  removeStaleTempFiles,
  TEST_PREDICTIONS,
  writeFinalManifest,
  writeJsonAtomic,
} from '../core/runStore';

/** Step records are appended and announced at most this often; every step still goes to metrics.jsonl. */
const STEP_FLUSH_MS = 100;

export interface RecorderIO {
  emit(message: TrainerToHost): void;
}

/** A write to the run folder failed; the message is one plain line ("disk full … writing metrics.jsonl"). */
export class RunWriteError extends Error {}

export class RunRecorder {
  readonly manifest: Manifest & { pid: number };
  private pendingSteps: MetricRecord[] = [];
  private lastStepFlush = 0;
  /** Whether the step being recorded is sent live (decided by its leading record). */
  private sendingStep = false;
  private readonly logFd: number;
  /** The run folder's inode: tells the folder this run made from one re-created or moved in its place. */
  private readonly folderIno: number;
  /** What test-predictions.json holds: the models recorded so far (the file is rewritten whole). */
  private predictions?: TestPredictions;

  constructor(
    readonly dir: string,
    manifest: Manifest,
    private readonly io: RecorderIO,
  ) {
    const me = processIdentity();
    this.manifest = { ...manifest, pid: me.pid, pidStartTime: me.startTime, bootId: me.bootId };
    this.folderIno = fs.statSync(dir).ino;
    this.logFd = fs.openSync(path.join(dir, LOG), 'a');
    this.saveManifest();
  }

  /** Throws unless the run folder is still the one this run created. */
  private checkFolder(): void {
    let ino: number | undefined;
    try {
      ino = fs.statSync(this.dir).ino;
    } catch {
      /* gone */
    }
    if (ino !== this.folderIno) throw new RunWriteError(`the run folder ${this.dir} was deleted or moved while the run was going; nothing more is recorded`);
  }

  /** Runs one write to the run folder; any failure becomes a RunWriteError with a plain message. */
  private write(file: string, fn: () => void): void {
    this.checkFolder();
    try {
      fn();
    } catch (e) {
      this.checkFolder(); // the folder went away during the write: say that, not ENOENT
      throw new RunWriteError(describeWriteError(e, file));
    }
  }

  /** Saves a model into the run folder (`models/<stage>`) through `save`, as write() does. */
  async saveModel(name: string, save: (dir: string) => Promise<unknown>): Promise<void> {
    this.checkFolder();
    try {
      await save(path.join(this.dir, MODELS, name));
    } catch (e) {
      this.checkFolder();
      throw new RunWriteError(describeWriteError(e, path.join(MODELS, name)));
    }
  }

  saveManifest(): void {
    this.write(MANIFEST, () => writeJsonAtomic(path.join(this.dir, MANIFEST), this.manifest));
  }

  /** Best effort: a log line that cannot be written (disk full) must not end the run; the next record will. */
  log(level: 'info' | 'warn' | 'error', message: string, detail?: string): void {
    try {
      fs.writeSync(this.logFd, `${new Date().toISOString()} ${level.toUpperCase()} ${detail ?? message}\n`);
    } catch {
      /* reported by the next write that matters */
    }
    this.io.emit({ type: 'log', level, message });
  }

  /**
   * Records a step; `progressStage` (the stage's name) also reports progress — once per step of a
   * stage that trains several models.
   */
  step(record: Extract<MetricRecord, { kind: 'step' }>, steps: number, epochs: number, progressStage: string | undefined = record.stage): void {
    this.pendingSteps.push(record);
    const lead = progressStage !== undefined;
    // The step's leading record decides whether it is sent live; the same step's other records follow it.
    if (lead) {
      const now = performance.now();
      this.sendingStep = now - this.lastStepFlush >= STEP_FLUSH_MS || record.step === steps;
      if (this.sendingStep) this.lastStepFlush = now;
    }
    if (!this.sendingStep) return;
    this.flush();
    this.io.emit({ type: 'metrics', record });
    if (lead) this.io.emit({ type: 'progress', stage: progressStage, epoch: record.epoch, epochs, step: record.step, steps, loss: record.total });
  }

  epoch(record: MetricRecord): void {
    this.flush();
    this.write(METRICS, () => appendMetrics(this.dir, [record]));
    this.io.emit({ type: 'metrics', record });
  }

  probe(record: ProbeRecord): void {
    const name = path.join(PROBES, probeFileName(record.stage, record.epoch));
    // Compact: indentation tripled a probe file's size (maps are long number arrays).
    this.write(name, () => writeJsonAtomic(path.join(this.dir, name), record, true));
    this.io.emit({ type: 'probe', record });
  }

  /**
   * Records a finished model's predicted class per test example in test-predictions.json, beside
   * the test labels, and rewrites the file (atomically, compact: it is long arrays of small ints).
   */
  testPredictions(id: StageName, test: { labels: ArrayLike<number>; classes: number }, predicted: ArrayLike<number>): void {
    this.predictions ??= { labels: Array.from(test.labels), classes: test.classes, models: {} };
    this.predictions.models[id] = Array.from(predicted);
    const value = this.predictions;
    this.write(TEST_PREDICTIONS, () => writeJsonAtomic(path.join(this.dir, TEST_PREDICTIONS), value, true));
  }

  flush(): void {
    const records = this.pendingSteps;
    this.pendingSteps = [];
    this.write(METRICS, () => appendMetrics(this.dir, records));
  }

  /**
   * Records the run's end: pending steps, the final status (atomically, else in place when the
   * disk is full), no temp files left. Never throws: returns the status and error to report,
   * which say so when the run's end could not be recorded.
   */
  finish(status: RunStatus, error?: string): { status: RunStatus; error?: string } {
    try {
      this.flush();
    } catch (e) {
      // Steps of a finished run are lost: it did not finish as recorded.
      if (status === 'done') [status, error] = ['failed', (e as Error).message];
    }
    Object.assign(this.manifest, { status, error, endedAt: new Date().toISOString() });
    try {
      this.write(MANIFEST, () => {
        const r = writeFinalManifest(this.dir, this.manifest);
        if (!r.ok) throw new RunWriteError(r.reason);
      });
    } catch (e) {
      error = error ? `${error}; ${(e as Error).message}` : (e as Error).message;
    }
    this.close();
    return { status, error };
  }

  /** Writes pending steps (best effort), closes the log, removes temp files of writes that did not complete. */
  close(): void {
    try {
      this.flush();
    } catch {
      /* finish() reports it */
    }
    try {
      removeStaleTempFiles(this.dir);
      fs.closeSync(this.logFd);
    } catch {
      /* nothing worth reporting */
    }
  }
}

/**
 * Starts recording a run in its new folder. If not even its first files can be written (disk
 * full), the folder is removed again, so no run without a manifest is left behind, and the error
 * says why in one line.
 */
export function recordRun(dir: string, start: () => RunRecorder): RunRecorder {
  try {
    return start();
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new RunWriteError(e instanceof RunWriteError ? e.message : describeWriteError(e, dir));
  }
}
