import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { activate, type Case, close, finiteDifference, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';
import { normalize } from './featureRef';
import { dot, mlpConfigProblems, rows } from './relationRef';

// RepDistiller RKD.py: pdist = √max(‖e_i‖² + ‖e_j‖² − 2⟨e_i, e_j⟩, 1e-12) with a zero diagonal,
// over the mean of its positive entries; angles[i][j][k] = ⟨n(e_j − e_i), n(e_k − e_i)⟩;
// loss = w_d·smoothL1(d_s, d_t) + w_a·smoothL1(a_s, a_t), each a mean.
function distances(v: number[], B: number): number[][] {
  const e = rows(v, B);
  const d = e.map((a, i) => e.map((b, j) => (i === j ? 0 : Math.sqrt(Math.max(dot(a, a) + dot(b, b) - 2 * dot(a, b), 1e-12)))));
  const positive = d.flat().filter((x) => x > 0);
  const mean = positive.reduce((s, x) => s + x, 0) / positive.length;
  return d.map((r) => r.map((x) => x / mean));
}

function angles(v: number[], B: number): number[][][] {
  const e = rows(v, B);
  return e.map((ei) => {
    const n = e.map((ej) => normalize(ej.map((x, d) => x - ei[d])));
    return n.map((a) => n.map((b) => dot(a, b)));
  });
}

const smoothL1 = (a: number[], b: number[]) =>
  a.reduce((s, x, i) => {
    const z = Math.abs(x - b[i]);
    return s + (z < 1 ? 0.5 * z * z : z - 0.5);
  }, 0) / a.length;

function expected(c: Case, wd: number, wa: number): number {
  const [s, t] = [c.student.s.values, c.teacher!.t.values];
  const B = c.batch;
  return wd * smoothL1(distances(s, B).flat(), distances(t, B).flat()) + wa * smoothL1(angles(s, B).flat(2), angles(t, B).flat(2));
}

const make = (distanceWeight = 25, angleWeight = 50, batch = 5): Case => ({
  term: { type: 'rkd', weight: 1, student: 's', teacher: 't', distanceWeight, angleWeight },
  batch,
  student: { s: { shape: [3], values: randArray(batch * 3, 61) } },
  teacher: { t: { shape: [2, 2, 2], values: randArray(batch * 8, 62) } },
});

test("rkd: golden value with RepDistiller's weights (25, 50)", async () => {
  await useCpu();
  const c = make();
  close(valueOf(c), expected(c, 25, 50));
});

test('rkd: golden value, distance and angle apart', async () => {
  await useCpu();
  close(valueOf(make(1, 0)), expected(make(1, 0), 1, 0));
  close(valueOf(make(0, 1)), expected(make(0, 1), 0, 1));
});

test('rkd: the student gets finite gradients, the teacher none; a batch of one gives 0', async () => {
  await useCpu();
  const g = gradientsOf(make());
  assert.ok(g.student.s.some((x) => x !== 0));
  assert.ok(g.student.s.every(Number.isFinite));
  assert.ok(teacherUntouched(g.teacher));
  assert.equal(valueOf(make(25, 50, 1)), 0);
});

test("rkd: the gradient matches finite differences of the student's features", async () => {
  await useCpu();
  const c = make();
  const g = gradientsOf(c).student.s;
  const entries = Array.from({ length: 15 }, (_, i) => i);
  finiteDifference(c, 's', entries).forEach((fd, i) => close(g[i], fd, 1e-2, `entry ${i}:`));
});

test("rkd: relations() gives the distance matrices and the first sample's angle matrix", async () => {
  await useCpu();
  const c = make();
  const active = activate(c);
  const r = tf.tidy(() => active.def.relations!(active.term, inputsOf(c), active.state).map((x) => ({ name: x.name, student: x.student.arraySync() as number[][], teacher: x.teacher.arraySync() as number[][] })));
  assert.equal(r.length, 2);
  const d = distances(c.teacher!.t.values, 5);
  r[0].teacher.forEach((row, i) => row.forEach((x, j) => close(x, d[i][j])));
  const a = angles(c.student.s.values, 5)[0];
  r[1].student.forEach((row, i) => row.forEach((x, j) => close(x, a[i][j])));
});

test('rkd: the example term parses', () => {
  assert.deepEqual(mlpConfigProblems(lossDefinition('rkd').example), []);
});
