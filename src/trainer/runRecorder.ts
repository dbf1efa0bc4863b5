// Writes one run's folder as the trainer goes (docs/architecture.md §3) and mirrors each record to the host:
// the manifest (atomically), metrics (step records buffered and appended at most ~10 times a
// second, each append followed by a live message, so a message always points at data on disk),
// probes and the log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest, MetricRecord, ProbeRecord, TrainerToHost } from '../core/protocol';
import { appendMetrics, LOG, MANIFEST, PROBES, probeFileName, writeJsonAtomic } from '../core/runStore';

/** Step records are appended and announced at most this often; every step still goes to metrics.jsonl. */
const STEP_FLUSH_MS = 100;

export interface RecorderIO {
  emit(message: TrainerToHost): void;
}

export class RunRecorder {
  readonly manifest: Manifest & { pid: number };
  private pendingSteps: MetricRecord[] = [];
  private lastStepFlush = 0;
  private readonly logFd: number;

  constructor(
    readonly dir: string,
    manifest: Manifest,
    private readonly io: RecorderIO,
  ) {
    this.manifest = { ...manifest, pid: process.pid };
    this.logFd = fs.openSync(path.join(dir, LOG), 'a');
    this.saveManifest();
  }

  saveManifest(): void {
    writeJsonAtomic(path.join(this.dir, MANIFEST), this.manifest);
  }

  log(level: 'info' | 'warn' | 'error', message: string): void {
    fs.writeSync(this.logFd, `${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);
    this.io.emit({ type: 'log', level, message });
  }

  step(record: Extract<MetricRecord, { kind: 'step' }>, steps: number, epochs: number): void {
    this.pendingSteps.push(record);
    const now = performance.now();
    if (now - this.lastStepFlush < STEP_FLUSH_MS && record.step !== steps) return;
    this.lastStepFlush = now;
    this.flush();
    this.io.emit({ type: 'metrics', record });
    this.io.emit({ type: 'progress', stage: record.stage, epoch: record.epoch, epochs, step: record.step, steps, loss: record.total });
  }

  epoch(record: MetricRecord): void {
    this.flush();
    appendMetrics(this.dir, [record]);
    this.io.emit({ type: 'metrics', record });
  }

  probe(record: ProbeRecord): void {
    // Compact: indentation tripled a probe file's size (maps are long number arrays).
    writeJsonAtomic(path.join(this.dir, PROBES, probeFileName(record.stage, record.epoch)), record, true);
    this.io.emit({ type: 'probe', record });
  }

  flush(): void {
    appendMetrics(this.dir, this.pendingSteps);
    this.pendingSteps = [];
  }

  close(): void {
    this.flush();
    fs.closeSync(this.logFd);
  }
}
