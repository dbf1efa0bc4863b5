// student.init in whole runs through the CLI: a run's saved student is where the next run's student
// and baseline start (fine-tuning), and a saved student of another architecture stops the run with
// the shapes named, its status failed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Manifest } from '../../src/core/protocol';
import { loadLayersModel } from '../../src/trainer/modelIO';

const cli = path.resolve('dist/cli.js');
const base = {
  data: { dataset: 'mnist', trainSize: 400, testSize: 200 },
  teacher: { model: { type: 'mlp', hidden: [32] }, training: { epochs: 1, batchSize: 50, optimizer: { type: 'sgd', lr: 0.1 } } },
  distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.5 }, { type: 'kd', weight: 0.5 }] },
  probes: { samples: 2, cka: false },
};

function run(dir: string, file: string, config: object): { status: number | null; stderr: string; runDir: string; manifest: Manifest } {
  fs.writeFileSync(path.join(dir, file), JSON.stringify({ name: path.basename(file, '.distill.json'), ...base, ...config }, null, 2));
  const runs = path.join(dir, 'runs');
  const before = new Set(fs.existsSync(runs) ? fs.readdirSync(runs) : []);
  const r = spawnSync(process.execPath, [cli, 'run', file, '--backend', 'cpu', '--runs-dir', runs], { cwd: dir, encoding: 'utf8' });
  const id = fs.readdirSync(runs).find((d) => !before.has(d))!;
  const runDir = path.join(runs, id);
  return { status: r.status, stderr: r.stderr, runDir, manifest: JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8')) as Manifest };
}

const weightsOf = async (runDir: string, model: string) => (await loadLayersModel(path.join(runDir, 'models', model, 'model.json'))).getWeights().map((w) => w.dataSync());

test('student.init: the student and its baseline start from a saved student; one of another architecture fails naming the shapes', async () => {
  await tf.setBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-init-'));
  const student = { model: { type: 'mlp', hidden: [16] } };
  const first = run(dir, 'first.distill.json', { seed: 3, student, training: { epochs: 2, batchSize: 50, optimizer: { type: 'sgd', lr: 0.1 } } });
  assert.equal(first.status, 0, first.stderr);
  const saved = path.relative(dir, path.join(first.runDir, 'models', 'student', 'model.json'));

  // The same seed (so the same test split), and a learning rate that leaves the weights where they
  // start: both networks must hold the trained student's weights (not the seed's random ones), and
  // make its predictions.
  const second = run(dir, 'second.distill.json', {
    seed: 3,
    student: { ...student, init: { source: 'file', path: saved } },
    training: { epochs: 1, batchSize: 50, optimizer: { type: 'sgd', lr: 1e-9 } },
  });
  assert.equal(second.status, 0, second.stderr);
  const want = await weightsOf(first.runDir, 'student');
  for (const model of ['baseline', 'student']) {
    const got = await weightsOf(second.runDir, model);
    assert.equal(got.length, want.length);
    got.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-6, `${model} weight ${i}[${j}]: ${v} vs ${want[i][j]}`)));
    assert.equal(second.manifest.results.models![model].testErrors, first.manifest.results.student!.testErrors, `${model} predicts as the saved student`);
  }
  assert.match(fs.readFileSync(path.join(second.runDir, 'trainer.log'), 'utf8'), /student\.init: the student's architecture starts from the weights in .*first/);

  // From a run, for a student of another width: the run fails before training, saying why.
  const third = run(dir, 'third.distill.json', {
    seed: 3,
    student: { model: { type: 'mlp', hidden: [8] }, init: { source: 'run', run: path.basename(first.runDir) } },
    training: { epochs: 1, batchSize: 50, optimizer: { type: 'sgd', lr: 0.1 } },
  });
  assert.notEqual(third.status, 0);
  assert.equal(third.manifest.status, 'failed');
  const errors = third.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, third.stderr);
  assert.match(errors[0], /^error: student\.init: .*first\/models\/student\/model\.json holds weights \[784, 16\] \[16\] \[16, 10\] \[10\]; the student \(student\.model\) has \[784, 8\] \[8\] \[8, 10\] \[10\]$/);
  fs.rmSync(dir, { recursive: true, force: true });
});
