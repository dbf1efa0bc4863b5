// The trainer's networks: layer names and tap shapes equal core's describeModel, dropout only in
// training mode, deterministic initialisation, max-norm applied by the layers' constraints, and loaded
// models (with a softmax head) wrapped as teachers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../../src/core/config/schema';
import { describeModel } from '../../src/core/models';
import { buildModel, constrainWeights, dropoutMask, weightConstraints, wrapLoadedModel } from '../../src/trainer/models';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const mlp: ModelSpec = { type: 'mlp', hidden: [32, 16], activation: 'relu', inputDropout: 0.2, dropout: 0.5, maxNorm: 0.5 };
const cnn: ModelSpec = {
  type: 'cnn',
  conv: [
    { filters: 4, kernel: 3, stride: 1, pool: 2 },
    { filters: 8, kernel: 3, stride: 2, pool: 0 },
  ],
  hidden: [16],
  activation: 'relu',
  dropout: 0.5,
  maxNorm: 1,
};

const input = (shape: number[], n = 4) => tf.randomUniform([n, ...shape], 0, 1, 'float32', 5);

function checkAgainstDescription(spec: ModelSpec, inputShape: number[]) {
  const m = buildModel(spec, inputShape, 10, 1);
  const described = describeModel(spec, inputShape, 10).layers;
  assert.deepEqual(
    m.taps.map((t) => [t.name, t.shape]),
    described.map((l) => [l.name, l.shape]),
  );
  // the Dense/Conv layers themselves carry the names
  for (const l of described) {
    const layer = m.model.getLayer(l.name);
    const cls = { dense: 'Dense', logits: 'Dense', conv: 'Conv2D', pool: 'MaxPooling2D' }[l.kind];
    assert.equal(layer.getClassName(), cls, l.name);
    assert.equal(layer.countParams(), l.params, `${l.name} params`);
  }
  const shapes = tf.tidy(() => {
    const taps = m.forward(input(inputShape), false);
    return [...taps].map(([k, v]) => [k, v.shape]);
  });
  assert.deepEqual(
    shapes,
    described.map((l) => [l.name, [4, ...l.shape]]),
  );
  return m;
}

