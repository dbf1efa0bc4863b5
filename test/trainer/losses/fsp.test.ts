import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { disposeTerms } from '../../../src/trainer/losses';
import { at3, cnnConfigProblems, pool } from './featureRef';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, type TapSpec, teacherUntouched, useCpu, valueOf } from './harness';

// RepDistiller FSP.py compute_fsp: the larger of bot/top pooled to the other's size, then
// fsp[b, j, i] = mean over positions of top_j·bot_i; compute_loss = (s − t).pow(2).mean().
function fsp(bot: TapSpec, top: TapSpec, B: number): number[] {
  const [h, w] = [Math.min(bot.shape[0], top.shape[0]), Math.min(bot.shape[1], top.shape[1])];
  const [Ca, Cb] = [bot.shape[2], top.shape[2]];
  const f = at3(pool(bot.values, B, bot.shape, h, w), h * w, Ca);
  const g = at3(pool(top.values, B, top.shape, h, w), h * w, Cb);
  const out: number[] = [];
  for (let b = 0; b < B; b++)
    for (let j = 0; j < Cb; j++)
      for (let i = 0; i < Ca; i++) {
        let s = 0;
        for (let q = 0; q < h * w; q++) s += g(b, q, j) * f(b, q, i);
        out.push(s / (h * w));
      }
  return out;
}

const spec = (shape: number[], B: number, seed: number): TapSpec => ({ shape, values: randArray(B * shape.reduce((a, b) => a * b), seed) });

const B = 2;
const c: Case = {
  term: { type: 'fsp', weight: 0, student: 's1', studentTo: 's2', teacher: 't1', teacherTo: 't2', initEpochs: 30 },
  batch: B,
  // The student's first map is the larger (4×4 → 2×2), the teacher's second (6×6 → 3×3).
  student: { s1: spec([4, 4, 2], B, 31), s2: spec([2, 2, 3], B, 32) },
  teacher: { t1: spec([3, 3, 2], B, 33), t2: spec([6, 6, 3], B, 34) },
};

function expected(): number {
  const s = fsp(c.student.s1, c.student.s2, B);
  const t = fsp(c.teacher!.t1, c.teacher!.t2, B);
  return s.reduce((a, x, k) => a + (x - t[k]) ** 2, 0) / s.length;
}

test('fsp: golden value (each network pools the larger of its two maps)', async () => {
  await useCpu();
  close(valueOf(c), expected());
});

test('fsp: the init-stage hook trains the student for initEpochs on the same loss; maps are the flow matrices [B, Ca, Cb]', async () => {
  await useCpu();
  const def = lossDefinition('fsp');
  const active = activate(c);
  try {
    assert.equal(def.pretrain!.epochs(c.term), 30);
    assert.equal(def.pretrain!.student, true);
    tf.tidy(() => {
      const inputs = inputsOf(c);
      close(def.pretrain!.compute(c.term, inputs, active.state).dataSync()[0], expected());
      const [m] = def.maps!(c.term, inputs, active.state);
      assert.deepEqual(m.student.shape, [B, 2, 3]);
      assert.deepEqual(m.teacher.shape, [B, 2, 3]);
    });
  } finally {
    disposeTerms([active]);
  }
});

test('fsp: both student layers get gradients, the teacher none', async () => {
  await useCpu();
  const g = gradientsOf(c);
  assert.ok(g.student.s1.some((x) => x !== 0));
  assert.ok(g.student.s2.some((x) => x !== 0));
  assert.ok(teacherUntouched(g.teacher));
});

test('fsp: unequal channel counts and dense layers are reported on their fields', () => {
  const check = lossDefinition('fsp').check!;
  const term = c.term as never;
  const conv = (name: string, shape: number[]) => ({ name, shape });
  assert.deepEqual(
    check(term, {
      pairs: [
        { student: conv('conv1', [28, 28, 8]), teacher: conv('conv1', [28, 28, 8]) },
        { student: conv('conv2', [14, 14, 16]), teacher: conv('conv2', [14, 14, 32]) },
      ],
    }),
    [
      {
        field: 'teacherTo',
        message: "fsp compares the flow matrices entry by entry, so paired layers need equal channel counts (RepDistiller's FSP raises the same error): student conv2 [14×14×16] has 16, teacher conv2 [14×14×32] has 32",
      },
    ],
  );
  assert.deepEqual(
    check(term, { pairs: [{ student: conv('conv1', [28, 28, 8]), teacher: conv('conv1', [28, 28, 8]) }, { student: conv('fc1', [32]), teacher: conv('conv2', [14, 14, 16]) }] }),
    [{ field: 'studentTo', message: 'fsp needs conv layers [h×w×c]; student fc1 [32] is dense' }],
  );
});

test('fsp: the example term parses in a CNN config whose channel counts match', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('fsp').example, [8, 16]), []);
});
