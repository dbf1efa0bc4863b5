// The one-pass parts of a training step on wasm (src/trainer/kernels/fused.ts), by the native addon
// and by the SIMD module (kernels/stepSimd.ts), and the shared-memory
// Identity kernel: each must give exactly the numbers of the tfjs path it replaces, and never
// write into memory another tensor still reads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/trainer/backend';
import { installWasmKernels, uninstallWasmKernels, WASM_KERNELS } from '../../src/trainer/kernels';
import { nativeBlas } from '../../src/trainer/kernels/blas';
import { dropoutMask, dropoutMaskTensor, FusedMomentum, fusedMaxNorm, wasmMomentumStep } from '../../src/trainer/kernels/fused';
import { simdKernels, type StepKernels } from '../../src/trainer/kernels/stepSimd';
import type { BackendWasm } from '../../src/trainer/kernels/wasm';
import { referenceMask } from './dropoutReference';

const native = nativeBlas();
const needsAddon = native.blas ? {} : { skip: `native addon unavailable: ${native.detail}` };

const CASES: [number, number][] = [
  [0.2, 0],
  [0.5, 1],
  [0.37, 2 ** 31 + 5],
  [0.9, 2 ** 32 - 1],
  [0.5, 7_919_000_131], // the trainer's reseeded masks pass 2^32
  [0.999, 11], // a few kept
  [1 - 2 ** -33, 3], // ⌈rate·2^32⌉ = 2^32: nothing kept
];

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
});

test('the committed SIMD module (kernels/stepWasm.ts) is what step.wat assembles to', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'build-step-wasm.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

describe('dropout masks', () => {
  test('dropoutMask() is the definition: mulberry32, kept when u / 2^32 ≥ rate', () => {
    for (const [rate, seed] of CASES) assert.deepEqual(dropoutMask(10_007, rate, seed), referenceMask(10_007, rate, seed), `rate ${rate}, seed ${seed}`);
  });

  test('the native addon draws the same masks', needsAddon, () => {
    for (const [rate, seed] of CASES) {
      const out = new Float32Array(10_007);
      native.blas!.dropoutMask(out, rate, Math.floor(seed) % 4294967296);
      assert.deepEqual(out, referenceMask(10_007, rate, seed), `rate ${rate}, seed ${seed}`);
    }
  });

  test('the SIMD module draws the same masks, whole vectors and the one to three values after them', () => {
    const simd = simdKernels(tf.backend() as unknown as BackendWasm)!;
    assert.ok(simd, 'the wasm backend exposes its memory');
    for (const n of [1, 2, 3, 4, 5, 7, 10_007]) {
      for (const [rate, seed] of CASES) {
        const t = tf.zeros([n + 1]); // one value more than the mask: it must stay untouched
        const heap = (tf.backend() as unknown as BackendWasm).typedArrayFromHeap(t) as Float32Array;
        heap[n] = -1;
        simd.dropoutMask(heap.subarray(0, n), rate, Math.floor(seed) % 4294967296);
        const values = t.dataSync();
        assert.deepEqual(values.subarray(0, n), referenceMask(n, rate, seed), `n ${n}, rate ${rate}, seed ${seed}`);
        assert.equal(values[n], -1, `n ${n}: nothing written past the mask`);
        t.dispose();
      }
    }
  });
});

test('the SIMD module transposes: dst[j·rows + i] = src[i·cols + j], tiles and their tails', () => {
  const backend = tf.backend() as unknown as BackendWasm;
  const simd = simdKernels(backend)!;
  for (const [rows, cols] of [[4, 1], [4, 3], [8, 5], [36, 40], [64, 33], [128, 784]]) {
    const x = tf.tensor2d(Float32Array.from({ length: rows * cols }, (_, i) => i + 0.5), [rows, cols]);
    const y = tf.zeros([cols + 1, rows]); // a row more than the result: it must stay untouched
    const dst = backend.typedArrayFromHeap(y) as Float32Array;
    dst.fill(-1);
    simd.transpose(backend.typedArrayFromHeap(x) as Float32Array, dst.subarray(0, rows * cols), rows, cols);
    const out = y.dataSync();
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) assert.equal(out[j * rows + i], i * cols + j + 0.5, `${rows}×${cols} at (${i}, ${j})`);
    assert.ok(out.subarray(rows * cols).every((v) => v === -1), `${rows}×${cols}: nothing written past the result`);
    tf.dispose([x, y]);
  }
});

