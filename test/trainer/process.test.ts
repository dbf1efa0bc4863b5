// The real trainer child process (dist/trainer.js, built by `npm test` before this runs): forked
// exactly as the CLI and the extension fork it, on real MNIST digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainerToHost } from '../../src/core/protocol';
import { readManifest, readMetrics, readProbes } from '../../src/core/runStore';
import { startTrainer } from '../../src/core/trainerClient';

const trainerScript = path.resolve('dist/trainer.js');
const env = { DISTILL_CACHE_DIR: path.resolve('.cache/datasets') };

type Teacher = { source: 'file'; path: string } | { source: 'run'; run: string };

function writeConfig(dir: string, overrides: { epochs?: number; trainSize?: number; name?: string; teacher?: Teacher } = {}): string {
  const file = path.join(dir, `${overrides.name ?? 'tiny'}.distill.json`);
  const training = { epochs: overrides.epochs ?? 3, batchSize: 50, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } };
  fs.writeFileSync(
    file,
    JSON.stringify({
      name: overrides.name ?? 'tiny',
      seed: 3,
      data: { dataset: 'mnist', trainSize: overrides.trainSize ?? 600, testSize: 200 },
      teacher: overrides.teacher ?? { model: { type: 'mlp', hidden: [64] }, training },
      student: { model: { type: 'mlp', hidden: [16] } },
      distillation: {
        temperature: 4,
        losses: [
          { type: 'ce', weight: 0.1 },
          { type: 'kd', weight: 0.9 },
          { type: 'hint', weight: 0.5, student: 'fc1', teacher: 'fc1' },
        ],
      },
      training,
      probes: { samples: 4, ckaSamples: 64 },
    }),
  );
  return file;
}

function run(configPath: string, runsDir: string, onMessage: (m: TrainerToHost) => void = () => {}) {
  const messages: TrainerToHost[] = [];
  const handle = startTrainer(
    { type: 'start', configPath, runsDir, backend: 'auto' },
    { trainerScript, env, onMessage: (m) => (messages.push(m), onMessage(m)) },
  );
  return { handle, messages };
}

let firstRun: { runsDir: string; runDir: string; runId: string; teacherErrors: number } | undefined;

test('a run streams ready → runCreated → stages → done and leaves a complete run folder', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-proc-'));
  const runsDir = path.join(dir, 'runs');
  const { handle, messages } = run(writeConfig(dir), runsDir);
  const done = await handle.done;
  assert.equal(done.status, 'done', done.error);

  const types = messages.map((m) => m.type);
  assert.equal(types[0], 'ready');
  assert.equal(types[1], 'runCreated');
  assert.equal(types.at(-1), 'done');
  const stages = messages.flatMap((m) => (m.type === 'stage' ? [m.stage] : []));
  assert.deepEqual(stages, ['teacher', 'baseline', 'student']);
  // Each stage's epoch record arrives after that stage starts and before the next one.
  const order = messages.flatMap((m) => (m.type === 'stage' ? [`stage:${m.stage}`] : m.type === 'metrics' && m.record.kind === 'epoch' ? [`epoch:${m.record.stage}`] : []));
  const e3 = (stage: string) => [`epoch:${stage}`, `epoch:${stage}`, `epoch:${stage}`];
  assert.deepEqual(order, ['stage:teacher', ...e3('teacher'), 'stage:baseline', ...e3('baseline'), 'stage:student', ...e3('student')]);

  const created = messages.find((m) => m.type === 'runCreated')!;
  assert.ok(created.type === 'runCreated');
  const manifest = readManifest(created.runDir)!;
  assert.equal(manifest.status, 'done');
  assert.ok(['wasm', 'cpu', 'tensorflow'].includes(manifest.backend!));
  for (const stage of ['teacher', 'baseline', 'student'] as const) {
    const r = manifest.results[stage]!;
    assert.equal(r.testCount, 200);
    assert.ok(r.testErrors < 200 * 0.5, `${stage} learned something: ${r.testErrors}/200 errors`);
    assert.ok(r.latencyMs > 0 && r.params > 0 && r.flops > 0);
    assert.ok(fs.existsSync(path.join(created.runDir, 'models', stage, 'model.json')));
  }
  assert.ok(manifest.results.ratios!.params > 1);
  // The hint's linear connector (16 → 64 units: 16·64 + 64) trains with the student but is counted apart from it.
  assert.equal(manifest.results.student!.lossParams, 16 * 64 + 64);
  assert.equal(manifest.results.baseline!.lossParams, undefined);
  firstRun = { runsDir, runDir: created.runDir, runId: created.runId, teacherErrors: manifest.results.teacher!.testErrors };

  const metrics = readMetrics(created.runDir);
  const studentSteps = metrics.filter((r) => r.kind === 'step' && r.stage === 'student');
  assert.equal(studentSteps.length, 36, '600 examples / batch 50 = 12 steps × 3 epochs, every one logged');
  const step = studentSteps[0];
  assert.deepEqual(Object.keys(step.losses).sort(), ['ce', 'hint:fc1<-fc1', 'kd']);
  // The logged total is the weighted sum of the logged terms.
  const weighted = 0.1 * step.losses.ce + 0.9 * step.losses.kd + 0.5 * step.losses['hint:fc1<-fc1'];
  assert.ok(Math.abs(step.total - weighted) < 1e-4 * Math.max(1, weighted), `${step.total} vs ${weighted}`);

  const probes = readProbes(created.runDir, 'student');
  assert.deepEqual(probes.map((p) => p.epoch), [1, 2, 3]);
  assert.equal(probes[0].studentLogits.length, 4);
  assert.equal(probes[0].teacherLogits![0].length, 10);
  assert.equal(probes[0].pairs[0].id, 'hint:fc1<-fc1');
  assert.deepEqual(probes.map((p) => p.images?.pixels.length), [4, undefined, 4], 'images in the first and last probe of a stage');
  assert.deepEqual(probes[0].images!.shape, [28, 28]);
  assert.ok(probes[0].images!.pixels.every((img) => img.length === 784 && Math.max(...img) === 1 && Math.min(...img) === 0));
  assert.deepEqual(probes[0].cka!.teacherLayers, ['fc1', 'logits']);
  assert.deepEqual(probes[0].cka!.studentLayers, ['fc1', 'logits']);
});

