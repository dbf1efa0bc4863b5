// Transfer sets (distillation.transfer): how the set is built, what the validator rejects, how the
// omitted classes' bias is chosen, and how the results read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatProblem, parseConfig, type ValidationEnv } from '../../src/core/config/parse';
import type { ModelResult, RunResults } from '../../src/core/protocol';
import { omittedClassLines, transferText } from '../../src/core/resultFormat';
import { createRng } from '../../src/core/random';
import { runTooltip } from '../../src/host/runFormat';
import { loadDataset, type Dataset } from '../../src/trainer/data';
import { buildTransferSet } from '../../src/trainer/data/transfer';
import { chooseBias, classWeights, omittedAccuracy, predictWithBias } from '../../src/trainer/transferResults';

// ---- the set --------------------------------------------------------------------------------

/** 200 training examples of one value each (the example's own number), labels 0…9 in turn. */
function synthetic(count = 200): Dataset {
  const split = (n: number) => ({ x: Float32Array.from({ length: n * 2 }, (_, i) => Math.floor(i / 2)), y: Uint8Array.from({ length: n }, (_, i) => i % 10), count: n });
  return { name: 's', inputShape: [2], numClasses: 10, train: split(count), validation: split(0), test: split(20), normalization: { method: 'none', mean: 0, std: 1 } };
}

test('the transfer set lacks the omitted classes, has the requested size, is seeded, and the left-out examples are the rest', () => {
  const data = synthetic();
  const t = buildTransferSet(data, { omitClasses: [3, 7], size: 50, labels: true, biasCorrection: false }, 5);
  const train = t.data.train;
  assert.equal(train.count, 50);
  assert.equal(train.y.length, 50);
  assert.ok(!Array.from(train.y).some((y) => y === 3 || y === 7));
  // Each row is the training example it says it is (the value is the example's number).
  for (let i = 0; i < train.count; i++) {
    const row = train.indices![i];
    assert.equal(train.x[2 * i], row);
    assert.equal(train.y[i], row % 10);
  }
  // Seeded: the same seed gives the same rows, another seed others; a smaller size is a subset.
  const again = buildTransferSet(data, { omitClasses: [3, 7], size: 50, labels: true, biasCorrection: false }, 5);
  assert.deepEqual(again.data.train.indices, train.indices);
  const other = buildTransferSet(data, { omitClasses: [3, 7], size: 50, labels: true, biasCorrection: false }, 6);
  assert.notDeepEqual(other.data.train.indices, train.indices);
  const smaller = buildTransferSet(data, { omitClasses: [3, 7], size: 20, labels: true, biasCorrection: false }, 5);
  assert.ok(smaller.data.train.indices!.every((r) => train.indices!.includes(r)));
  // Left out: every training example not in the set, the 40 of classes 3 and 7 among them.
  assert.equal(t.leftOut.count, 150);
  assert.deepEqual([...t.leftOut.indices!, ...train.indices!].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  assert.equal(Array.from(t.leftOut.y).filter((y) => y === 3 || y === 7).length, 40);
  assert.deepEqual(t.summary, { count: 50, trainCount: 200, omitClasses: [3, 7], labels: true, notes: [] });
  // The validation and test splits and the normalisation are the run's.
  assert.equal(t.data.test, data.test);
  assert.equal(t.data.validation, data.validation);
  // Without a transfer section the student's data is the run's.
  assert.equal(buildTransferSet(data, undefined, 5).data, data);
});

test('a transfer set that cannot be made is one clear error', () => {
  const data = synthetic(30);
  assert.throws(() => buildTransferSet(data, { omitClasses: [3], size: 28, labels: true, biasCorrection: false }, 1), /^Error: distillation\.transfer\.size: 28 is more than the 27 training examples without class 3 available$/);
  assert.throws(() => buildTransferSet(data, { omitClasses: [12], labels: true, biasCorrection: false }, 1), /class 12 does not exist \(the data has classes 0 … 9\)/);
  assert.throws(() => buildTransferSet(data, { omitClasses: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], labels: true, biasCorrection: false }, 1), /the transfer set is empty/);
});