test("the SIMD module also runs on the single-threaded build's plain (unshared) memory", () => {
  // Its own process: the backend starts once per process, here the threaded build.
  const script = `
    const tf = require('@tensorflow/tfjs');
    const { initBackend } = require('./src/trainer/backend');
    const { dropoutMask, dropoutMaskTensor, fusedMaxNorm } = require('./src/trainer/kernels/fused');
    initBackend('wasm').then(() => {
      const memory = tf.backend().wasm.asm.memory;
      if (!(memory.buffer instanceof ArrayBuffer)) throw new Error('not the single-threaded build');
      const t = dropoutMaskTensor([1001], 0.3, 9);
      const same = Array.from(t.dataSync()).every((v, i) => v === dropoutMask(1001, 0.3, 9)[i]);
      const constraint = tf.constraints.maxNorm({ maxValue: 1, axis: 0 });
      const v = tf.tidy(() => tf.variable(tf.randomUniform([50, 7], -1, 1, 'float32', 5))); // its memory its own
      const expected = constraint.apply(v).dataSync();
      const fused = fusedMaxNorm(v, constraint);
      const equal = Array.from(v.dataSync()).every((x, i) => x === expected[i]);
      console.log(JSON.stringify({ same, fused, equal }));
      process.exit(0);
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, DISTILL_NATIVE: '0', DISTILL_WASM_THREADS: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { same: true, fused: true, equal: true });
});

/**
 * The two ways the wasm path does a step's passes in place: the native addon, and the SIMD module
 * when the addon is missing. Each must match tfjs's own ops computed under the same kernels (the
 * Sum kernel, which adds a max-norm's squares as both paths do).
 */
const PATHS = [
  { name: 'the native addon', blas: native.blas ?? null, skip: needsAddon, kernels: () => native.blas! as StepKernels },
  { name: 'the SIMD module', blas: null, skip: {}, kernels: () => simdKernels(tf.backend() as unknown as BackendWasm)! },
];

for (const path of PATHS) {
  describe(`step passes in place, by ${path.name}`, () => {
    before(() => {
      uninstallWasmKernels();
      installWasmKernels(WASM_KERNELS, path.blas);
    });
    after(() => {
      uninstallWasmKernels();
      installWasmKernels();
    });

    test('a mask tensor written into wasm memory has the definition\'s values', path.skip, () => {
      for (const shape of [[31, 17], [1], [2], [3], [4], [5]]) {
        for (const [rate, seed] of CASES) {
          const t = dropoutMaskTensor(shape, rate, seed);
          assert.deepEqual(t.shape, shape);
          assert.deepEqual(t.dataSync(), referenceMask(tf.util.sizeFromShape(shape), rate, seed), `${shape}: rate ${rate}, seed ${seed}`);
          t.dispose();
        }
      }
    });

    test('a product after an in-place update multiplies with the new weights, not a packed copy of the old', path.skip, () => {
      // x·W runs on XNNPACK without the addon, which packs W and keeps the packing by tensor id:
      // met three times, W is packed and kept. Then W is changed in place (momentum, then max-norm).
      const x = tf.randomUniform([128, 64], -1, 1, 'float32', 1);
      const w = tf.tidy(() => tf.variable(tf.randomUniform([64, 96], -1, 1, 'float32', 2)));
      const acc = tf.tidy(() => tf.variable(tf.zerosLike(w), false));
      const product = () => tf.tidy(() => tf.matMul(x, w).dataSync().slice());
      const fresh = () => tf.tidy(() => tf.matMul(x, tf.tensor(w.dataSync().slice(), w.shape)).dataSync().slice()); // a new tensor: nothing packed
      for (let i = 0; i < 3; i++) product();
      const gradient = tf.onesLike(w);
      assert.equal(wasmMomentumStep(path.kernels())(w, acc, gradient, 0.5, 0.9, false), true);
      assert.deepEqual(product(), fresh(), 'after the momentum step');
      assert.equal(fusedMaxNorm(w, tf.constraints.maxNorm({ maxValue: 1, axis: 0 })), true);
      assert.deepEqual(product(), fresh(), 'after max-norm');
      tf.dispose([x, w, acc, gradient]);
    });

    test('a convolution after an in-place update uses the new filter, not a packed copy of the old', path.skip, () => {
      // tfjs's Conv2D runs on XNNPACK on both paths, which packs the filter by tensor id.
      const x = tf.randomUniform([8, 12, 12, 3], -1, 1, 'float32', 3);
      const filter = tf.tidy(() => tf.variable(tf.randomUniform([3, 3, 3, 16], -1, 1, 'float32', 4)));
      const acc = tf.tidy(() => tf.variable(tf.zerosLike(filter), false));
      const conv = (f: tf.Tensor4D) => tf.tidy(() => tf.conv2d(x as tf.Tensor4D, f, 1, 'same').dataSync().slice());
      const fresh = () => tf.tidy(() => conv(tf.tensor4d(filter.dataSync().slice(), filter.shape as [number, number, number, number])));
      for (let i = 0; i < 2; i++) conv(filter as tf.Variable<tf.Rank.R4>);
      const gradient = tf.onesLike(filter);
      assert.equal(wasmMomentumStep(path.kernels())(filter, acc, gradient, 0.5, 0.9, false), true);
      assert.deepEqual(conv(filter as tf.Variable<tf.Rank.R4>), fresh(), 'after the momentum step');
      tf.dispose([x, filter, acc, gradient]);
    });

    describe('FusedMomentum', () => {
      const shapes = [[300, 300], [23], [300, 5]];
      let seed = 12345;
      const values = (shape: number[], scale: number) =>
        Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * scale);
      const start = shapes.map((s) => values(s, 1));
      const gradients = Array.from({ length: 6 }, () => shapes.map((s) => values(s, 0.2)));

      /** Six steps of `opt` from `start`, the learning rate changed after the third; the weights after each step. */
      function train(opt: tf.Optimizer & { setLearningRate(lr: number): void }, prefix: string, hold?: (vars: tf.Variable[]) => tf.Tensor[]) {
        // Made inside tidy, so each variable alone holds its memory, as a layer's weights do.
        const vars = shapes.map((s, k) => tf.tidy(() => tf.variable(tf.tensor(start[k], s), true, `${prefix}-${k}-${Date.now()}`)));
        const history: Float32Array[][] = [];
        const held: tf.Tensor[] = [];
        for (const [step, grads] of gradients.entries()) {
          if (step === 3) opt.setLearningRate(0.02);
          // Tensors that share a variable's memory while it is updated (clones on the gradient tape, a probe).
          if (hold) held.push(...hold(vars));
          tf.tidy(() => opt.applyGradients(Object.fromEntries(vars.map((v, k) => [v.name, tf.tensor(grads[k], shapes[k])]))));
          history.push(vars.map((v) => v.dataSync().slice() as Float32Array));
        }
        return { vars, history, held };
      }

      for (const nesterov of [false, true]) {
        test(`bit for bit tfjs's MomentumOptimizer (nesterov ${nesterov})`, path.skip, () => {
          const reference = train(tf.train.momentum(0.1, 0.9, nesterov), `ref${nesterov}`);
          const fused = train(new FusedMomentum(wasmMomentumStep(path.kernels()), 0.1, 0.9, nesterov), `fused${nesterov}`);
          fused.history.forEach((step, i) => step.forEach((w, k) => assert.deepEqual(w, reference.history[i][k], `step ${i + 1}, variable ${k}`)));
          tf.dispose([...reference.vars, ...fused.vars]);
        });
      }

      test('a variable whose memory another tensor shares is updated with tfjs ops: the other tensor keeps its values', path.skip, () => {
        let calls = 0;
        const kernels = path.kernels();
        const counting = { ...kernels, momentum: (...args: Parameters<StepKernels['momentum']>) => (calls++, kernels.momentum(...args)) };
        const reference = train(tf.train.momentum(0.1, 0.9), 'ref-shared');
        const fused = train(new FusedMomentum(wasmMomentumStep(counting), 0.1, 0.9), 'fused-shared', (vars) => [vars[0].clone()]);
        fused.history.forEach((step, i) => step.forEach((w, k) => assert.deepEqual(w, reference.history[i][k], `step ${i + 1}, variable ${k}`)));
        // Each held clone still reads the weights of the step it was taken at (the start, then each step's).
        fused.held.forEach((t, i) => assert.deepEqual(t.dataSync(), i === 0 ? start[0] : fused.history[i - 1][0], `clone ${i}`));
        assert.equal(calls, 6 * 2, 'the other two variables were updated in place');
        tf.dispose([...reference.vars, ...fused.vars, ...fused.held]);
      });
    });

    describe('max-norm in place', () => {
      // Kernels whose columns straddle the bound: some norms above 1.5, some below; 53 and 6
      // columns leave one and two after the SIMD module's groups of four.
      const kernels: [number[], number | number[]][] = [
        [[97, 53], 0],
        [[784, 100], 0],
        [[3, 3, 4, 6], [0, 1, 2]],
      ];
      for (const [shape, axis] of kernels) {
        test(`bit for bit tfjs-layers' MaxNorm: kernel ${shape.join('×')}, axis ${axis}`, path.skip, () => {
          let seed = 7;
          const cols = shape[shape.length - 1];
          const rows = tf.util.sizeFromShape(shape) / cols;
          // Uniform in ±0.5 (std 0.29): even columns' norms near 3, odd columns' near 0.7.
          const scale = (c: number) => (c % 2 ? 0.7 : 3) / (0.29 * Math.sqrt(rows));
          const data = Float32Array.from({ length: rows * cols }, (_, i) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * scale(i % cols));
          const constraint = tf.constraints.maxNorm({ maxValue: 1.5, axis: axis as number });
          const expected = tf.tidy(() => constraint.apply(tf.tensor(data, shape)).dataSync());
          const v = tf.tidy(() => tf.variable(tf.tensor(data, shape)));
          assert.equal(fusedMaxNorm(v, constraint), true);
          assert.deepEqual(v.dataSync(), expected);
          // The case is worth testing: some columns are above the bound (scaled to it), some below.
          const norms = Array.from({ length: cols }, (_, c) => Math.sqrt(data.filter((_, i) => i % cols === c).reduce((sum, x) => sum + x * x, 0)));
          assert.ok(norms.some((n) => n > 1.6) && norms.some((n) => n < 1.4), `column norms ${norms.map((n) => n.toFixed(2)).join(' ')}`);
          v.dispose();
        });
      }

      test('leaves to tfjs what it does not do: another axis, shared memory', path.skip, () => {
        const v = tf.tidy(() => tf.variable(tf.ones([4, 3])));
        assert.equal(fusedMaxNorm(v, tf.constraints.maxNorm({ maxValue: 1, axis: 1 })), false);
        const shared = v.clone();
        assert.equal(fusedMaxNorm(v, tf.constraints.maxNorm({ maxValue: 1, axis: 0 })), false);
        assert.deepEqual(Array.from(shared.dataSync()), new Array(12).fill(1));
        tf.dispose([v, shared]);
      });
    });
  });
}

test('Identity on wasm shares memory by reference count, as on cpu; the clone outlives the original', () => {
  const backend = tf.backend() as unknown as BackendWasm;
  const x = tf.tensor([1, 2, 3]);
  const y = x.clone();
  assert.equal(y.dataId, x.dataId);
  assert.equal(backend.refCount(x.dataId), 2);
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  y.dispose();
});

test('Cast to the same dtype on wasm shares memory too; a real cast still converts', () => {
  const backend = tf.backend() as unknown as BackendWasm;
  const x = tf.tensor([1.5, -2.5, 3]);
  const same = tf.cast(x, 'float32');
  assert.equal(same.dataId, x.dataId);
  assert.equal(backend.refCount(x.dataId), 2);
  const ints = tf.cast(x, 'int32');
  assert.notEqual(ints.dataId, x.dataId);
  assert.equal(ints.dtype, 'int32');
  assert.deepEqual(Array.from(ints.dataSync()), [1, -2, 3]);
  x.dispose();
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2.5, 3]);
  tf.dispose([same, ints]);
});
