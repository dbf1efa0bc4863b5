import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createOptimizer, setLearningRate } from '../../src/trainer/optim';

// One step on f(x) = 3x from x = 1 after changing the rate to 0.01. By hand: SGD moves by lr·3;
// momentum's first step too; Adam's first step moves by lr·m̂/(√v̂+ε) ≈ lr (bias-corrected, g = 3).
for (const [name, cfg, expected] of [
  ['sgd', { type: 'sgd', lr: 0.5, momentum: 0, nesterov: false, weightDecay: 0 }, 1 - 0.03],
  ['momentum', { type: 'sgd', lr: 0.5, momentum: 0.9, nesterov: false, weightDecay: 0 }, 1 - 0.03],
  ['adam', { type: 'adam', lr: 0.5, weightDecay: 0 }, 1 - 0.01],
] as const) {
  test(`setLearningRate changes the step of ${name}`, async () => {
    await tf.setBackend('cpu');
    const x = tf.variable(tf.scalar(1));
    const opt = createOptimizer(cfg);
    setLearningRate(opt, 0.01);
    opt.minimize(() => tf.mul(x, 3) as tf.Scalar, false, [x]);
    assert.ok(Math.abs(x.dataSync()[0] - expected) < 1e-5, `${name}: ${x.dataSync()[0]} vs ${expected}`);
    opt.dispose();
    x.dispose();
  });
}
