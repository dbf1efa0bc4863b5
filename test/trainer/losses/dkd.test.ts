import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossDefinition } from '../../../src/core/losses';
import { type Case, close, finiteDifference, gradientsOf, randArray, teacherUntouched, useCpu, valueOf } from './harness';
import { mlpConfigProblems, rows, softmax } from './relationRef';

// mdistiller dkd_loss, literally: TCKD on [p(y), Σ_{c≠y} p(c)], NCKD on softmax(z/T − 1000·gt),
// both F.kl_div(log q_s, q_t, sum)·T²/B (a target probability of 0 contributes 0), times
// min(epoch / warmup, 1).
function expected(c: Case, alpha: number, beta: number, T: number, warmup: number): number {
  const B = c.batch;
  const zs = rows(c.student.logits.values, B);
  const zt = rows(c.teacher!.logits.values, B);
  const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => (pi === 0 ? s : s + pi * (Math.log(pi) - Math.log(q[i]))), 0);
  let tckd = 0;
  let nckd = 0;
  for (let b = 0; b < B; b++) {
    const y = c.labels![b];
    const ps = softmax(zs[b].map((x) => x / T));
    const pt = softmax(zt[b].map((x) => x / T));
    const binary = (p: number[]) => [p[y], p.reduce((s, pi, i) => (i === y ? s : s + pi), 0)];
    tckd += kl(binary(pt), binary(ps));
    const masked = (z: number[]) => softmax(z.map((x, i) => x / T - (i === y ? 1000 : 0)));
    nckd += kl(masked(zt[b]), masked(zs[b]));
  }
  const ramp = Math.min(c.epoch! / warmup, 1);
  return (ramp * (alpha * tckd + beta * nckd) * T * T) / B;
}

const make = (epoch: number, temperature?: number): Case => ({
  term: { type: 'dkd', weight: 1, alpha: 1, beta: 8, warmup: 20, ...(temperature ? { temperature } : {}) },
  batch: 4,
  student: { logits: { shape: [5], values: randArray(20, 31, 3) } },
  teacher: { logits: { shape: [5], values: randArray(20, 32, 3) } },
  labels: [0, 3, 4, 3],
  epoch,
  temperature: 2,
});

test('dkd: golden value during the warm-up (epoch 5 of 20: a quarter)', async () => {
  await useCpu();
  const c = make(5, 4);
  close(valueOf(c), expected(c, 1, 8, 4, 20));
});

test('dkd: golden value after the warm-up, temperature from distillation.temperature', async () => {
  await useCpu();
  const c = make(30);
  close(valueOf(c), expected(c, 1, 8, 2, 20));
});

test('dkd: the student gets gradients, the teacher none', async () => {
  await useCpu();
  const g = gradientsOf(make(25, 4));
  assert.ok(g.student.logits.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
});

test("dkd: the gradient matches finite differences of the student's logits", async () => {
  await useCpu();
  const c = make(25, 4);
  const g = gradientsOf(c).student.logits;
  const entries = Array.from({ length: 20 }, (_, i) => i);
  finiteDifference(c, 'logits', entries).forEach((fd, i) => close(g[i], fd, 1e-2, `entry ${i}:`));
});

test('dkd: the example term parses', () => {
  assert.deepEqual(mlpConfigProblems(lossDefinition('dkd').example), []);
});