test('on the real MNIST digits the transfer set holds no 3 (and the training split had some)', async () => {
  const cacheDir = path.join(os.tmpdir(), `distill-transfer-${process.pid}`);
  const data = await loadDataset({ dataset: 'mnist', trainSize: 3000, validationSize: 0, testSize: 500, normalize: 'unit', testFraction: 0.2 }, { configDir: '.', seed: 3, cacheDir });
  const threes = Array.from(data.train.y).filter((y) => y === 3).length;
  assert.ok(threes > 200, `${threes} 3s`);
  const t = buildTransferSet(data, { omitClasses: [3], size: 2000, labels: true, biasCorrection: false }, 3);
  assert.equal(t.data.train.count, 2000);
  assert.equal(Array.from(t.data.train.y).filter((y) => y === 3).length, 0);
  assert.equal(Array.from(t.leftOut.y).filter((y) => y === 3).length, threes);
  assert.equal(t.data.train.x.length, 2000 * 784);
});

// ---- the validator --------------------------------------------------------------------------

const FILE = '/cfg/x.distill.json';
const anyFile: ValidationEnv = { fileExists: () => true };
/** The config as lines, so each test knows the line of what it puts in. */
function config(transfer: string, losses = ['{ "type": "ce", "weight": 0.1 },', '{ "type": "kd", "weight": 0.9 }'], data = '{ "dataset": "mnist", "testSize": 2000, "validationSize": 500 }'): string {
  return [
    '{',
    '  "name": "t",',
    `  "data": ${data},`,
    '  "teacher": { "model": { "type": "mlp", "hidden": [32] }, "training": { "epochs": 1, "optimizer": { "lr": 0.1 } } },',
    '  "student": { "model": { "type": "mlp", "hidden": [16] } },',
    '  "distillation": {',
    '    "temperature": 4,',
    '    "losses": [',
    ...losses.map((l) => `      ${l}`),
    '    ],',
    `    "transfer": ${transfer}`,
    '  },',
    '  "training": { "epochs": 1, "optimizer": { "lr": 0.1 } }',
    '}',
  ].join('\n');
}
const problems = (text: string) => parseConfig(text, FILE, anyFile).problems.map(formatProblem);

test('labels: false rejects each term that reads labels, at that term', () => {
  // Lines: losses start at line 9 (ce), 10 (kd), 11 (dkd).
  const p = problems(config('{ "labels": false }', ['{ "type": "ce", "weight": 0.1 },', '{ "type": "kd", "weight": 0.9 },', '{ "type": "dkd", "weight": 1 }']));
  assert.equal(p.length, 2, p.join('\n'));
  assert.match(p[0], /^\/cfg\/x\.distill\.json:9:17: error: distillation\.losses\[0\]: a "ce" term reads the labels, but distillation\.transfer\.labels is false/);
  assert.match(p[1], /^\/cfg\/x\.distill\.json:11:17: error: distillation\.losses\[2\]: a "dkd" term reads the labels/);
  // Soft targets only: valid, and with labels the ce term is fine.
  assert.deepEqual(problems(config('{ "labels": false }', ['{ "type": "kd", "weight": 1 }'])), []);
  assert.deepEqual(problems(config('{ "labels": true, "size": 1000 }')), []);
});

