import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import type { CrdState } from '../../../src/core/losses/crd';
import { type ActiveTerm, disposeTerms, termValue } from '../../../src/trainer/losses';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu } from './harness';
import { normalize } from './featureRef';
import { dot, linear, mlpConfigProblems, rows } from './relationRef';

// RepDistiller crd/criterion.py + crd/memory.py, in plain JS: v = normalize(W·f + b) per side;
// out_s[i][k] = exp(⟨M_t[j_ik], v_s[i]⟩/τ), out_t[i][k] = exp(⟨M_s[j_ik], v_t[i]⟩/τ) with j_i0 the
// example's index and j_ik (k ≥ 1) its negatives; Z = mean(out)·N once; ContrastLoss on out/Z;
// then M[y_i] = normalize(m·M[y_i] + (1 − m)·v).
const [B, F, K, N] = [3, 3, 2, 6];
const TAU = 0.07;
const weights = { ks: randArray(4 * F, 91), bs: randArray(F, 92, 0.1), kt: randArray(5 * F, 93), bt: randArray(F, 94, 0.1) };
const NEGATIVES = [1, 5, 3, 3, 0, 4]; // [B, K]
const INDICES = [4, 0, 2];

interface Bank {
  s: number[][];
  t: number[][];
  zS?: number;
  zT?: number;
}

function contrastLoss(x: number[][]): number {
  const mPn = K / N;
  let sum = 0;
  for (const r of x) {
    sum += Math.log(r[0] / (r[0] + mPn + 1e-7));
    for (let k = 1; k <= K; k++) sum += Math.log(mPn / (r[k] + mPn + 1e-7));
  }
  return -sum / x.length;
}

/** One training step of the reference on the bank (updated in place): the loss. */
function referenceStep(c: Case, bank: Bank): number {
  const vS = linear(rows(c.student.s.values, B), weights.ks, weights.bs).map(normalize);
  const vT = linear(rows(c.teacher!.t.values, B), weights.kt, weights.bt).map(normalize);
  const idx = INDICES.map((y, i) => [y, ...NEGATIVES.slice(i * K, (i + 1) * K)]);
  const outS = idx.map((js, i) => js.map((j) => Math.exp(dot(bank.t[j], vS[i]) / TAU)));
  const outT = idx.map((js, i) => js.map((j) => Math.exp(dot(bank.s[j], vT[i]) / TAU)));
  const mean = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0) / (B * (K + 1));
  bank.zS ??= mean(outS) * N;
  bank.zT ??= mean(outT) * N;
  const loss = contrastLoss(outS.map((r) => r.map((x) => x / bank.zS!))) + contrastLoss(outT.map((r) => r.map((x) => x / bank.zT!)));
  INDICES.forEach((y, i) => {
    bank.s[y] = normalize(bank.s[y].map((x, d) => 0.5 * x + 0.5 * vS[i][d]));
    bank.t[y] = normalize(bank.t[y].map((x, d) => 0.5 * x + 0.5 * vT[i][d]));
  });
  return loss;
}

const make = (seed: number, negatives = K): Case => ({
  term: { type: 'crd', weight: 0.8, student: 's', teacher: 't', featDim: F, negatives, tau: TAU, momentum: 0.5 },
  batch: B,
  student: { s: { shape: [4], values: randArray(B * 4, seed) } },
  teacher: { t: { shape: [5], values: randArray(B * 5, seed + 1) } },
  indices: INDICES,
  trainCount: N,
});

const stateOf = (a: ActiveTerm) => a.state as CrdState;

/** The case's term with known embeddings, memory banks and negatives. */
function activeWithKnownState(c: Case, bank: Bank) {
  const active = activate(c);
  const s = stateOf(active);
  s.embedS.kernel.assign(tf.tensor(weights.ks, [4, F]));
  s.embedS.bias.assign(tf.tensor(weights.bs));
  s.embedT.kernel.assign(tf.tensor(weights.kt, [5, F]));
  s.embedT.bias.assign(tf.tensor(weights.bt));
  s.memoryS.assign(tf.tensor(bank.s));
  s.memoryT.assign(tf.tensor(bank.t));
  s.negatives = () => Int32Array.from(NEGATIVES);
  return active;
}

const value = (active: ActiveTerm, c: Case, training = true) => tf.tidy(() => termValue(active, { ...inputsOf(c), training }).dataSync()[0]);

