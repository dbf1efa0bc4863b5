import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { disposeTerms, termValue } from '../../../src/trainer/losses';
import { batchNormTrain, batchNormWith, channelMoments, cnnConfigProblems } from './featureRef';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu } from './harness';

// RepDistiller AB.py criterion_alternative_l2, one layer (w = 1), then / bsz / 1000 · 3.
function expected(s: number[], t: number[], B: number, m = 1): number {
  let sum = 0;
  s.forEach((x, k) => {
    if (x > -m && t[k] <= 0) sum += (x + m) ** 2;
    if (x <= m && t[k] > 0) sum += (x - m) ** 2;
  });
  return (sum / B / 1000) * 3;
}

const B = 2;
const make = (sShape: number[], tShape: number[], connector = 'auto'): Case => ({
  term: { type: 'ab', weight: 0, student: 's', teacher: 't', margin: 1, connector, initEpochs: 30 } as never,
  batch: B,
  // scale 2 so that some student values lie beyond the margin on either side
  student: { s: { shape: sShape, values: randArray(B * sShape.reduce((a, b) => a * b), 51, 2) } },
  teacher: { t: { shape: tShape, values: randArray(B * tShape.reduce((a, b) => a * b), 52) } },
});

test('ab: golden value with equal shapes (no connector, as RepDistiller)', async () => {
  await useCpu();
  const c = make([2, 2, 3], [2, 2, 3]);
  const active = activate(c);
  try {
    assert.equal(active.state!.variables.length, 0);
    close(tf.tidy(() => termValue(active, inputsOf(c)).dataSync()[0]), expected(c.student.s.values, c.teacher!.t.values, B));
  } finally {
    disposeTerms([active]);
  }
});

/** The 1×1-conv connector's output for student values `s` [B·4 positions × 3] with W [3×4] and bias. */
function mapped(s: number[], W: number[], bias: number[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < B * 4; p++) for (let j = 0; j < 4; j++) out.push(bias[j] + [0, 1, 2].reduce((a, i) => a + s[p * 3 + i] * W[i * 4 + j], 0));
  return out;
}

test('ab: golden value through a 1×1-conv connector and its batch norm (training: the batch statistics), set to known weights', async () => {
  await useCpu();
  const c = make([2, 2, 3], [2, 2, 4]);
  const [W, bias, gamma, beta] = [randArray(12, 53, 2), randArray(4, 54), randArray(4, 55, 0.5).map((g) => 1 + g), randArray(4, 56)];
  const active = activate(c);
  try {
    const vars = active.state!.variables;
    assert.deepEqual(vars.map((v) => v.name.split('/').slice(1).join('/')), ['kernel', 'bias', 'bn/gamma', 'bn/beta']);
    [tf.tensor4d(W, [1, 1, 3, 4]), tf.tensor1d(bias), tf.tensor1d(gamma), tf.tensor1d(beta)].forEach((t, i) => vars[i].assign(t));
    const normed = batchNormTrain(mapped(c.student.s.values, W, bias), 4, gamma, beta);
    close(tf.tidy(() => termValue(active, inputsOf(c)).dataSync()[0]), expected(normed, c.teacher!.t.values, B));
  } finally {
    disposeTerms([active]);
  }
});

test("ab: outside training (probes) the batch norm uses its running averages, moved by each training step as torch's (momentum 0.1, unbiased variance)", async () => {
  await useCpu();
  const c = make([2, 2, 3], [2, 2, 4]);
  const active = activate(c);
  try {
    const [kernel, bias, gamma, beta] = active.state!.variables.map((v) => Array.from(v.dataSync()));
    const y = mapped(c.student.s.values, kernel, bias);
    const n = y.length / 4;
    const { mean, variance } = channelMoments(y, 4);
    // Two training steps on the same batch (weights unchanged): running = 0.19·batch + 0.81·start.
    for (let i = 0; i < 2; i++) tf.tidy(() => termValue(active, inputsOf(c)));
    const runningMean = mean.map((m) => 0.19 * m);
    const runningVar = variance.map((v) => 0.81 + 0.19 * ((v * n) / (n - 1)));
    const probe = { ...inputsOf(c), training: false };
    const normed = batchNormWith(y, 4, runningMean, runningVar, gamma, beta);
    close(tf.tidy(() => termValue(active, probe).dataSync()[0]), expected(normed, c.teacher!.t.values, B));
    // A probe moves nothing: the same value again.
    close(tf.tidy(() => termValue(active, probe).dataSync()[0]), expected(normed, c.teacher!.t.values, B));
  } finally {
    disposeTerms([active]);
  }
});

test('ab: the student and the connector get gradients (its bias none: the batch norm takes out every constant), the teacher none; the init stage trains both', async () => {
  await useCpu();
  const c = make([2, 2, 3], [2, 2, 4]);
  const g = gradientsOf(c);
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.equal(g.state.length, 4);
  const [kernel, bias, gamma, beta] = g.state;
  for (const v of [kernel, gamma, beta]) assert.ok(v.some((x) => x !== 0));
  for (const x of bias) assert.ok(Math.abs(x) < 1e-6, `bias gradient ${x}`);
  assert.ok(teacherUntouched(g.teacher));
  const hook = lossDefinition('ab').pretrain!;
  assert.equal(hook.student, true);
  assert.equal(hook.epochs(c.term), 30);
});

test('ab: a dense layer against a conv layer is reported on the teacher', () => {
  const problems = lossDefinition('ab').check!({ type: 'ab', weight: 0, student: 'fc1', teacher: 'conv2', connector: 'auto' } as never, {
    pairs: [{ student: { name: 'fc1', shape: [64] }, teacher: { name: 'conv2', shape: [14, 14, 32] } }],
  });
  assert.deepEqual(problems, [{ field: 'teacher', message: 'no connector maps student fc1 [64] onto teacher conv2 [14×14×32] (one is dense, the other conv)' }]);
});

test('ab: the example term parses in a CNN config', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('ab').example), []);
});
