import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossDefinition } from '../../../src/core/losses';
import { cnnConfigProblems, normalize, pool } from './featureRef';
import { type Case, close, gradientsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';

// RepDistiller NST.py: f.view(B, C, -1) normalised over positions (dim 2);
// poly_kernel(a, b)[b, i, j] = (Σ_p b_i[p]·a_j[p])²; loss = K(t,t).mean() + K(s,s).mean() − 2·K(s,t).mean().
function channels(v: number[], B: number, P: number, C: number): number[][][] {
  return Array.from({ length: B }, (_, b) => Array.from({ length: C }, (_, c) => normalize(Array.from({ length: P }, (_, q) => v[(b * P + q) * C + c]))));
}

function meanKernel(a: number[][][], b: number[][][]): number {
  let sum = 0;
  let n = 0;
  for (let k = 0; k < a.length; k++)
    for (const x of b[k])
      for (const y of a[k]) {
        sum += x.reduce((s, xi, p) => s + xi * y[p], 0) ** 2;
        n++;
      }
  return sum / n;
}

function expected(c: Case): number {
  const { s } = c.student;
  const { t } = c.teacher!;
  const [h, w, Ct] = t.shape;
  const fs = channels(pool(s.values, c.batch, s.shape, h, w), c.batch, h * w, s.shape[2]);
  const ft = channels(t.values, c.batch, h * w, Ct);
  return meanKernel(ft, ft) + meanKernel(fs, fs) - 2 * meanKernel(fs, ft);
}

const make = (sShape: number[], tShape: number[], B = 2): Case => ({
  term: { type: 'nst', weight: 50, student: 's', teacher: 't' },
  batch: B,
  student: { s: { shape: sShape, values: randArray(B * sShape.reduce((a, b) => a * b), 21) } },
  teacher: { t: { shape: tShape, values: randArray(B * tShape.reduce((a, b) => a * b), 22) } },
});

test("nst: golden value, the student's 4×4×3 pooled to the teacher's 2×2 (5 channels)", async () => {
  await useCpu();
  const c = make([4, 4, 3], [2, 2, 5]);
  close(valueOf(c), expected(c));
});

test('nst: golden value, equal sizes', async () => {
  await useCpu();
  const c = make([3, 3, 4], [3, 3, 2], 3);
  close(valueOf(c), expected(c));
});

test('nst: the student gets gradients, the teacher none', async () => {
  await useCpu();
  const g = gradientsOf(make([4, 4, 3], [2, 2, 5]));
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
});

test('nst: a dead channel (all zeros, common after ReLU) gives finite gradients', async () => {
  await useCpu();
  const c = make([2, 2, 3], [2, 2, 2]);
  const values = c.student.s.values.map((x, k) => (k % 3 === 1 ? 0 : x)); // channel 1 of every position
  const g = gradientsOf({ ...c, student: { s: { ...c.student.s, values } } });
  assert.ok(g.student.s.every(Number.isFinite));
  assert.ok(g.student.s.some((x) => x !== 0));
});

test('nst: a dense layer is reported on its field', () => {
  const problems = lossDefinition('nst').check!({ type: 'nst', weight: 1, student: 'conv2', teacher: 'fc1' } as never, {
    pairs: [{ student: { name: 'conv2', shape: [14, 14, 16] }, teacher: { name: 'fc1', shape: [64] } }],
  });
  assert.deepEqual(problems, [{ field: 'teacher', message: 'nst needs conv layers [h×w×c]; teacher fc1 [64] is dense' }]);
});

test('nst: the example term parses in a CNN config', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('nst').example), []);
});
