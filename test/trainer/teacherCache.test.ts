// The teacher cache (src/trainer/teacherCache.ts): the cached taps of any batch, in any order, are
// the teacher's own inference-mode outputs for those examples; only the taps the loss terms read
// are kept; above the memory bound no cache is built.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from '../../src/trainer/batches';
import { buildModel } from '../../src/trainer/models';
import { buildTeacherCache, teacherCacheBytes, teacherTapsUsed } from '../../src/trainer/teacherCache';
import type { LossTerm } from '../../src/core/losses';
import { activateTerms } from '../../src/trainer/losses';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function split(count: number, rowSize: number) {
  const x = new Float32Array(count * rowSize);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.5 + 0.5;
  return { x, y: new Int32Array(count).map((_, i) => i % 3), count };
}

describe('teacher cache', () => {
  test('the taps the terms read: logits for every term that uses the teacher, and each layer-pair term\'s teacher layers', () => {
    const layers = [{ name: 'conv1', shape: [4, 4, 2] }, { name: 'conv2', shape: [4, 4, 2] }, { name: 'fc2', shape: [8] }, { name: 'logits', shape: [3] }];
    const used = (terms: LossTerm[]) => teacherTapsUsed(activateTerms(terms, { studentLayers: layers, teacherLayers: layers, numClasses: 3, trainCount: 10, seed: 1 }));
    assert.deepEqual(used([{ type: 'ce', weight: 1 }]), []);
    assert.deepEqual(used([{ type: 'ce', weight: 1 }, { type: 'kd', weight: 1 }]), ['logits']);
    assert.deepEqual(
      used([
        { type: 'kd', weight: 1 },
        { type: 'hint', weight: 1, student: 'fc2', teacher: 'fc2', connector: 'none', stage1Epochs: 0 },
        { type: 'hint', weight: 1, student: 'fc2', teacher: 'fc2', connector: 'none', stage1Epochs: 0, id: 'again' },
      ]),
      ['logits', 'fc2'],
    );
    // A two-layer term (FSP) reads both of its teacher layers.
    assert.deepEqual(used([{ type: 'fsp', weight: 0, student: 'conv1', studentTo: 'conv2', teacher: 'conv1', teacherTo: 'conv2', initEpochs: 0 }]), ['logits', 'conv1', 'conv2']);
  });

  test('a batch gathered in training order equals the teacher\'s forward pass on that batch', async () => {
    const inputShape = [6, 6, 1];
    // Dropout in the teacher: the cache must hold inference-mode outputs (dropout off).
    const teacher = buildModel({ type: 'cnn', conv: [{ filters: 3, kernel: 3, stride: 1, pool: 2 }], hidden: [12], dropout: 0.5, activation: 'relu' }, inputShape, 3, 11);
    const data = split(1203, 36); // more than one of the cache's 500-example batches, and a ragged last one
    const cache = (await buildTeacherCache(teacher, data, inputShape, ['logits', 'fc1', 'conv1']))!;
    assert.equal(cache.bytes, 1203 * (3 + 12 + 6 * 6 * 3) * 4); // logits, fc1, conv1 [6×6×3] (same padding)
    const order = Array.from({ length: data.count }, (_, i) => (i * 7919) % data.count); // a permutation
    for (const [start, end] of [[0, 128], [640, 768], [1200, 1203]]) {
      const cached = cache.taps(order, start, end);
      // (tidy keeps tensors returned in an object, not in a Map)
      const direct = new Map(Object.entries(tf.tidy(() => Object.fromEntries(teacher.forward(tf.tensor(gatherRows(data.x, 36, order, start, end), [end - start, ...inputShape]), false)))));
      assert.deepEqual([...cached.keys()], ['logits', 'fc1', 'conv1']);
      for (const [name, t] of cached) {
        const d = direct.get(name)!;
        assert.deepEqual(t.shape, d.shape, name);
        const a = t.dataSync();
        const b = d.dataSync();
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(b[i])), `${name}[${i}]: ${a[i]} vs ${b[i]}`);
      }
      tf.dispose([...cached.values(), ...direct.values()]);
    }
    teacher.dispose();
  });

  test('above the memory bound there is no cache; an unknown layer is an error', async () => {
    const teacher = buildModel({ type: 'mlp', hidden: [8], activation: 'relu', inputDropout: 0, dropout: 0 }, [4], 3, 1);
    const data = split(100, 4);
    assert.equal(teacherCacheBytes(teacher, ['logits', 'fc1'], 100), 100 * 11 * 4);
    assert.equal(await buildTeacherCache(teacher, data, [4], ['logits', 'fc1'], 100 * 11 * 4 - 1), undefined);
    assert.ok(await buildTeacherCache(teacher, data, [4], ['logits', 'fc1'], 100 * 11 * 4));
    assert.throws(() => teacherCacheBytes(teacher, ['fc9'], 100), /teacher has no layer fc9/);
    teacher.dispose();
  });
});