describe('buildModel', () => {
  test('MLP: names and tap shapes equal describeModel (image input is flattened)', () => {
    const m = checkAgainstDescription(mlp, [8, 8, 1]);
    assert.equal(m.logitsModel.outputs.length, 1);
    assert.equal(m.trainableVariables.length, 6);
    m.dispose();
    checkAgainstDescription({ type: 'mlp', hidden: [], activation: 'tanh', inputDropout: 0, dropout: 0 }, [20]).dispose();
  });

  test('CNN: names and tap shapes equal describeModel', () => {
    const m = checkAgainstDescription(cnn, [12, 12, 1]);
    assert.deepEqual(
      m.taps.map((t) => t.name),
      ['conv1', 'pool1', 'conv2', 'fc1', 'logits'],
    );
    m.dispose();
  });

  test('dropout only in training mode', () => {
    const m = buildModel(mlp, [8, 8, 1], 10, 3);
    tf.tidy(() => {
      const x = input([8, 8, 1]);
      const a = m.forward(x, false).get('logits')!;
      const b = m.forward(x, false).get('logits')!;
      const p = m.logitsModel.predict(x) as tf.Tensor;
      assert.deepEqual(a.arraySync(), b.arraySync());
      assert.ok(tf.max(tf.abs(tf.sub(a, p))).dataSync()[0] < 1e-6);
      const t1 = m.forward(x, true).get('fc1')!;
      const t2 = m.forward(x, true).get('logits')!;
      assert.ok(tf.max(tf.abs(tf.sub(t2, a))).dataSync()[0] > 1e-3, 'training output differs');
      // hidden dropout after fc1 is not visible in the fc1 tap, but input dropout is: a training pass
      // differs from inference at fc1 too
      const i1 = m.forward(x, false).get('fc1')!;
      assert.ok(tf.max(tf.abs(tf.sub(t1, i1))).dataSync()[0] > 1e-3);
    });
    m.dispose();
  });

  test('initialisation and dropout masks are deterministic in the seed', () => {
    const a = buildModel(cnn, [12, 12, 1], 10, 7);
    const b = buildModel(cnn, [12, 12, 1], 10, 7);
    const c = buildModel(cnn, [12, 12, 1], 10, 8);
    const weights = (m: typeof a) => m.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(weights(a), weights(b));
    assert.notDeepEqual(weights(a), weights(c));
    tf.tidy(() => {
      const x = input([12, 12, 1]);
      const ya = a.forward(x, true).get('logits')!;
      const yb = b.forward(x, true).get('logits')!;
      assert.deepEqual(ya.arraySync(), yb.arraySync());
      const ya2 = a.forward(x, true).get('logits')!;
      assert.notDeepEqual(ya2.arraySync(), ya.arraySync(), 'a fresh mask each step');
    });
    [a, b, c].forEach((m) => m.dispose());
  });

  test('the layers\' constraints enforce max-norm on every dense column and conv filter', () => {
    const m = buildModel(cnn, [12, 12, 1], 10, 1);
    // blow the weights up, as an optimiser step might (assigning to the variables directly:
    // setWeights would apply the constraints itself)
    const kernelNorm = (name: string) => tf.tidy(() => tf.max(tf.norm(tf.reshape(m.model.getLayer(name).getWeights()[0], [-1, m.model.getLayer(name).getWeights()[0].shape.at(-1)!]), 'euclidean', 0)).dataSync()[0]);
    for (const v of m.trainableVariables) v.assign(tf.tidy(() => tf.mul(v, 50)));
    assert.ok(kernelNorm('fc1') > 1.5, 'weights blown up before the constraint');
    const constraints = weightConstraints(m);
    assert.equal(constraints.size, 4, 'the two conv kernels, fc1 and the logits');
    for (const { variable, constraint } of constraints.values()) constrainWeights(variable, constraint);
    for (const name of ['conv1', 'conv2', 'fc1', 'logits']) {
      const kernel = m.model.getLayer(name).getWeights()[0];
      const k = kernel.arraySync();
      const units = kernel.shape[kernel.shape.length - 1];
      const norms = new Array(units).fill(0);
      // sum of squares of each output unit's incoming weights, with plain loops
      const visit = (v: unknown): void => {
        if (Array.isArray(v) && typeof v[0] === 'number') (v as number[]).forEach((x, u) => (norms[u] += x * x));
        else (v as unknown[]).forEach(visit);
      };
      visit(k);
      const max = Math.max(...norms.map(Math.sqrt));
      assert.ok(max <= 1 + 1e-5, `${name}: max column norm ${max}`);
      assert.ok(max > 0.9, `${name}: max column norm ${max} (was clipped, not zeroed)`);
    }
    m.dispose();
  });
});

