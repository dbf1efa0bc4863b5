import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawShifts, gatherLabels, gatherRows, jitterImages } from '../../src/trainer/batches';
import { learningRateAt } from '../../src/trainer/optim';

test('gatherRows/gatherLabels copy the rows in the given order', () => {
  const x = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual([...gatherRows(x, 2, [3, 1, 0], 0, 2)], [3, 3, 1, 1]);
  assert.deepEqual([...gatherLabels([10, 11, 12, 13], [3, 1, 0], 1, 3)], [11, 10]);
});

test('jitter shifts each image by at most maxShift pixels, zero-filling the border', () => {
  // One 5×5 image with a single bright pixel in the middle: after jitter it moves by ≤ 2 on each axis.
  const seen = new Set<string>();
  let seed = 1;
  const rng = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let trial = 0; trial < 200; trial++) {
    const img = new Float32Array(25);
    img[12] = 1;
    jitterImages(img, 5, 5, 1, drawShifts(1, 2, rng));
    const at = img.findIndex((v) => v === 1);
    assert.equal(img.reduce((a, b) => a + b, 0), 1, 'the pixel is moved, not duplicated or lost');
    const dy = Math.floor(at / 5) - 2;
    const dx = (at % 5) - 2;
    assert.ok(Math.abs(dx) <= 2 && Math.abs(dy) <= 2);
    seen.add(`${dx},${dy}`);
  }
  assert.equal(seen.size, 25, 'every offset in [-2, 2]² occurs');
});

test('jitter moves content off the edge rather than wrapping it', () => {
  const img = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]); // 3×3, top-left pixel set
  jitterImages(img, 3, 3, 1, drawShifts(1, 1, () => 0)); // rng 0 → dy = dx = -1: shift up-left
  assert.deepEqual([...img], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('drawShifts: dy then dx per image from the stream, each in [-maxShift, maxShift]; nothing drawn without jitter', () => {
  const draws = [0, 0.999, 0.5, 0.2, 0.21, 0.79];
  let k = 0;
  assert.deepEqual([...drawShifts(3, 2, () => draws[k++])!], [-2, 2, 0, -1, -1, 1]);
  assert.equal(k, 6);
  assert.equal(drawShifts(3, 0, () => assert.fail('drawn')), null);
});

test('learning-rate schedules: step follows RepDistiller (drop after each milestone), cosine ends at minLr', () => {
  const step = { type: 'step' as const, milestones: [150, 180, 210], gamma: 0.1 };
  assert.equal(learningRateAt(step, 0.05, 150, 240), 0.05);
  assert.ok(Math.abs(learningRateAt(step, 0.05, 151, 240) - 0.005) < 1e-12);
  assert.ok(Math.abs(learningRateAt(step, 0.05, 240, 240) - 0.00005) < 1e-12);
  const cos = { type: 'cosine' as const, minLr: 0.001 };
  assert.equal(learningRateAt(cos, 0.1, 1, 10), 0.1);
  // Epoch 10 of 10 is the last epoch trained: it runs at minLr exactly (not 0.0034).
  assert.equal(learningRateAt(cos, 0.1, 10, 10), 0.001);
  assert.ok(Math.abs(learningRateAt(cos, 0.1, 6, 10) - (0.001 + 0.099 * (1 + Math.cos((5 * Math.PI) / 9)) / 2)) < 1e-12);
  const rates = Array.from({ length: 10 }, (_, i) => learningRateAt(cos, 0.1, i + 1, 10));
  for (let i = 1; i < rates.length; i++) assert.ok(rates[i] < rates[i - 1], `epoch ${i + 1} rate ${rates[i]} must be below epoch ${i}'s ${rates[i - 1]}`);
  assert.equal(learningRateAt(cos, 0.1, 1, 1), 0.1, 'a one-epoch run keeps the base rate');
  assert.equal(learningRateAt({ type: 'cosine', minLr: 0 }, 0.05, 30, 30), 0);
  assert.equal(learningRateAt({ type: 'constant' }, 0.3, 7, 10), 0.3);
});
