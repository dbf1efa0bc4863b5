// The dense-ReLU and dropout layers' own kernels on wasm with the native addon
// (src/trainer/kernels/layers.ts): forward and gradients must be exactly the numbers of the tfjs
// ops they replace, and training with them bit for bit training without them.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/trainer/backend';
import { wasmKernelsBlas } from '../../src/trainer/kernels';
import { nativeBlas } from '../../src/trainer/kernels/blas';
import { denseRelu, dropout, registerLayerKernels, unregisterLayerKernels } from '../../src/trainer/kernels/layers';
import { buildModel } from '../../src/trainer/models';
import { applyStep, createOptimizer } from '../../src/trainer/optim';
import { referenceMask } from './dropoutReference';

const native = nativeBlas();
const needsAddon = native.blas ? {} : { skip: `native addon unavailable: ${native.detail}` };

const random = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

/** Runs `f` with the layer kernels unregistered: the layers then run tfjs's own ops. */
function withoutLayerKernels<T>(f: () => T): T {
  unregisterLayerKernels();
  try {
    return f();
  } finally {
    registerLayerKernels(wasmKernelsBlas()!);
  }
}

type Counted = 'biasRelu' | 'reluGrad' | 'dropout';

/** The addon's calls of each layer function while `f` runs (the kernels given a counting copy of it). */
function counting(f: () => void): Record<Counted, number> {
  const blas = wasmKernelsBlas()!;
  const calls = { biasRelu: 0, reluGrad: 0, dropout: 0 };
  const counted = (name: Counted) => {
    const call = blas[name] as (...a: unknown[]) => void;
    return (...a: unknown[]) => (calls[name]++, call(...a));
  };
  registerLayerKernels({ ...blas, biasRelu: counted('biasRelu'), reluGrad: counted('reluGrad'), dropout: counted('dropout') });
  try {
    f();
  } finally {
    registerLayerKernels(blas);
  }
  return calls;
}

const sgd = { type: 'sgd' as const, lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0 };

/** `steps` steps of softmax cross-entropy on random batches of 32 for an MLP on 30 inputs and 10 classes; its weights after them. */
function trainSteps(spec: Parameters<typeof buildModel>[0], optimizer: tf.Optimizer, steps: number): Float32Array[] {
  const net = buildModel(spec, [30], 10, 7);
  for (let step = 0; step < steps; step++) {
    tf.tidy(() => {
      const x = random([32, 30], 10 + step);
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => (i * 7 + step) % 10), 'int32'), 10);
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, net.logits(x, true)) as tf.Scalar, net.trainableVariables);
      applyStep(optimizer, grads, [net]);
    });
  }
  const weights = net.trainableVariables.map((v) => (v.dataSync() as Float32Array).slice());
  optimizer.dispose();
  net.dispose();
  return weights;
}

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
});

