import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { disposeTerms } from '../../../src/trainer/losses';
import { cnnConfigProblems, normalize, pool } from './featureRef';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';

// RepDistiller AT.py: at(f) = normalize(f.pow(2).mean(1).view(B, -1)); loss = (at(f_s) − at(f_t)).pow(2).mean(),
// the larger map adaptive-average-pooled to the smaller size first.
function at(v: number[], B: number, P: number, C: number): number[][] {
  return Array.from({ length: B }, (_, b) =>
    normalize(
      Array.from({ length: P }, (_, q) => {
        let s = 0;
        for (let c = 0; c < C; c++) s += v[(b * P + q) * C + c] ** 2;
        return s / C;
      }),
    ),
  );
}

function expected(c: Case): number {
  const { s } = c.student;
  const { t } = c.teacher!;
  const [h, w, Ct] = t.shape;
  const as = at(pool(s.values, c.batch, s.shape, h, w), c.batch, h * w, s.shape[2]);
  const atT = at(t.values, c.batch, h * w, Ct);
  let sum = 0;
  for (let b = 0; b < c.batch; b++) for (let q = 0; q < h * w; q++) sum += (as[b][q] - atT[b][q]) ** 2;
  return sum / (c.batch * h * w);
}

const make = (sShape: number[], tShape: number[], B = 2): Case => ({
  term: { type: 'at', weight: 1000, student: 's', teacher: 't', p: 2 },
  batch: B,
  student: { s: { shape: sShape, values: randArray(B * sShape.reduce((a, b) => a * b), 11) } },
  teacher: { t: { shape: tShape, values: randArray(B * tShape.reduce((a, b) => a * b), 12) } },
});

test("at: golden value, the student's 4×4 pooled to the teacher's 2×2", async () => {
  await useCpu();
  const c = make([4, 4, 3], [2, 2, 5]);
  close(valueOf(c), expected(c));
});

test('at: golden value with a non-integer ratio (3×3 → 2×2, overlapping windows as adaptive_avg_pool2d)', async () => {
  await useCpu();
  const c = make([3, 3, 2], [2, 2, 4]);
  close(valueOf(c), expected(c));
});

test('at: the student gets gradients, the teacher none', async () => {
  await useCpu();
  const g = gradientsOf(make([4, 4, 3], [2, 2, 5]));
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
});

test('at: maps() are the two attention maps as [B, h, w, 1] at the common size', async () => {
  await useCpu();
  const c = make([4, 4, 3], [2, 2, 5]);
  const active = activate(c);
  try {
    tf.tidy(() => {
      const [m] = active.def.maps!(c.term, inputsOf(c), active.state);
      assert.deepEqual(m.student.shape, [2, 2, 2, 1]);
      assert.deepEqual(m.teacher.shape, [2, 2, 2, 1]);
      // each example's map has unit L2 norm
      for (const row of tf.sum(tf.square(m.teacher), [1, 2, 3]).arraySync() as number[]) close(row, 1);
    });
  } finally {
    disposeTerms([active]);
  }
});

test('at: a dense layer is reported on its field', () => {
  const problems = lossDefinition('at').check!({ type: 'at', weight: 1, student: 'fc1', teacher: 'conv2', p: 2 } as never, {
    pairs: [{ student: { name: 'fc1', shape: [64] }, teacher: { name: 'conv2', shape: [14, 14, 32] } }],
  });
  assert.deepEqual(problems, [{ field: 'student', message: 'at needs conv layers [h×w×c]; student fc1 [64] is dense' }]);
});

test('at: the example term parses in a CNN config', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('at').example), []);
});
