import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../../src/core/config/schema';
import { initBackend } from '../../src/trainer/backend';
import { installWasmKernels, uninstallWasmKernels, wasmKernelsBlas } from '../../src/trainer/kernels';
import type { NativeBlas } from '../../src/trainer/kernels/blas';
import { FusedMomentum } from '../../src/trainer/kernels/fused';
import { buildModel, constrainWeights, weightConstraints } from '../../src/trainer/models';
import { applyStep, createOptimizer, setLearningRate } from '../../src/trainer/optim';

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

// applyStep: the update, then the layers' constraints, whichever order the optimiser takes. Expected by hand: SGD (momentum 0.9, first step: w − lr·g) on a 2×1 kernel of a
// max-norm layer, then the column scaled to norm 1 (tfjs-layers' MaxNorm: × clip(n)/(ε + n)).
for (const type of ['momentum (FusedMomentum on wasm: constrained as each variable is updated)', 'adam']) {
  test(`applyStep updates, then max-norms the kernel: ${type}`, async () => {
    await initBackend('wasm');
    const net = buildModel({ type: 'mlp', hidden: [], activation: 'relu', inputDropout: 0, dropout: 0, maxNorm: 1 }, [2], 1, 1);
    const [kernel, bias] = net.model.trainableWeights.map((w) => w.read() as tf.Variable);
    kernel.assign(tf.tensor2d([[3], [4]]));
    bias.assign(tf.tensor1d([0]));
    const opt = createOptimizer(type === 'adam' ? { type: 'adam', lr: 1, weightDecay: 0 } : { type: 'sgd', lr: 1, momentum: 0.9, nesterov: false, weightDecay: 0 });
    const grads = { [kernel.name]: tf.tensor2d([[-3], [-4]]), [bias.name]: tf.tensor1d([0.5]) };
    applyStep(opt, grads, [net]);
    // SGD: w = (3, 4) + (3, 4) = (6, 8), norm 10 → (0.6, 0.8); Adam's first step moves each weight by
    // lr·sign(g) (bias-corrected): (4, 5), norm √41 → (4, 5)/√41.
    const expected = type === 'adam' ? [4 / Math.sqrt(41), 5 / Math.sqrt(41)] : [0.6, 0.8];
    kernel.dataSync().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `kernel ${Array.from(kernel.dataSync())} vs ${expected}`));
    const b = bias.dataSync()[0];
    assert.ok(Math.abs(b - (type === 'adam' ? -1 : -0.5)) < 1e-4, `the bias (no constraint) only updated: ${b}`);
    tf.dispose(Object.values(grads));
    opt.dispose();
    net.dispose();
  });
}

test('applyStep with FusedMomentum (each kernel max-normed as it is updated, by the step itself with the addon) gives exactly the weights of the whole update, then the constraints', async () => {
  await initBackend('wasm');
  // With the addon, its calls counted: the kernels given a counting copy of it.
  const blas = wasmKernelsBlas();
  let fusedCalls = 0;
  if (blas) {
    uninstallWasmKernels();
    installWasmKernels(undefined, { ...blas, momentumMaxNorm: (...a: Parameters<NativeBlas['momentumMaxNorm']>) => (fusedCalls++, blas.momentumMaxNorm(...a)) });
  }
  const spec: ModelSpec = { type: 'mlp', hidden: [64, 32], activation: 'relu', inputDropout: 0, dropout: 0.5, maxNorm: 0.5 };
  const run = (interleaved: boolean) => {
    const net = buildModel(spec, [20], 5, 3);
    const opt = createOptimizer({ type: 'sgd', lr: 0.3, momentum: 0.9, nesterov: false, weightDecay: 0 });
    assert.equal(opt.getClassName(), FusedMomentum.className);
    const x = tf.randomNormal([16, 20], 0, 1, 'float32', 4);
    for (let step = 0; step < 3; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mean(tf.square(net.forward(x, true).get('logits')!)) as tf.Scalar, net.trainableVariables);
        if (interleaved) applyStep(opt, grads, [net]);
        else {
          opt.applyGradients(grads);
          for (const { variable, constraint } of weightConstraints(net).values()) constrainWeights(variable, constraint);
        }
      });
    }
    const weights = net.trainableVariables.map((v) => v.dataSync().slice());
    tf.dispose(x);
    opt.dispose();
    net.dispose();
    return weights;
  };
  try {
    assert.deepEqual(run(true), run(false));
    assert.equal(fusedCalls, blas ? 3 * 3 : 0, 'three max-normed kernels, three steps, each in one call with its update');
  } finally {
    if (blas) {
      uninstallWasmKernels();
      installWasmKernels(undefined, blas);
    }
  }
});