describe('layer kernels', needsAddon, () => {
  test('dropout: x times the mask, and its gradient dy times the same mask', () => {
    const [rate, seed, n] = [0.37, 123_457, 4099];
    const mask = referenceMask(n, rate, seed);
    const x = random([n], 1);
    const dy = random([n], 2);
    const calls = counting(() => {
      const y = dropout(x, rate, seed)!;
      const dx = tf.grad((v: tf.Tensor) => dropout(v, rate, seed)!)(x, dy);
      const xs = x.dataSync();
      const dys = dy.dataSync();
      assert.deepEqual(y.dataSync(), Float32Array.from(xs, (v, i) => Math.fround(v * mask[i])));
      assert.deepEqual(dx.dataSync(), Float32Array.from(dys, (v, i) => Math.fround(v * mask[i])));
    });
    assert.equal(calls.dropout, 3, "forward twice (alone, then under the tape), back once");
  });

  test('denseRelu: relu(x·W + b) and its gradients, bit for bit those of tfjs’s MatMul, Add and Relu', () => {
    const x = random([64, 33], 3);
    const w = random([33, 20], 4);
    const b = random([20], 5);
    const dy = random([64, 20], 6);
    const run = (f: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor) => {
      const y = f(x, w, b);
      const grads = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => f(x, w, b))([x, w, b], dy);
      return [y, ...grads].map((t) => t.dataSync());
    };
    let fused: Float32Array[] = [];
    const calls = counting(() => (fused = run((x, w, b) => denseRelu(x, w, b)!) as Float32Array[]));
    assert.deepEqual(calls, { biasRelu: 2, reluGrad: 1, dropout: 0 }, 'forward twice (alone, then under the tape), back once');
    const tfjs = withoutLayerKernels(() => run((x, w, b) => tf.relu(tf.add(tf.matMul(x, w), b))));
    ['y', 'dx', 'dW', 'db'].forEach((name, i) => assert.deepEqual(fused[i], tfjs[i], name));
    // Some units off and some on, so both sides of the ReLU are exercised.
    const zeros = fused[0].filter((v) => v === 0).length;
    assert.ok(zeros > 100 && zeros < fused[0].length - 100, `${zeros} zeros`);
  });

  test('not taken where tfjs’s ops must run: other ranks, shapes, dtypes', () => {
    assert.equal(denseRelu(random([2, 3, 4], 1), random([4, 5], 2), undefined), undefined);
    assert.equal(denseRelu(random([2, 4], 1), random([3, 5], 2), undefined), undefined);
    assert.equal(denseRelu(random([2, 4], 1), random([4, 5], 2), random([4], 3)), undefined);
    assert.equal(dropout(tf.ones([3], 'int32'), 0.5, 1), undefined);
    assert.equal(dropout(random([3], 1), 0, 1), undefined);
  });

  test('training the Hinton teacher’s kind of net with them is bit for bit training without them', () => {
    const spec = { type: 'mlp' as const, hidden: [48, 40], activation: 'relu' as const, dropout: 0.5, inputDropout: 0.2, maxNorm: 1.5 };
    const trainThreeSteps = () => trainSteps(spec, createOptimizer(sgd), 3);
    let fused: Float32Array[] = [];
    const calls = counting(() => (fused = trainThreeSteps()));
    // A step: two dense ReLU layers forward and back; three dropout layers forward, the two after hidden layers back.
    assert.deepEqual(calls, { biasRelu: 3 * 2, reluGrad: 3 * 2, dropout: 3 * (3 + 2) });
    const tfjs = withoutLayerKernels(trainThreeSteps);
    assert.equal(fused.length, tfjs.length);
    fused.forEach((w, i) => assert.deepEqual(w, tfjs[i], `variable ${i}`));
  });

  test('a dense kernel’s gradient added straight into its momentum accumulation: bit for bit tfjs’s MomentumOptimizer on tfjs’s ops', () => {
    const spec = { type: 'mlp' as const, hidden: [48, 40], activation: 'relu' as const, dropout: 0, inputDropout: 0, maxNorm: 1.5 };
    // The products that add into an accumulation: sgemm with A transposed and beta 1.
    const blas = wasmKernelsBlas()!;
    let summed = 0;
    registerLayerKernels({ ...blas, sgemm: (...a: Parameters<typeof blas.sgemm>) => (summed += Number(a[0] && a[10] === 1), blas.sgemm(...a)) });
    const before = tf.memory().numTensors;
    let fused: Float32Array[] = [];
    try {
      fused = trainSteps(spec, createOptimizer(sgd), 4);
    } finally {
      registerLayerKernels(blas);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind (the zeros go with the optimiser)');
    // From the second step (the accumulations exist) the two dense ReLU layers' kernels.
    assert.equal(summed, 3 * 2);
    const tfjs = withoutLayerKernels(() => trainSteps(spec, tf.train.momentum(sgd.lr, sgd.momentum), 4));
    fused.forEach((w, i) => assert.deepEqual(w, tfjs[i], `variable ${i}`));
  });
});
