import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';
import { dot, mlpConfigProblems, rows } from './relationRef';

// RepDistiller PKT.py: x̂ = x / (‖x‖ + 1e-7); K = (x̂·x̂ᵀ + 1)/2; P = K over its row sums;
// loss = mean over all B² entries of P_t·log((P_t + 1e-7) / (P_s + 1e-7)).
function probabilities(v: number[], B: number): number[][] {
  const x = rows(v, B).map((r) => {
    const n = Math.sqrt(dot(r, r)) + 1e-7;
    return r.map((a) => a / n);
  });
  const k = x.map((a) => x.map((b) => (dot(a, b) + 1) / 2));
  return k.map((r) => {
    const s = r.reduce((a, b) => a + b, 0);
    return r.map((a) => a / s);
  });
}

function expected(c: Case): number {
  const ps = probabilities(c.student.s.values, c.batch).flat();
  const pt = probabilities(c.teacher!.t.values, c.batch).flat();
  return pt.reduce((s, p, i) => s + p * Math.log((p + 1e-7) / (ps[i] + 1e-7)), 0) / pt.length;
}

const make = (studentValues?: number[]): Case => ({
  term: { type: 'pkt', weight: 30000, student: 's', teacher: 't' },
  batch: 5,
  student: { s: { shape: [4], values: studentValues ?? randArray(20, 71) } },
  teacher: { t: { shape: [3, 1, 2], values: randArray(30, 72) } },
});

test('pkt: golden value', async () => {
  await useCpu();
  const c = make();
  close(valueOf(c), expected(c));
});

test('pkt: the student gets gradients, the teacher none; an all-zero example gives no NaN', async () => {
  await useCpu();
  const g = gradientsOf(make());
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
  const zeroRow = randArray(20, 71).map((x, i) => (i < 4 ? 0 : x));
  close(valueOf(make(zeroRow)), expected(make(zeroRow)));
  assert.ok(gradientsOf(make(zeroRow)).student.s.every(Number.isFinite));
});

test('pkt: relations() gives the two conditional probability matrices', async () => {
  await useCpu();
  const c = make();
  const active = activate(c);
  const [r] = tf.tidy(() => active.def.relations!(active.term, inputsOf(c), active.state).map((x) => ({ student: x.student.arraySync() as number[][], teacher: x.teacher.arraySync() as number[][] })));
  const [ps, pt] = [probabilities(c.student.s.values, 5), probabilities(c.teacher!.t.values, 5)];
  r.student.forEach((row, i) => row.forEach((x, j) => close(x, ps[i][j])));
  r.teacher.forEach((row, i) => row.forEach((x, j) => close(x, pt[i][j])));
});

test('pkt: the example term parses', () => {
  assert.deepEqual(mlpConfigProblems(lossDefinition('pkt').example), []);
});