test('omitted classes out of range, listed twice or all of them; a size beyond the training split; a bias with nothing to choose it on', () => {
  // The transfer object is on line 12.
  const text = config('{ "omitClasses": [3, 10, 3] }');
  const line = text.split('\n')[11];
  const col = (needle: string) => line.indexOf(needle) + 1;
  assert.deepEqual(problems(text), [
    `${FILE}:12:${col('10')}: error: distillation.transfer.omitClasses[1]: class 10 does not exist (the data has classes 0 … 9)`,
    `${FILE}:12:${col('3]')}: error: distillation.transfer.omitClasses[2]: class 3 is listed twice`,
  ]);
  assert.match(problems(config('{ "omitClasses": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }'))[0], /:12:\d+: error: distillation\.transfer\.omitClasses: every class \(0 … 9\) is omitted, so the transfer set would be empty/);
  // 10,000 − 2,000 test − 500 validation = 7,500 training examples.
  assert.match(problems(config('{ "size": 7501 }'))[0], /:12:\d+: error: distillation\.transfer\.size: 7,501 is more than the 7,500 training examples$/);
  assert.deepEqual(problems(config('{ "size": 7500 }')), []);
  assert.match(problems(config('{ "biasCorrection": true }'))[0], /transfer\.biasCorrection: the bias is added to the omitted classes, but distillation\.transfer\.omitClasses lists none/);
  // No validation split and no size: the left-out examples are only 3s.
  const noVal = '{ "dataset": "mnist", "testSize": 2000, "validationSize": 0 }';
  assert.match(problems(config('{ "omitClasses": [3], "biasCorrection": true }', undefined, noVal))[0], /nothing to choose the bias on/);
  assert.deepEqual(problems(config('{ "omitClasses": [3], "biasCorrection": true, "size": 5000 }', undefined, noVal)), []);
  assert.deepEqual(problems(config('{ "omitClasses": [3], "biasCorrection": true }')), []);
});

test('CRD\'s memory bank is checked against the transfer set\'s size', () => {
  const crd = ['{ "type": "kd", "weight": 0.9 },', '{ "type": "crd", "weight": 0.8, "student": "fc1", "teacher": "fc1", "negatives": 2048 }'];
  assert.deepEqual(problems(config('{ "size": 3000 }', crd)), []);
  assert.match(problems(config('{ "size": 2000 }', crd))[0], /:10:\d+: error: distillation\.losses\[1\]: .*negatives 2048 must be below the 2000 training examples/);
  // With omitted classes and no size the transfer set's size is known only once the data is loaded.
  assert.deepEqual(problems(config('{ "omitClasses": [3] }', crd)), []);
});

// ---- the bias -------------------------------------------------------------------------------

/** Weighted errors with `bias` on the omitted classes, by plain argmax: what chooseBias minimises. */
function weightedErrors(logits: Float32Array, labels: number[], classes: number, omitted: number[], bias: number, w: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes), (v, c) => v + (omitted.includes(c) ? bias : 0));
    if (row.indexOf(Math.max(...row)) !== labels[i]) e += w[labels[i]];
  }
  return e;
}

test('chooseBias: a hand-made case', () => {
  // Class 2 omitted; a bias b gets an example of class 2 right above its threshold (the best other
  // logit minus its class-2 logit), an example of class 0 right below it.
  const logits = Float32Array.from([0, 0, -1, /**/ 0, 3, 0, /**/ 4, 0, 0]);
  const labels = [2, 2, 0];
  // Thresholds 1, 3 (the 2s) and 4 (the 0): any bias in (3, 4) gets all three right; its middle.
  assert.equal(chooseBias(logits, labels, 3, [2]), 3.5);
  // Three 2s with thresholds 1, 3, 3.5 and a 0 with threshold 2: unweighted, (3.5, ∞) gets the three
  // 2s right (one beyond the last threshold: 4.5); with a 0 counted 3×, (1, 2) wins (1 + 3): 1.5.
  const l2 = Float32Array.from([0, 0, -1, /**/ 0, 3, 0, /**/ 3.5, 0, 0, /**/ 2, 0, 0]);
  assert.equal(chooseBias(l2, [2, 2, 2, 0], 3, [2]), 4.5);
  assert.equal(chooseBias(l2, [2, 2, 2, 0], 3, [2], [3, 1, 1]), 1.5);
  // Nothing to gain: the bias stays 0.
  assert.equal(chooseBias(Float32Array.from([5, 0, 0, 0, 5, 0]), [0, 1], 3, [2]), 0);
});

