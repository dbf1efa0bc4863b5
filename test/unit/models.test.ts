import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeModel, resolveConnector } from '../../src/core/models';

test('MLP 784-1200-1200-10 has the layer names, shapes and parameter count of Hinton\'s teacher', () => {
  const s = describeModel({ type: 'mlp', hidden: [1200, 1200], activation: 'relu', inputDropout: 0, dropout: 0 }, [28, 28, 1], 10);
  assert.deepEqual(s.layers.map((l) => l.name), ['fc1', 'fc2', 'logits']);
  assert.deepEqual(s.layers.map((l) => l.shape), [[1200], [1200], [10]]);
  // (784+1)·1200 + (1200+1)·1200 + (1200+1)·10, by hand
  assert.equal(s.params, 942000 + 1441200 + 12010);
  assert.equal(s.flops, 2 * (784 * 1200 + 1200 * 1200 + 1200 * 10));
});

test('CNN conv blocks keep the size with same padding and pooling floors it', () => {
  const s = describeModel(
    { type: 'cnn', conv: [{ filters: 8, kernel: 3, stride: 1, pool: 2 }, { filters: 16, kernel: 3, stride: 1, pool: 0 }], hidden: [32], activation: 'relu', dropout: 0 },
    [28, 28, 1],
    10,
  );
  assert.deepEqual(
    s.layers.map((l) => [l.name, l.shape.join('x'), l.params]),
    [
      ['conv1', '28x28x8', 3 * 3 * 1 * 8 + 8],
      ['pool1', '14x14x8', 0],
      ['conv2', '14x14x16', 3 * 3 * 8 * 16 + 16],
      ['fc1', '32', (14 * 14 * 16 + 1) * 32],
      ['logits', '10', 33 * 10],
    ],
  );
});

test('connectors: auto picks none/linear/conv1x1 and explains what cannot be bridged', () => {
  assert.deepEqual(resolveConnector('auto', { name: 'fc1', shape: [800] }, { name: 'fc1', shape: [800] }), { connector: 'none' });
  assert.deepEqual(resolveConnector('auto', { name: 'fc1', shape: [800] }, { name: 'fc2', shape: [1200] }), { connector: 'linear' });
  assert.deepEqual(resolveConnector('auto', { name: 'conv1', shape: [14, 14, 8] }, { name: 'conv2', shape: [14, 14, 32] }), { connector: 'conv1x1' });
  assert.match((resolveConnector('auto', { name: 'conv1', shape: [28, 28, 8] }, { name: 'conv2', shape: [14, 14, 32] }) as { error: string }).error, /spatial/);
  assert.match((resolveConnector('none', { name: 'fc1', shape: [800] }, { name: 'fc2', shape: [1200] }) as { error: string }).error, /shapes differ/);
  assert.match((resolveConnector('auto', { name: 'fc1', shape: [800] }, { name: 'conv2', shape: [7, 7, 4] }) as { error: string }).error, /one is dense/);
});