test('crd: golden values over two training steps (Z fixed by the first, banks updated by momentum)', async () => {
  await useCpu();
  const bank: Bank = { s: rows(randArray(N * F, 95), N), t: rows(randArray(N * F, 96), N) };
  const active = activeWithKnownState(make(97), bank);
  try {
    close(value(active, make(97)), referenceStep(make(97), bank));
    const s = stateOf(active);
    close(s.zS.dataSync()[0], bank.zS!, 1e-5, 'Z_s');
    close(s.zT.dataSync()[0], bank.zT!, 1e-5, 'Z_t');
    (s.memoryS.arraySync() as number[][]).forEach((r, i) => r.forEach((x, d) => close(x, bank.s[i][d], 1e-5, `memoryS[${i}][${d}]`)));
    (s.memoryT.arraySync() as number[][]).forEach((r, i) => r.forEach((x, d) => close(x, bank.t[i][d], 1e-5, `memoryT[${i}][${d}]`)));
    close(value(active, make(98)), referenceStep(make(98), bank));
  } finally {
    disposeTerms([active]);
  }
});

test('crd: outside training the banks and Z stay as they are', async () => {
  await useCpu();
  const active = activate(make(97));
  try {
    const s = stateOf(active);
    const before = s.memoryS.dataSync().slice();
    value(active, make(97), false);
    assert.deepEqual(s.memoryS.dataSync(), before);
    assert.equal(s.zS.dataSync()[0], -1);
  } finally {
    disposeTerms([active]);
  }
});

test('crd: negatives are uniform indices from the seeded stream, a fixed sample outside training', async () => {
  await useCpu();
  const [a, b] = [activate(make(97)), activate(make(97))];
  try {
    const [sa, sb] = [stateOf(a), stateOf(b)];
    const first = sa.negatives(200, true);
    assert.ok(first.every((j) => j >= 0 && j < N));
    assert.equal(new Set(first).size, N);
    assert.deepEqual(sb.negatives(200, true), first);
    assert.notDeepEqual(sa.negatives(200, true), first);
    assert.deepEqual(sa.negatives(200, false), sb.negatives(200, false));
  } finally {
    disposeTerms([a, b]);
  }
});

test('crd: the student and both embeddings get gradients, the teacher and the banks none', async () => {
  await useCpu();
  const g = gradientsOf(make(97));
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.equal(g.state.length, 4);
  g.state.forEach((v, i) => assert.ok(v.some((x) => x !== 0), `variable ${i}`));
  assert.ok(teacherUntouched(g.teacher));
});

// With training = false the banks, Z and the negatives (a fixed sample) are held fixed, so the
// value is a function of the student's features alone; one training step first sets Z (else each
// call would take Z from its own batch, which the reference treats as a constant). τ = 0.5 keeps
// exp(·/τ) moderate, so float32 differences of the value are accurate enough.
test("crd: the gradient matches finite differences of the student's features (banks and negatives fixed)", async () => {
  await useCpu();
  const c = { ...make(97, 3), term: { ...make(97, 3).term, tau: 0.5 } } as Case;
  const active = activate(c);
  try {
    value(active, c, true);
    const at = (values: number[]) => value(active, { ...c, student: { s: { shape: [4], values } } }, false);
    const sv = tf.variable(tf.tensor(c.student.s.values, [B, 4]));
    const { grads } = tf.variableGrads(() => termValue(active, { ...inputsOf(c, new Map([['s', sv as tf.Tensor]])), training: false }), [sv]);
    const g = Array.from(grads[sv.name].dataSync());
    tf.dispose([sv, ...Object.values(grads)]);
    assert.ok(g.some((x) => Math.abs(x) > 0.1), `gradients too small to compare: ${g}`);
    const h = 1e-2;
    c.student.s.values.forEach((_, k) => {
      const plus = c.student.s.values.slice();
      const minus = c.student.s.values.slice();
      plus[k] += h;
      minus[k] -= h;
      close(g[k], (at(plus) - at(minus)) / (2 * h), 1e-2, `entry ${k}:`);
    });
  } finally {
    disposeTerms([active]);
  }
});

test('crd: negatives not below the training examples are reported on `negatives`', () => {
  const term = { type: 'crd', weight: 0.8, student: 'fc2', teacher: 'fc2', featDim: 128, negatives: 4096, tau: 0.07, momentum: 0.5 };
  const pairs = [{ student: { name: 'fc2', shape: [32] }, teacher: { name: 'fc2', shape: [32] } }];
  assert.deepEqual(lossDefinition('crd').check!(term as never, { pairs, trainCount: 4096 }), [
    { field: 'negatives', message: 'crd draws its negatives from the training examples: negatives 4096 must be below the 4096 training examples' },
  ]);
  assert.deepEqual(lossDefinition('crd').check!(term as never, { pairs, trainCount: 4097 }), []);
  assert.deepEqual(lossDefinition('crd').check!(term as never, { pairs }), []);
});

test('crd: the example term parses; the default 4096 negatives on 4,000 training examples is reported', () => {
  const example = lossDefinition('crd').example;
  assert.deepEqual(mlpConfigProblems(example), []);
  const problems = mlpConfigProblems({ ...example, negatives: undefined }, 4000);
  assert.deepEqual(problems.map((p) => p.code), ['loss-misuse']);
  assert.match(problems[0].message, /negatives 4096 must be below the 4000 training examples/);
});