test('chooseBias finds the fewest weighted errors of any bias (checked on a fine grid)', () => {
  const rng = createRng(11);
  const classes = 5;
  const omitted = [1, 3];
  for (let trial = 0; trial < 5; trial++) {
    const n = 60;
    const labels = Array.from({ length: n }, () => Math.floor(rng() * classes));
    // Logits that favour the label, with the omitted classes pushed down (as a student that never saw them).
    const logits = Float32Array.from({ length: n * classes }, (_, k) => {
      const i = Math.floor(k / classes);
      const c = k % classes;
      return rng() * 4 + (c === labels[i] ? 2 : 0) - (omitted.includes(c) ? 3 : 0);
    });
    const w = classWeights(labels, Array.from({ length: 100 }, (_, i) => i % classes), classes);
    const bias = chooseBias(logits, labels, classes, omitted, w);
    const chosen = weightedErrors(logits, labels, classes, omitted, bias, w);
    let gridBest = Infinity;
    for (let b = -10; b <= 10; b += 0.01) gridBest = Math.min(gridBest, weightedErrors(logits, labels, classes, omitted, b, w));
    assert.ok(chosen <= gridBest + 1e-9, `trial ${trial}: bias ${bias} gives ${chosen}, the grid ${gridBest}`);
    assert.ok(bias > 0, `trial ${trial}: bias ${bias}`);
  }
});

test('classWeights make each class count as in the reference; predictions and omitted accuracy', () => {
  // Selection: four 0s and one 1 (a left-out set rich in the omitted class 0); reference: half each.
  assert.deepEqual(Array.from(classWeights([0, 0, 0, 0, 1], [0, 1, 0, 1], 3)), [0.5 / 0.8, 0.5 / 0.2, 0]);
  const logits = Float32Array.from([1, 2, 0, /**/ 2, 1, 0, /**/ 0, 1, 0.5]);
  assert.deepEqual(Array.from(predictWithBias(logits, 3, new Set(), 0)), [1, 0, 1]);
  assert.deepEqual(Array.from(predictWithBias(logits, 3, new Set([2]), 0.75)), [1, 0, 2]);
  assert.deepEqual(omittedAccuracy(Int32Array.from([1, 0, 2]), [2, 0, 2], [2]), { classes: [2], correct: 1, count: 2 });
});

// ---- how results read -----------------------------------------------------------------------

test('the omitted-class results in the CLI lines and the tooltip', () => {
  const r = (errors: number, extra: Partial<ModelResult> = {}): ModelResult => ({ testAccuracy: 1 - errors / 2000, testErrors: errors, testCount: 2000, params: 1, flops: 1, latencyMs: 1, ...extra });
  const omitted = (correct: number) => ({ classes: [3], correct, count: 204 });
  const results: RunResults = {
    teacher: r(40, { omitted: omitted(200) }),
    baseline: r(260, { omitted: omitted(0) }),
    student: r(150, { omitted: omitted(120), biasCorrected: { bias: 2.25, chosenOn: 'validation', testErrors: 90, testAccuracy: 0.955, omitted: omitted(190) } }),
    transfer: { count: 6300, trainCount: 7000, omitClasses: [3], labels: true, notes: [] },
  };
  const lines = omittedClassLines([['teacher', results.teacher], ['baseline', results.baseline], ['student', results.student]]);
  assert.deepEqual(lines, [
    'teacher on the test class 3: 98.0% (200/204) correct',
    'baseline on the test class 3: 0.0% (0/204) correct',
    'student on the test class 3: 58.8% (120/204) correct',
    'student with bias +2.25 on the omitted classes (chosen on the validation split): 90 test errors, 93.1% (190/204) of the omitted classes correct',
  ]);
  assert.equal(transferText(results.transfer!), 'transfer set: 6,300 of 7,000 training examples, without class 3');
  assert.equal(transferText({ count: 100, trainCount: 100, omitClasses: [], labels: false, notes: [] }), 'transfer set: 100 of 100 training examples, no labels (soft targets only)');
  const tip = runTooltip({ id: 'r', name: 'n', configPath: '/x', configHash: 'h', status: 'done', startedAt: '2025-01-01T12:00:00.000Z', versions: {}, seed: 1, results });
  for (const line of lines) assert.ok(tip.includes(`- ${line}`), tip);
  assert.match(tip, /transfer set: 6,300 of 7,000 training examples, without class 3\./);
});
