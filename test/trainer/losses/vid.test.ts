import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { disposeTerms, termValue } from '../../../src/trainer/losses';
import { cnnConfigProblems, pool } from './featureRef';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu } from './harness';

// RepDistiller VID.py: pred_mean = regressor(input) (1×1 convs without bias, ReLU between);
// pred_var = log(1 + exp(log_scale)) + eps per channel; loss = mean(0.5·((pred_mean − target)²/pred_var + log pred_var)).
const relu = (x: number) => Math.max(x, 0);
const matVec = (x: number[], W: number[], out: number) => Array.from({ length: out }, (_, j) => x.reduce((s, xi, i) => s + xi * W[i * out + j], 0));

function expected(c: Case, W: number[][], mid: number, logScale: number[], eps: number): number {
  const { s } = c.student;
  const { t } = c.teacher!;
  const spatial = t.shape.length === 3;
  const x = spatial ? pool(s.values, c.batch, s.shape, t.shape[0], t.shape[1]) : s.values;
  const [cin, cout] = [s.shape[s.shape.length - 1], t.shape[t.shape.length - 1]];
  const positions = x.length / cin;
  const variance = logScale.map((a) => Math.log(1 + Math.exp(a)) + eps);
  let sum = 0;
  for (let p = 0; p < positions; p++) {
    const h1 = matVec(x.slice(p * cin, (p + 1) * cin), W[0], mid).map(relu);
    const h2 = matVec(h1, W[1], mid).map(relu);
    const mean = matVec(h2, W[2], cout);
    for (let k = 0; k < cout; k++) sum += 0.5 * ((mean[k] - t.values[p * cout + k]) ** 2 / variance[k] + Math.log(variance[k]));
  }
  return sum / (positions * cout);
}

const make = (sShape: number[], tShape: number[], B = 2): Case => ({
  term: { type: 'vid', weight: 1, student: 's', teacher: 't', midChannels: 4, initPredVar: 5, eps: 1e-5 },
  batch: B,
  student: { s: { shape: sShape, values: randArray(B * sShape.reduce((a, b) => a * b), 41) } },
  teacher: { t: { shape: tShape, values: randArray(B * tShape.reduce((a, b) => a * b), 42) } },
});

/** The term's value with its regressor and log-variances set to known values. */
function golden(c: Case) {
  const [cin, cout] = [c.student.s.shape.at(-1)!, c.teacher!.t.shape.at(-1)!];
  const W = [randArray(cin * 4, 43), randArray(16, 44), randArray(4 * cout, 45)];
  const logScale = randArray(cout, 46, 2);
  const active = activate(c);
  try {
    const [w1, w2, w3, a] = active.state!.variables;
    w1.assign(tf.tensor2d(W[0], [cin, 4]));
    w2.assign(tf.tensor2d(W[1], [4, 4]));
    w3.assign(tf.tensor2d(W[2], [4, cout]));
    a.assign(tf.tensor1d(logScale));
    close(tf.tidy(() => termValue(active, inputsOf(c)).dataSync()[0]), expected(c, W, 4, logScale, 1e-5));
  } finally {
    disposeTerms([active]);
  }
}

test("vid: golden value on conv maps (the student's 3×3 pooled to the teacher's 2×2)", async () => {
  await useCpu();
  golden(make([3, 3, 2], [2, 2, 3]));
});

test('vid: golden value on dense layers (linear layers in place of the 1×1 convs)', async () => {
  await useCpu();
  golden(make([5], [3], 3));
});

test('vid: the predicted variance starts at initPredVar', async () => {
  await useCpu();
  const active = activate(make([5], [3]));
  try {
    const [, , , a] = active.state!.variables;
    for (const v of tf.tidy(() => tf.add(tf.softplus(a), 1e-5).arraySync() as number[])) close(v, 5);
  } finally {
    disposeTerms([active]);
  }
});

test('vid: the student, the regressor and the variances get gradients, the teacher none', async () => {
  await useCpu();
  const g = gradientsOf(make([3, 3, 2], [2, 2, 3]));
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.equal(g.state.length, 4);
  for (const v of g.state) assert.ok(v.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
});

test('vid: a conv layer against a dense one is reported', () => {
  const problems = lossDefinition('vid').check!({} as never, {
    pairs: [{ student: { name: 'conv2', shape: [14, 14, 16] }, teacher: { name: 'fc1', shape: [64] } }],
  });
  assert.deepEqual(problems, [{ field: 'teacher', message: 'vid needs two conv layers or two dense layers; student conv2 [14×14×16] is conv, teacher fc1 [64] is dense' }]);
});

test('vid: the example term parses in a CNN config', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('vid').example), []);
});
