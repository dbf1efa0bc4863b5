import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossDefinition } from '../../../src/core/losses';
import { type Case, close, gradientsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';
import { dot, mlpConfigProblems, rows, softmax } from './relationRef';

// MMRazor DISTLoss: y = softmax(z/τ); ρ(a, b) = cos(a − ā, b − b̄) with eps 1e-8 on the norms'
// product; inter = 1 − mean over examples of ρ(rows), intra = the same over classes (columns);
// loss = τ²·(β·inter + γ·intra).
function pearsonLoss(a: number[][], b: number[][]): number {
  const centred = (v: number[]) => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return v.map((x) => x - m);
  };
  const rho = a.map((ar, i) => {
    const [ca, cb] = [centred(ar), centred(b[i])];
    return dot(ca, cb) / (Math.sqrt(dot(ca, ca)) * Math.sqrt(dot(cb, cb)) + 1e-8);
  });
  return 1 - rho.reduce((s, x) => s + x, 0) / rho.length;
}

function expected(c: Case, beta: number, gamma: number, tau: number): number {
  const ys = rows(c.student.logits.values, c.batch).map((z) => softmax(z.map((x) => x / tau)));
  const yt = rows(c.teacher!.logits.values, c.batch).map((z) => softmax(z.map((x) => x / tau)));
  const transpose = (m: number[][]) => m[0].map((_, j) => m.map((r) => r[j]));
  return tau * tau * (beta * pearsonLoss(ys, yt) + gamma * pearsonLoss(transpose(ys), transpose(yt)));
}

const make = (interWeight: number, intraWeight: number, tau: number, batch = 4): Case => ({
  term: { type: 'dist', weight: 1, interWeight, intraWeight, tau },
  batch,
  student: { logits: { shape: [6], values: randArray(batch * 6, 41, 3) } },
  teacher: { logits: { shape: [6], values: randArray(batch * 6, 42, 3) } },
});

test('dist: golden value with MMRazor\'s defaults (β = γ = τ = 1)', async () => {
  await useCpu();
  const c = make(1, 1, 1);
  close(valueOf(c), expected(c, 1, 1, 1));
});

test('dist: golden value with other weights and τ = 2', async () => {
  await useCpu();
  const c = make(0.5, 2, 2);
  close(valueOf(c), expected(c, 0.5, 2, 2));
});

test('dist: the student gets gradients, the teacher none', async () => {
  await useCpu();
  const g = gradientsOf(make(1, 1, 1));
  assert.ok(g.student.logits.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
});

test('dist: a batch of one (no intra-class correlation) gives finite gradients', async () => {
  await useCpu();
  const c = make(1, 1, 1, 1);
  close(valueOf(c), expected(c, 1, 1, 1));
  assert.ok(gradientsOf(c).student.logits.every(Number.isFinite));
});

test('dist: the example term parses', () => {
  assert.deepEqual(mlpConfigProblems(lossDefinition('dist').example), []);
});
