// The probes' feature maps: a conv tap [h, w, c] reduced over channels by mean, max and top-k, then
// average-pooled to mapSize; a dense tap laid out as a grid. Every expected value is worked out by
// hand here (arithmetic in the comments), never by calling the code under test.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { collectProbe, reduceChannels, tapToHeatmap } from '../../src/trainer/probes';
import type { TappedModel } from '../../src/trainer/models';
import { activateTerms } from '../../src/trainer/losses';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

// Stored maps keep 4 significant digits (poolGrid rounds), hence the relative tolerance.
const close = (actual: ArrayLike<number>, expected: number[], msg = '') => {
  assert.equal(actual.length, expected.length, `${msg} length`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= 5e-4 * Math.max(1e-3, Math.abs(e)), `${msg} [${i}]: expected ${e}, got ${actual[i]}`));
};

// A 2 × 2 map with 3 channels, channels last: position (row, col) → its channel values.
//   (0,0): 1, 5, 3     (0,1): -2, 0, 8
//   (1,0): 4, 1, -1    (1,1): 0.5, 6, 3
const SHAPE = [2, 2, 3];
const MAP = [1, 5, 3, -2, 0, 8, 4, 1, -1, 0.5, 6, 3];
// mean: 9/3, 6/3, 4/3, 9.5/3
const MEAN = [3, 2, 4 / 3, 9.5 / 3];
const MAX = [5, 8, 4, 6];
// two largest per position: (5+3)/2, (8+0)/2, (4+1)/2, (6+3)/2
const TOP2 = [4, 4, 2.5, 4.5];

describe('reduceChannels', () => {
  test('mean over channels at each position', () => close(reduceChannels(MAP, SHAPE, 'mean'), MEAN));
  test('max over channels at each position', () => close(reduceChannels(MAP, SHAPE, 'max'), MAX));
  test('top-k with k < c: the mean of the k largest channels', () => {
    close(reduceChannels(MAP, SHAPE, 'topk', 2), TOP2, 'k = 2');
    close(reduceChannels(MAP, SHAPE, 'topk', 1), MAX, 'k = 1 is the max');
  });
  test('top-k with k ≥ c is the mean of all channels', () => {
    close(reduceChannels(MAP, SHAPE, 'topk', 3), MEAN, 'k = c');
    close(reduceChannels(MAP, SHAPE, 'topk', 10), MEAN, 'k > c');
  });
  test('leaves its input alone (top-k sorts a copy)', () => {
    const input = Float32Array.from(MAP);
    reduceChannels(input, SHAPE, 'topk', 2);
    close(input, MAP);
  });
});

describe('tapToHeatmap', () => {
  test('a conv tap smaller than mapSize is reduced and not pooled', () => {
    const m = tapToHeatmap(MAP, SHAPE, 16, 'max');
    assert.deepEqual([m.rows, m.cols], [2, 2]);
    close(tapToHeatmap(MAP, SHAPE, 16).values, MEAN, 'mean is the default');
    close(tapToHeatmap(MAP, SHAPE, 16, 'max').values, MAX);
    close(tapToHeatmap(MAP, SHAPE, 16, 'topk', 2).values, TOP2);
  });

  test('reduces over channels first, then average-pools to mapSize', () => {
    // 4 × 4 positions p = 0…15, channel 0 = p, channel 1 = 10 − p; mapSize 2 pools 2 × 2 blocks.
    const values = Array.from({ length: 16 }, (_, p) => [p, 10 - p]).flat();
    const shape = [4, 4, 2];
    // mean is 5 everywhere.
    close(tapToHeatmap(values, shape, 2, 'mean').values, [5, 5, 5, 5], 'mean');
    // max(p, 10 − p) per block: {0,1,4,5} → 10,9,6,5 → 7.5; {2,3,6,7} → 8,7,6,7 → 7;
    // {8,9,12,13} → 8,9,12,13 → 10.5; {10,11,14,15} → 10,11,14,15 → 12.5.
    const pooledMax = [7.5, 7, 10.5, 12.5];
    const max = tapToHeatmap(values, shape, 2, 'max');
    assert.equal(max.rows, 2);
    assert.equal(max.cols, 2);
    close(max.values, pooledMax, 'max');
    close(tapToHeatmap(values, shape, 2, 'topk', 1).values, pooledMax, 'top-1');
    close(tapToHeatmap(values, shape, 2, 'topk', 2).values, [5, 5, 5, 5], 'top-2 of 2 channels');
  });

  test('pools an uneven map into partial blocks', () => {
    // 3 × 3, one channel, value = p; mapSize 2 → blocks {0,1,3,4}, {2,5}, {6,7}, {8}.
    const m = tapToHeatmap([0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3, 1], 2, 'max');
    assert.deepEqual([m.rows, m.cols], [2, 2]);
    close(m.values, [2, 3.5, 6.5, 8]);
  });

  test('a dense tap is laid out on a near-square grid whatever the reduction', () => {
    // 5 units → 3 columns, 2 rows; the missing sixth cell is 0.
    for (const how of ['mean', 'max', 'topk'] as const) {
      const m = tapToHeatmap([1, 2, 3, 4, 5], [5], 16, how, 2);
      assert.deepEqual(m, { rows: 2, cols: 3, values: [1, 2, 3, 4, 5, 0] }, how);
    }
  });
});

