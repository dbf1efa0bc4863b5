import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';
import { cnnConfigProblems, normalize } from './featureRef';
import { dot, rows } from './relationRef';

// RepDistiller SP.py: G = F.normalize(f·fᵀ) (rows), loss = ‖G_t − G_s‖²_F / B², f flattened.
const gramOf = (v: number[], B: number) => {
  const f = rows(v, B);
  return f.map((a) => normalize(f.map((b) => dot(a, b))));
};

function expected(c: Case): number {
  const gs = gramOf(c.student.s.values, c.batch);
  const gt = gramOf(c.teacher!.t.values, c.batch);
  let sum = 0;
  for (let i = 0; i < c.batch; i++) for (let j = 0; j < c.batch; j++) sum += (gt[i][j] - gs[i][j]) ** 2;
  return sum / c.batch ** 2;
}

const make = (studentValues?: number[]): Case => ({
  term: { type: 'sp', weight: 3000, student: 's', teacher: 't' },
  batch: 4,
  student: { s: { shape: [2, 2, 3], values: studentValues ?? randArray(48, 51) } },
  teacher: { t: { shape: [5], values: randArray(20, 52) } },
});

test('sp: golden value, a conv student against a dense teacher', async () => {
  await useCpu();
  const c = make();
  close(valueOf(c), expected(c));
});

test('sp: the student gets gradients, the teacher none; an all-zero example gives no NaN', async () => {
  await useCpu();
  assert.ok(gradientsOf(make()).student.s.some((x) => x !== 0));
  assert.ok(teacherUntouched(gradientsOf(make()).teacher));
  const zeroRow = randArray(48, 51).map((x, i) => (i < 12 ? 0 : x));
  close(valueOf(make(zeroRow)), expected(make(zeroRow)));
  assert.ok(gradientsOf(make(zeroRow)).student.s.every(Number.isFinite));
});

test('sp: relations() gives the two row-normalised Gram matrices', async () => {
  await useCpu();
  const c = make();
  const active = activate(c);
  const [r] = tf.tidy(() => active.def.relations!(active.term, inputsOf(c), active.state).map((x) => ({ ...x, student: x.student.arraySync(), teacher: x.teacher.arraySync() })));
  const want = gramOf(c.student.s.values, 4);
  (r.student as number[][]).forEach((row, i) => row.forEach((x, j) => close(x, want[i][j])));
  assert.equal((r.teacher as number[][]).length, 4);
});

test('sp: the example term parses', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('sp').example), []);
});
