import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { disposeTerms, termValue } from '../../../src/trainer/losses';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';
import { dot, linear, mlpConfigProblems, rows } from './relationRef';

// RepDistiller CC.py with train_student.py's LinearEmbed heads: e = W·flatten(f) + b per side,
// δ = |e_s − e_t|, loss = mean over i < B−1 of Σ_d δ[i][d]·δ[i+1][d].
const F = 3;
const weights = { ks: randArray(4 * F, 81, 0.5), bs: randArray(F, 82, 0.1), kt: randArray(6 * F, 83, 0.5), bt: randArray(F, 84, 0.1) };

function embeddings(c: Case) {
  return {
    s: linear(rows(c.student.s.values, c.batch), weights.ks, weights.bs),
    t: linear(rows(c.teacher!.t.values, c.batch), weights.kt, weights.bt),
  };
}

function expected(c: Case): number {
  const { s, t } = embeddings(c);
  const delta = s.map((r, i) => r.map((x, d) => Math.abs(x - t[i][d])));
  let sum = 0;
  for (let i = 0; i < c.batch - 1; i++) sum += dot(delta[i], delta[i + 1]);
  return sum / (c.batch - 1);
}

const make = (batch = 5): Case => ({
  term: { type: 'cc', weight: 0.02, student: 's', teacher: 't', featDim: F },
  batch,
  student: { s: { shape: [4], values: randArray(batch * 4, 85) } },
  teacher: { t: { shape: [1, 2, 3], values: randArray(batch * 6, 86) } },
});

/** The case's term, activated, with its embeddings set to `weights` (kernel, bias of each side). */
function activeWithWeights(c: Case) {
  const active = activate(c);
  const [ks, bs, kt, bt] = active.state!.variables;
  ks.assign(tf.tensor(weights.ks, [4, F]));
  bs.assign(tf.tensor(weights.bs));
  kt.assign(tf.tensor(weights.kt, [6, F]));
  bt.assign(tf.tensor(weights.bt));
  return active;
}

test('cc: golden value with known embeddings', async () => {
  await useCpu();
  const c = make();
  const active = activeWithWeights(c);
  try {
    close(tf.tidy(() => termValue(active, inputsOf(c)).dataSync()[0]), expected(c));
  } finally {
    disposeTerms([active]);
  }
});

test('cc: the student and both embeddings get gradients, the teacher none; a batch of one gives 0', async () => {
  await useCpu();
  const g = gradientsOf(make());
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.equal(g.state.length, 4);
  g.state.forEach((v, i) => assert.ok(v.some((x) => x !== 0), `variable ${i}`));
  assert.ok(teacherUntouched(g.teacher));
  assert.equal(valueOf(make(1)), 0);
});

test('cc: the embeddings are named for weight decay and sized featDim', async () => {
  await useCpu();
  const active = activate({ ...make(), term: { type: 'cc', weight: 1, student: 's', teacher: 't', featDim: 128 } });
  try {
    const vars = active.state!.variables;
    assert.deepEqual(vars.map((v) => v.shape), [[4, 128], [128], [6, 128], [128]]);
    assert.match(vars[0].name, /^cc\d+\/embedS\/kernel$/);
    assert.match(vars[2].name, /^cc\d+\/embedT\/kernel$/);
  } finally {
    disposeTerms([active]);
  }
});

test("cc: relations() gives the embeddings' Gram matrices", async () => {
  await useCpu();
  const c = make();
  const active = activeWithWeights(c);
  try {
    const [r] = tf.tidy(() => active.def.relations!(active.term, inputsOf(c), active.state).map((x) => ({ student: x.student.arraySync() as number[][], teacher: x.teacher.arraySync() as number[][] })));
    const { s, t } = embeddings(c);
    r.student.forEach((row, i) => row.forEach((x, j) => close(x, dot(s[i], s[j]))));
    r.teacher.forEach((row, i) => row.forEach((x, j) => close(x, dot(t[i], t[j]))));
  } finally {
    disposeTerms([active]);
  }
});

test('cc: the example term parses', () => {
  assert.deepEqual(mlpConfigProblems(lossDefinition('cc').example), []);
});