describe('collectProbe', () => {
  // Two probe samples. Teacher conv tap [2, 2, 3]: sample 0 is MAP, sample 1 is MAP + 1.
  // The student's conv tap is MAP × 2 for both (no connector: same shape). Dense taps of 5 units.
  const plusOne = MAP.map((v) => v + 1);
  const fake = (taps: Record<string, number[][]>, shapes: Record<string, number[]>) =>
    ({ forward: () => new Map(Object.entries(taps).map(([name, rows]) => [name, tf.tensor(rows.flat(), [rows.length, ...shapes[name]])])) }) as unknown as TappedModel;
  const shapes = { conv2: SHAPE, fc1: [5], logits: [2] };
  const teacher = fake({ conv2: [MAP, plusOne], fc1: [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], logits: [[0, 1], [1, 0]] }, shapes);
  const student = fake({ conv2: [MAP.map((v) => 2 * v), MAP.map((v) => 2 * v)], fc1: [[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], logits: [[1, 0], [0, 1]] }, shapes);
  const terms = activateTerms(
    [
      { type: 'hint', weight: 1, student: 'conv2', teacher: 'conv2', connector: 'none', stage1Epochs: 0 },
      { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc1', connector: 'none', stage1Epochs: 0 },
    ],
    { studentLayers: [{ name: 'conv2', shape: SHAPE }, { name: 'fc1', shape: [5] }], teacherLayers: [{ name: 'conv2', shape: SHAPE }, { name: 'fc1', shape: [5] }], numClasses: 2, trainCount: 2, seed: 1 },
  );
  const twoSamples = { indices: [0, 1], split: { x: new Float32Array(2 * 4), y: new Uint8Array([3, 7]), count: 2 } };
  const probe = (topK: number, samples = twoSamples) =>
    collectProbe({
      stage: 'student',
      epoch: 1,
      net: student,
      teacher,
      terms,
      temperature: 4,
      samples,
      inputShape: [2, 2, 1],
      mapSize: 16,
      topK,
      withImages: false,
    });

  test('records conv pairs reduced by mean (teacherMaps/studentMaps), max and top-k', async () => {
    const [conv] = (await probe(2)).pairs;
    assert.deepEqual(conv.shape, SHAPE);
    close(conv.teacherMaps[0].values, MEAN, 'teacher mean, sample 0');
    close(conv.teacherMaps[1].values, MEAN.map((v) => v + 1), 'teacher mean, sample 1');
    close(conv.studentMaps[0].values, MEAN.map((v) => 2 * v), 'student mean');
    assert.equal(conv.reduced?.k, 2);
    close(conv.reduced!.max.teacherMaps[0].values, MAX, 'teacher max');
    close(conv.reduced!.max.teacherMaps[1].values, MAX.map((v) => v + 1), 'teacher max, sample 1');
    close(conv.reduced!.max.studentMaps[1].values, MAX.map((v) => 2 * v), 'student max');
    close(conv.reduced!.topk.teacherMaps[0].values, TOP2, 'teacher top-2');
    close(conv.reduced!.topk.studentMaps[0].values, TOP2.map((v) => 2 * v), 'student top-2');
  });

  test('caps k at the channel count', async () => {
    const [conv] = (await probe(8)).pairs;
    assert.equal(conv.reduced?.k, 3);
    close(conv.reduced!.topk.teacherMaps[0].values, MEAN, 'top-3 of 3 is the mean');
  });

  test('no probe samples: no maps, and no loss computed on an empty batch', async () => {
    const rec = await probe(2, { indices: [], split: { x: new Float32Array(0), y: new Uint8Array(0), count: 0 } });
    assert.deepEqual(rec.pairs, []);
    assert.equal(rec.relations, undefined);
  });

  test('dense pairs keep only their grid', async () => {
    const dense = (await probe(2)).pairs[1];
    assert.deepEqual(dense.shape, [5]);
    assert.equal(dense.reduced, undefined);
    assert.deepEqual(dense.teacherMaps[1], { rows: 2, cols: 3, values: [5, 4, 3, 2, 1, 0] });
    assert.equal('reduced' in JSON.parse(JSON.stringify(dense)), false, 'nothing written for dense pairs');
  });
});
