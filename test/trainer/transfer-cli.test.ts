// Transfer sets end to end: the real CLI (dist/cli.js, after `npm run build`) trains a tiny
// omitted-class experiment on the built-in MNIST and prints the omitted-class results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataConfig } from '../../src/core/config/schema';
import type { Manifest } from '../../src/core/protocol';
import { loadDataset } from '../../src/trainer/data';

const cli = path.resolve('dist/cli.js');
const data: DataConfig = { dataset: 'mnist', trainSize: 600, validationSize: 200, testSize: 300, normalize: 'unit', testFraction: 0.2 };
const SEED = 4;

function tinyConfig(transfer: object, losses: object[]) {
  return {
    name: 'tiny-transfer',
    seed: SEED,
    data: { dataset: 'mnist', trainSize: 600, validationSize: 200, testSize: 300 },
    teacher: { model: { type: 'mlp', hidden: [64] }, training: { epochs: 1, batchSize: 32, optimizer: { type: 'sgd', lr: 0.05 } } },
    student: { model: { type: 'mlp', hidden: [32] } },
    distillation: { temperature: 4, losses, transfer },
    training: { epochs: 1, batchSize: 32, optimizer: { type: 'sgd', lr: 0.05 } },
    probes: { samples: 4, cka: false },
  };
}

function run(config: object): { stdout: string; manifest: Manifest } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-transfer-'));
  fs.writeFileSync(path.join(dir, 't.distill.json'), JSON.stringify(config, null, 2));
  const r = spawnSync(process.execPath, [cli, 'run', 't.distill.json', '--backend', 'wasm'], { cwd: dir, encoding: 'utf8', env: { ...process.env } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runs = path.join(dir, '.distill', 'runs');
  const [id] = fs.readdirSync(runs);
  return { stdout: r.stdout, manifest: JSON.parse(fs.readFileSync(path.join(runs, id, 'manifest.json'), 'utf8')) };
}

test('an omitted-3 run: the table gives each model\'s accuracy on the test 3s and the bias-corrected student', async () => {
  // The splits as the trainer makes them, to count the 3s independently.
  const ds = await loadDataset(data, { configDir: '.', seed: SEED, cacheDir: path.join(os.tmpdir(), `distill-transfer-cli-${process.pid}`) });
  const count3 = (y: ArrayLike<number>) => Array.from(y).filter((v) => v === 3).length;
  const testThrees = count3(ds.test.y);
  const trainThrees = count3(ds.train.y);
  assert.ok(testThrees > 0 && trainThrees > 0);

  const { stdout, manifest } = run(tinyConfig({ omitClasses: [3], biasCorrection: true }, [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }]));
  const r = manifest.results;
  assert.equal(manifest.status, 'done');
  assert.deepEqual(r.transfer, { count: 600 - trainThrees, trainCount: 600, omitClasses: [3], labels: true, notes: [] });
  // The baseline and the student learned on the transfer set: fewer steps than the teacher.
  assert.match(stdout, new RegExp(`baseline: 1 epochs × ${Math.ceil((600 - trainThrees) / 32)} steps`));
  assert.match(stdout, /teacher: 1 epochs × 19 steps/);
  assert.match(stdout, new RegExp(`transfer set: ${600 - trainThrees} of 600 training examples, without class 3`));
  for (const model of ['teacher', 'baseline', 'student'] as const) {
    const o = r[model]!.omitted!;
    assert.deepEqual([o.classes, o.count], [[3], testThrees], model);
    assert.ok(stdout.includes(`${model} on the test class 3: ${((100 * o.correct) / o.count).toFixed(1)}% (${o.correct}/${testThrees}) correct`), stdout);
  }
  const b = r.student!.biasCorrected!;
  assert.equal(b.chosenOn, 'validation');
  assert.equal(b.omitted.count, testThrees);
  assert.equal(b.testAccuracy, 1 - b.testErrors / 300);
  assert.match(stdout, new RegExp(`student with bias [+-]\\d+\\.\\d\\d on the omitted classes \\(chosen on the validation split\\): ${b.testErrors} test errors`));
  assert.equal(r.teacher!.biasCorrected, undefined);
});

test('a transfer set without labels: soft targets only, a smaller set, no baseline, and the result says why', () => {
  const { stdout, manifest } = run(tinyConfig({ size: 400, labels: false }, [{ type: 'kd', weight: 1 }]));
  assert.equal(manifest.status, 'done');
  assert.equal(manifest.results.baseline, undefined);
  assert.ok(manifest.results.student && manifest.results.teacher);
  assert.equal(manifest.results.transfer?.count, 400);
  assert.match(manifest.results.transfer!.notes[0], /^no baseline: the transfer set has no labels/);
  assert.match(stdout, /transfer set: 400 of 600 training examples, no labels \(soft targets only\)\nno baseline: the transfer set has no labels/);
  assert.match(stdout, /student: 1 epochs × 13 steps/);
  assert.doesNotMatch(stdout, /on the test class/);
});