test('cancel stops the trainer within 2 s and leaves the run readable and marked cancelled', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cancel-'));
  let cancelledAt = 0;
  const { handle, messages } = run(writeConfig(dir, { epochs: 50, trainSize: 4000 }), path.join(dir, 'runs'), (m) => {
    if (m.type === 'progress' && m.epoch === 2 && !cancelledAt) {
      cancelledAt = performance.now();
      handle.cancel(5000); // generous kill timer: the test measures the trainer's own stop
    }
  });
  const done = await handle.done;
  const exitedAfter = performance.now() - cancelledAt;
  assert.equal(done.status, 'cancelled');
  assert.ok(exitedAfter < 2000, `stopped ${exitedAfter.toFixed(0)} ms after cancel`);
  await new Promise((r) => handle.process.exitCode !== null ? r(null) : handle.process.once('exit', r));
  const created = messages.find((m) => m.type === 'runCreated');
  assert.ok(created && created.type === 'runCreated');
  const manifest = readManifest(created.runDir)!;
  assert.equal(manifest.status, 'cancelled');
  assert.ok(manifest.endedAt);
  assert.equal(readMetrics(created.runDir).filter((r) => r.kind === 'epoch').length, 1, 'the finished epoch is kept');
});

test('a killed trainer leaves a run that reads as failed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-kill-'));
  const { handle, messages } = run(writeConfig(dir, { epochs: 50, trainSize: 4000 }), path.join(dir, 'runs'), (m) => {
    if (m.type === 'progress') handle.process.kill('SIGKILL');
  });
  const done = await handle.done;
  assert.equal(done.status, 'failed');
  assert.match(done.error!, /exited unexpectedly \(SIGKILL\)/);
  const created = messages.find((m) => m.type === 'runCreated');
  assert.ok(created && created.type === 'runCreated');
  assert.equal(readManifest(created.runDir)!.status, 'failed');
});

test('an invalid config fails with its problems and creates no run folder', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-bad-'));
  const file = path.join(dir, 'bad.distill.json');
  fs.writeFileSync(file, '{\n  "name": "bad",\n  "sed": 1\n}\n');
  const { handle } = run(file, path.join(dir, 'runs'));
  const done = await handle.done;
  assert.equal(done.status, 'failed');
  assert.match(done.error!, /bad\.distill\.json:3:3: error: .*sed.*seed/);
  assert.equal(fs.existsSync(path.join(dir, 'runs')), false);
});

test('a saved teacher is reused: from an earlier run by id, and from its model.json file', async () => {
  assert.ok(firstRun, 'needs the first test\'s run');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-reuse-'));
  const teachers: Teacher[] = [
    { source: 'run', run: firstRun.runId },
    { source: 'file', path: path.relative(dir, path.join(firstRun.runDir, 'models', 'teacher', 'model.json')) },
  ];
  for (const [i, teacher] of teachers.entries()) {
    const { handle, messages } = run(writeConfig(dir, { name: `reuse${i}`, teacher }), firstRun.runsDir);
    const done = await handle.done;
    assert.equal(done.status, 'done', done.error);
    assert.deepEqual(messages.flatMap((m) => (m.type === 'stage' ? [m.stage] : [])), ['baseline', 'student'], 'no teacher training');
    // The same weights on the same test split: the same errors as when it was trained.
    assert.equal(done.results.teacher!.testErrors, firstRun.teacherErrors);
  }
});