describe('wrapLoadedModel', () => {
  test('a Sequential classifier with a softmax head: taps by layer name, logits before the softmax', () => {
    const seq = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'hidden_a' }),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
      ],
    });
    const w = wrapLoadedModel(seq);
    assert.deepEqual(
      w.taps.map((t) => [t.name, t.shape]),
      [
        ['hidden_a', [5]],
        ['logits', [3]],
      ],
    );
    tf.tidy(() => {
      const x = tf.randomNormal([4, 6], 0, 1, 'float32', 2);
      const taps = w.forward(x, false);
      const probs = seq.predict(x) as tf.Tensor;
      const fromLogits = tf.softmax(taps.get('logits')!);
      assert.ok(tf.max(tf.abs(tf.sub(probs, fromLogits))).dataSync()[0] < 1e-6);
      // the logits are not probabilities
      assert.ok(tf.max(tf.abs(tf.sub(tf.sum(taps.get('logits')!, 1), 1))).dataSync()[0] > 1e-3);
    });
  });

  test('a model built here keeps its tap names', () => {
    const m = buildModel(mlp, [8, 8, 1], 10, 1);
    const w = wrapLoadedModel(m.logitsModel);
    assert.deepEqual(
      w.taps.map((t) => [t.name, t.shape]),
      m.taps.map((t) => [t.name, t.shape]),
    );
    tf.tidy(() => {
      const x = input([8, 8, 1]);
      assert.deepEqual(w.forward(x, false).get('fc2')!.arraySync(), m.forward(x, false).get('fc2')!.arraySync());
    });
    // the multi-output model too
    assert.deepEqual(
      wrapLoadedModel(m.model).taps.map((t) => t.name),
      ['fc1', 'fc2', 'logits'],
    );
    m.dispose();
  });

  test('a wrapped CNN reports the same params, FLOPs, shapes and predictions as the built one', () => {
    const m = buildModel(cnn, [12, 12, 1], 10, 2);
    const w = wrapLoadedModel(m.logitsModel);
    const d = describeModel(cnn, [12, 12, 1], 10);
    assert.equal(m.paramCount, d.params);
    assert.equal(m.flops, d.flops);
    assert.equal(w.paramCount, d.params);
    assert.equal(w.flops, d.flops);
    assert.equal(w.numClasses, 10);
    assert.deepEqual(w.inputShape, [12, 12, 1]);
    assert.deepEqual([...w.tapShapes], [...m.tapShapes]);
    tf.tidy(() => {
      const x = input([12, 12, 1]);
      assert.deepEqual(w.predict(x).arraySync(), m.predict(x).arraySync());
    });
    m.dispose();
  });

  test('a softmax it cannot undo is a clear error', () => {
    const x = tf.input({ shape: [4, 4, 1] });
    const y = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
    assert.throws(() => wrapLoadedModel(tf.model({ inputs: x, outputs: y })), /softmax/);
  });
});

after(() => {
  tf.disposeVariables();
});

describe('dropout masks', () => {
  test('keep rate and scale as tfjs\'s dropout; a mask is a function of its seed', () => {
    const n = 200_000;
    for (const rate of [0.2, 0.5]) {
      const m = dropoutMask(n, rate, 12345);
      const kept = m.filter((v) => v !== 0);
      assert.ok(kept.every((v) => Math.abs(v - 1 / (1 - rate)) < 1e-6), 'kept values are scaled by 1/(1 − rate)');
      // ±5 standard deviations of a binomial(n, 1 − rate)
      const sd = Math.sqrt(n * rate * (1 - rate));
      assert.ok(Math.abs(kept.length - n * (1 - rate)) < 5 * sd, `${kept.length} kept of ${n} at rate ${rate}`);
      assert.deepEqual(dropoutMask(1000, rate, 12345), m.subarray(0, 1000));
      assert.notDeepEqual(dropoutMask(1000, rate, 12346), m.subarray(0, 1000));
    }
  });

  test('a training pass multiplies by the mask of the layer\'s seed; gradients flow through kept units only', () => {
    const m = buildModel({ type: 'mlp', hidden: [], activation: 'relu', inputDropout: 0.5, dropout: 0 }, [40], 2, 5);
    const drop = m.model.getLayer('input_dropout') as unknown as { seed: number };
    tf.tidy(() => {
      const x = tf.ones([3, 40]);
      const w = m.model.getLayer('logits').getWeights()[0];
      const g = tf.grad((v: tf.Tensor) => tf.sum(m.forward(v, true).get('logits')!))(x);
      const mask = dropoutMask(120, 0.5, drop.seed);
      const rowSums = tf.sum(w, 1).dataSync(); // d(sum logits)/d(input unit j) = mask (0 or 2) · Σ_k w[j][k]
      const gd = g.dataSync();
      for (let i = 0; i < 120; i++) assert.ok(Math.abs(gd[i] - mask[i] * rowSums[i % 40]) < 1e-5, `grad ${i}`);
    });
    m.dispose();
  });
});
