// The run recorder's promises to the host: when a live metrics message is sent, the records it
// announces are already in metrics.jsonl (the result panels re-read the folder on each message);
// probe files are compact.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Manifest, MetricRecord, ProbeRecord, TrainerToHost } from '../../src/core/protocol';
import { readMetrics, readProbes } from '../../src/core/runStore';
import { RunRecorder } from '../../src/trainer/runRecorder';

test('every live metrics message points at step records already on disk', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-recorder-'));
  const manifest = { id: 'r', name: 'r', configPath: 'c', configHash: 'h', status: 'running', startedAt: new Date().toISOString(), versions: {}, seed: 1, results: {} } as unknown as Manifest;
  const onDisk: number[] = [];
  const announced: number[] = [];
  const recorder = new RunRecorder(dir, manifest, {
    emit(m: TrainerToHost) {
      if (m.type !== 'metrics' || m.record.kind !== 'step') return;
      announced.push(m.record.step);
      onDisk.push(readMetrics(dir).filter((r) => r.kind === 'step').length);
    },
  });
  const steps = 30;
  for (let step = 1; step <= steps; step++) {
    const record: Extract<MetricRecord, { kind: 'step' }> = { kind: 'step', stage: 'student', epoch: 1, step, losses: { ce: 1 / step }, total: 1 / step, lr: 0.1 };
    recorder.step(record, steps, 1);
    await new Promise((r) => setTimeout(r, 12));
  }
  recorder.close();
  // Throttled (~100 ms over ~360 ms of steps), but the epoch's last step is always announced.
  assert.ok(announced.length >= 2 && announced.length < steps, `announced ${announced.length} of ${steps}`);
  assert.equal(announced.at(-1), steps);
  // At each message, every step up to the announced one is on disk.
  assert.deepEqual(onDisk, announced);
  assert.equal(readMetrics(dir).length, steps);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('probe files round-trip and are written compact (one line: they hold long number arrays)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-recorder-'));
  const manifest = { id: 'r', name: 'r', configPath: 'c', configHash: 'h', status: 'running', startedAt: new Date().toISOString(), versions: {}, seed: 1, results: {} } as unknown as Manifest;
  const recorder = new RunRecorder(dir, manifest, { emit() {} });
  const record: ProbeRecord = { stage: 'student', epoch: 2, samples: [3, 9], labels: [1, 7], studentLogits: [[0.5, -1.25], [2, 0]], pairs: [] };
  recorder.probe(record);
  recorder.close();
  const text = fs.readFileSync(path.join(dir, 'probes', 'student-epoch-0002.json'), 'utf8');
  assert.equal(text.trimEnd().split('\n').length, 1);
  assert.deepEqual(readProbes(dir), [record]);
  fs.rmSync(dir, { recursive: true, force: true });
});
