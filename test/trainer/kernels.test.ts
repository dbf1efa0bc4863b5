// The wasm kernel replacements (src/trainer/kernels) against the cpu backend, which is the
// reference: same random inputs, each kernel run on both, compared within float32 tolerance.
// Then whole gradients of a small conv net, and backend selection. The matmul and conv-gradient
// kernels run twice: products on XNNPACK, and on OpenBLAS when the native addon is built
// (skipped with the reason otherwise). The addon itself: test/trainer/blas.test.ts.

import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/trainer/backend';
import { installWasmKernels, setConvChunkFloats, uninstallWasmKernels, WASM_KERNELS, wasmKernelsBlas, wasmKernelsInstalled } from '../../src/trainer/kernels';
import { type NativeBlas, type Sgemm, nativeBlas } from '../../src/trainer/kernels/blas';
import { simdKernels } from '../../src/trainer/kernels/stepSimd';
import { type BackendWasm, f32, transposeLast2, wasmKernelFunc } from '../../src/trainer/kernels/wasm';

type Spec = { shape: number[]; data: Float32Array };
type Attrs = Record<string, unknown>;

// A small deterministic generator, so a failure reproduces.
let seed = 12345;
function random(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function rand(shape: number[]): Spec {
  const data = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
  return { shape, data };
}

async function runOn(backend: string, kernel: string, inputs: Record<string, Spec | undefined>, attrs: Attrs) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ts: tf.NamedTensorMap = {};
    for (const [k, v] of Object.entries(inputs)) if (v) ts[k] = tf.tensor(v.data, v.shape);
    const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, data: out.dataSync() as Float32Array };
  });
}

/** Max |a − b| relative to the reference's scale (at least 1). */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= tol * scale, `${what}: max error ${worst.toExponential(2)} > ${tol} × ${scale.toFixed(2)}`);
}

async function compare(kernel: string, inputs: Record<string, Spec | undefined>, attrs: Attrs, what: string): Promise<void> {
  const w = await runOn('wasm', kernel, inputs, attrs);
  const c = await runOn('cpu', kernel, inputs, attrs);
  assert.deepEqual(w.shape, c.shape, `${what}: shape`);
  assertClose(w.data, c.data, what);
}

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
  assert.ok(wasmKernelsInstalled());
});

type ConvCase = { x: number[]; f: [number, number, number, number]; strides: number | [number, number]; pad: unknown };
const convCases: ConvCase[] = [
  { x: [1, 5, 5, 1], f: [3, 3, 1, 2], strides: 1, pad: 'same' },
  { x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [3, 7, 7, 2], f: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 2], f: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { x: [2, 9, 8, 3], f: [5, 5, 3, 2], strides: [2, 1], pad: 'valid' },
  { x: [2, 6, 7, 4], f: [2, 3, 4, 3], strides: 1, pad: 'same' },
  { x: [2, 6, 6, 3], f: [1, 1, 3, 4], strides: 2, pad: 'valid' },
  { x: [2, 6, 5, 2], f: [3, 3, 2, 2], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 6, 6, 2], f: [3, 3, 2, 2], strides: 2, pad: 1 },
];

function convOutShape(c: ConvCase): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x as [number, number, number, number], c.f, c.strides as [number, number], 1,
    c.pad as 'same', undefined, false, 'channelsLast');
  return info.outShape;
}

/**
 * The kernels whose products run on XNNPACK, on the SIMD module's sgemm (./stepSimd.ts) or on
 * OpenBLAS (./blas.ts), checked once per path: OpenBLAS is the default with the native addon
 * loaded, the SIMD module's without it, XNNPACK where the wasm build exposes no memory.
 */
function productSuites(path: 'XNNPACK' | 'SIMD' | 'OpenBLAS'): void {
  describe('BatchMatMul on wasm', () => {
    const sizes: [number, number, number][] = [[1, 1, 1], [5, 7, 3], [1, 9, 4], [33, 17, 65], [128, 31, 10], [4, 50, 60], [64, 300, 400]];
    for (const [m, k, n] of sizes) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          test(`${m}×${k}×${n} transposeA=${tA} transposeB=${tB}`, async () => {
            const a = rand(tA ? [k, m] : [m, k]);
            const b = rand(tB ? [n, k] : [k, n]);
            await compare(tf.BatchMatMul, { a, b }, { transposeA: tA, transposeB: tB }, 'matmul');
          });
        }
      }
    }
    test('batched, with broadcast and rank 4', async () => {
      await compare(tf.BatchMatMul, { a: rand([3, 4, 5]), b: rand([3, 6, 5]) }, { transposeA: false, transposeB: true }, 'batch 3');
      await compare(tf.BatchMatMul, { a: rand([3, 5, 4]), b: rand([1, 5, 6]) }, { transposeA: true, transposeB: false }, 'b broadcast');
      await compare(tf.BatchMatMul, { a: rand([4, 5]), b: rand([2, 5, 6]) }, { transposeA: false, transposeB: false }, 'a broadcast');
      await compare(tf.BatchMatMul, { a: rand([2, 3, 4, 5]), b: rand([2, 3, 5, 2]) }, { transposeA: false, transposeB: false }, 'rank 4');
      await compare(tf.BatchMatMul, { a: rand([2, 1, 4, 5]), b: rand([1, 3, 5, 2]) }, { transposeA: false, transposeB: false }, 'general broadcast');
    });
  });

  describe('_FusedMatMul on wasm', () => {
    // The op layer hands this kernel rank-3 inputs.
    const cases: [number, number, number, number][] = [[1, 5, 7, 3], [1, 33, 17, 65], [2, 4, 6, 5]];
    for (const [batch, m, k, n] of cases) {
      for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'prelu', 'leakyrelu']) {
        test(`${batch}×${m}×${k}×${n} bias + ${activation}, all transposes`, async () => {
          for (const tA of [false, true]) {
            for (const tB of [false, true]) {
              const inputs = {
                a: rand(tA ? [batch, k, m] : [batch, m, k]),
                b: rand(tB ? [batch, n, k] : [batch, k, n]),
                bias: rand([n]),
                preluActivationWeights: activation === 'prelu' ? rand([n]) : undefined,
              };
              await compare(tf._FusedMatMul, inputs, { transposeA: tA, transposeB: tB, activation, leakyreluAlpha: 0.2 }, `tA=${tA} tB=${tB}`);
            }
          }
        });
      }
    }
    test('no bias, shared b', async () => {
      await compare(tf._FusedMatMul, { a: rand([3, 4, 5]), b: rand([1, 6, 5]) }, { transposeA: false, transposeB: true, activation: 'relu' }, 'shared b');
    });
    test('bias with a shared a or a shared b (a dense layer on a batch of sequences)', async () => {
      const attrs = { transposeA: false, transposeB: false, activation: 'relu', leakyreluAlpha: 0.2 };
      await compare(tf._FusedMatMul, { a: rand([3, 4, 5]), b: rand([1, 5, 6]), bias: rand([6]) }, attrs, 'shared b');
      await compare(tf._FusedMatMul, { a: rand([1, 4, 5]), b: rand([3, 5, 6]), bias: rand([6]) }, attrs, 'shared a');
    });
    // The XNNPACK kernels refuse these (one value for all columns); an sgemm broadcasts them.
    if (path !== 'XNNPACK') {
      test('one bias and one prelu weight for all columns', async () => {
        const inputs = { a: rand([2, 4, 5]), b: rand([2, 6, 5]), bias: rand([1]), preluActivationWeights: rand([1]) };
        await compare(tf._FusedMatMul, inputs, { transposeA: false, transposeB: true, activation: 'prelu' }, 'scalar bias, prelu');
      });
    }
  });

  describe('Conv2DBackpropFilter on wasm (missing as shipped)', () => {
    for (const c of convCases) {
      test(`x ${c.x} filter ${c.f} strides ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.f };
        await compare(tf.Conv2DBackpropFilter, { x: rand(c.x), dy: rand(convOutShape(c)) }, attrs, 'dW');
      });
    }
    test('batch split into chunks gives the same sum', async () => {
      setConvChunkFloats(200); // a couple of images per chunk
      try {
        const c = convCases[2];
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f };
        await compare(tf.Conv2DBackpropFilter, { x: rand(c.x), dy: rand(convOutShape(c)) }, attrs, 'dW chunked');
      } finally {
        setConvChunkFloats();
      }
    });
  });

  describe('Conv2DBackpropInput on wasm', () => {
    for (const c of convCases) {
      test(`x ${c.x} filter ${c.f} strides ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: c.x };
        await compare(tf.Conv2DBackpropInput, { dy: rand(convOutShape(c)), filter: rand(c.f) }, attrs, 'dx');
      });
    }
    test('batch split into chunks', async () => {
      setConvChunkFloats(200);
      try {
        const c = convCases[3];
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
        await compare(tf.Conv2DBackpropInput, { dy: rand(convOutShape(c)), filter: rand(c.f) }, attrs, 'dx chunked');
      } finally {
        setConvChunkFloats();
      }
    });
  });

  describe('training gradients on wasm equal cpu', () => {
    function convNet(): tf.Sequential {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', name: 'conv2' }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 5, name: 'logits' }));
      return m;
    }

    test('loss gradient of a small conv net wrt every weight (conv filters included)', async () => {
      const x = rand([3, 10, 10, 2]);
      const labels = [0, 3, 4];
      const grads: Record<string, Float32Array>[] = [];
      let weights: tf.Tensor[] | undefined;
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const model = convNet();
        if (!weights) weights = model.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape));
        else model.setWeights(weights.map((w) => tf.tensor(w.dataSync(), w.shape)));
        const { grads: g } = tf.variableGrads(() => {
          const logits = model.apply(tf.tensor(x.data, x.shape), { training: true }) as tf.Tensor;
          return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 5), logits) as tf.Scalar;
        });
        grads.push(Object.fromEntries(Object.entries(g).map(([k, v]) => [k.replace(/_\d+/, ''), v.dataSync() as Float32Array])));
        model.dispose();
      }
      const [cpu, wasm] = grads;
      assert.ok(Object.keys(cpu).some((k) => k.startsWith('conv1/kernel')), `variables: ${Object.keys(cpu)}`);
      assert.deepEqual(Object.keys(wasm).sort(), Object.keys(cpu).sort());
      for (const k of Object.keys(cpu)) assertClose(wasm[k], cpu[k], k, 1e-4);
    });

    test('model.fit with dropout, maxNorm and momentum trains on wasm', async () => {
      await tf.setBackend('wasm');
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelConstraint: tf.constraints.maxNorm({ maxValue: 2 }) }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dropout({ rate: 0.5 }));
      m.add(tf.layers.dense({ units: 3, kernelConstraint: tf.constraints.maxNorm({ maxValue: 3.5 }) }));
      m.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: 'categoricalCrossentropy' });
      const x = tf.tensor(rand([12, 8, 8, 1]).data, [12, 8, 8, 1]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], 'int32'), 3);
      const h = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0 });
      assert.ok((h.history.loss as number[]).every(Number.isFinite));
      m.dispose();
    });
  });

  describe('no leaks', () => {
    test('the kernels leave no wasm tensors behind', async () => {
      await tf.setBackend('wasm');
      setConvChunkFloats(200); // include the chunked paths
      try {
        const x = tf.tensor4d(rand([3, 7, 7, 2]).data, [3, 7, 7, 2]);
        const f = tf.tensor4d(rand([3, 3, 2, 4]).data, [3, 3, 2, 4]);
        const a = tf.tensor3d(rand([2, 5, 4]).data, [2, 5, 4]);
        const bias = tf.tensor1d(rand([6]).data);
        const step = () => tf.tidy(() => {
          tf.grad((v: tf.Tensor) => tf.maxPool(tf.conv2d(v as tf.Tensor4D, f, 2, 'same'), 2, 1, 'valid').sum())(x).dataSync();
          tf.grads((fl: tf.Tensor) => tf.conv2d(x, fl as tf.Tensor4D, 1, 'same').square().sum())([f])[0].dataSync();
          tf.fused.matMul({ a, b: a, transposeA: true, bias: tf.ones([4]), activation: 'relu' }).dataSync();
          tf.fused.matMul({ a: a.reshape([10, 4]), b: tf.ones([6, 4]), transposeB: true, bias }).dataSync();
        });
        step();
        const backend = tf.backend() as unknown as { numDataIds(): number };
        const before = backend.numDataIds();
        step();
        assert.equal(backend.numDataIds(), before);
        tf.dispose([x, f, a, bias]);
      } finally {
        setConvChunkFloats();
      }
    });
  });
}

const native = nativeBlas();
for (const path of ['XNNPACK', 'SIMD', 'OpenBLAS'] as const) {
  describe(`matmul products on ${path}`, () => {
    if (path === 'OpenBLAS' && !native.blas) {
      test('OpenBLAS kernels against cpu', (t) => t.skip(`native BLAS addon unavailable: ${native.detail}`));
      return;
    }
    // On OpenBLAS and on the SIMD module, every test must reach that sgemm (a test that silently
    // fell back to XNNPACK or the shipped Sum would check nothing new): the kernels get a wrapper
    // that counts the calls.
    let calls = 0;
    const blas: NativeBlas | null = native.blas
      ? { ...native.blas, sgemm: (...args) => (calls++, native.blas!.sgemm(...args)), columnSums: (...args) => (calls++, native.blas!.columnSums(...args)) }
      : null;
    before(async () => {
      await tf.setBackend('wasm');
      const simd = simdKernels(tf.backend() as unknown as BackendWasm);
      assert.ok(simd, 'the SIMD module binds to the wasm memory');
      const simdSgemm: Sgemm = { sgemm: (...args) => (calls++, simd.sgemm(...args)) };
      uninstallWasmKernels();
      if (path === 'OpenBLAS') installWasmKernels(WASM_KERNELS, blas);
      else installWasmKernels(WASM_KERNELS, null, path === 'SIMD' ? simdSgemm : null);
      assert.equal(wasmKernelsBlas(), path === 'OpenBLAS' ? blas : undefined);
    });
    let before0 = 0;
    beforeEach(() => { before0 = calls; });
    afterEach(() => { if (path !== 'XNNPACK') assert.ok(calls > before0, `${path}'s sgemm was not called`); });
    productSuites(path);
    if (path === 'SIMD') return;
    // Leading-axes sums (bias gradients, max-norm) run in the addon too.
    for (const [shape, axis, keepDims] of [[[4, 5, 6, 3], [0, 1, 2], true], [[70, 9], [0], false], [[2, 3, 4], [0], true]] as [number[], number[], boolean][]) {
      test(`Sum ${shape} over ${axis} keepDims=${keepDims}`, async () => {
        await compare(tf.Sum, { x: rand(shape) }, { axis, keepDims }, 'sum');
      });
    }
  });
}

describe('transposes on wasm', () => {
  // Row counts that are multiples of 64 take the blocked JS path, the rest the Transpose kernel.
  for (const shape of [[64, 37], [2, 128, 33], [1, 192, 70], [31, 128], [3, 5, 7]]) {
    test(`last two axes of ${shape}`, async () => {
      const x = rand(shape);
      await tf.setBackend('wasm');
      const backend = tf.backend() as unknown as BackendWasm;
      const got = tf.tidy(() => {
        const t = tf.tensor(x.data, x.shape);
        const out = transposeLast2({ dataId: t.dataId, shape: t.shape, dtype: 'float32' }, backend, wasmKernelFunc(tf.Transpose));
        const values = { shape: out.shape, data: f32(backend, out).slice() };
        backend.disposeData(out.dataId);
        return values;
      });
      const [rows, cols] = shape.slice(-2);
      const expected = new Float32Array(x.data.length);
      for (let base = 0; base < x.data.length; base += rows * cols) {
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expected[base + j * rows + i] = x.data[base + i * cols + j];
      }
      assert.deepEqual(got.shape, [...shape.slice(0, -2), cols, rows]);
      assert.deepEqual(got.data, expected);
    });
  }
});

describe('pooling gradients on wasm', () => {
  const pools: [number[], number, number, 'valid' | 'same'][] = [
    [[2, 6, 6, 3], 2, 2, 'valid'],
    [[2, 7, 7, 4], 2, 2, 'valid'],
    [[1, 7, 5, 2], 3, 2, 'same'],
    [[2, 5, 5, 3], 2, 1, 'valid'],
    [[1, 6, 6, 1], 3, 3, 'same'],
  ];
  for (const [shape, size, stride, pad] of pools) {
    test(`MaxPoolGrad ${shape} pool ${size} stride ${stride} ${pad}`, async () => {
      // Random floats have no ties. `output` is the forward result on the same backend.
      const x = rand(shape);
      const dy = rand(tf.backend_util.computePool2DInfo(shape as [number, number, number, number], size, stride, 1, pad).outShape);
      const results: Float32Array[] = [];
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        results.push(tf.tidy((): Float32Array => {
          const input = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
          const output = tf.maxPool(input, size, stride, pad);
          const inputs = { dy: tf.tensor(dy.data, dy.shape), input, output };
          return (tf.engine().runKernel(tf.MaxPoolGrad, inputs, { filterSize: size, strides: stride, pad }) as tf.Tensor).dataSync() as Float32Array;
        }));
      }
      assertClose(results[0], results[1], 'dx');
    });
    test(`AvgPoolGrad ${shape} pool ${size} stride ${stride} ${pad}`, async () => {
      const x = rand(shape);
      const outShape = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], size, stride, 1, pad).outShape;
      await compare(tf.AvgPoolGrad, { dy: rand(outShape), input: x }, { filterSize: size, strides: stride, pad }, 'dx');
    });
  }
  test('MaxPoolGrad breaks ties like cpu (first maximum)', async () => {
    const data = new Float32Array(32).fill(0.5);
    data[5] = 0.9;
    const grads = [];
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      grads.push(tf.tidy(() => Array.from(tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid').sum())(tf.tensor(data, [1, 4, 4, 2])).dataSync())));
    }
    assert.deepEqual(grads[0], grads[1]);
  });
});

describe('Sum on wasm', () => {
  const cases: [number[], number[], boolean][] = [
    [[4, 5, 6, 3], [0, 1, 2], false],
    [[4, 5, 6, 3], [0, 1, 2], true],
    [[7, 9], [0], false],
    [[2, 3, 4], [0], true],
    [[4, 5, 3], [2], false], // not leading: the shipped kernel
    [[4, 5, 3], [0, 2], false],
    [[4, 5], [0, 1], false],
  ];
  for (const [shape, axis, keepDims] of cases) {
    test(`${shape} over ${axis} keepDims=${keepDims}`, async () => {
      await compare(tf.Sum, { x: rand(shape) }, { axis, keepDims }, 'sum');
    });
  }
  test('int32 goes to the shipped kernel', async () => {
    await tf.setBackend('wasm');
    assert.deepEqual(tf.sum(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'), 0).arraySync(), [4, 6]);
  });
});

describe('installation and backend selection', () => {
  test('uninstall restores the shipped kernels, install puts ours back', async () => {
    await tf.setBackend('wasm');
    const ours = tf.getKernel(tf.BatchMatMul, 'wasm');
    uninstallWasmKernels();
    assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined);
    assert.notEqual(tf.getKernel(tf.BatchMatMul, 'wasm'), ours);
    installWasmKernels();
    installWasmKernels(); // idempotent
    assert.ok(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'));
  });

  test('auto picks wasm here (no tfjs-node); explicit choices are honoured or refused', async () => {
    assert.equal(await initBackend('cpu'), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(await initBackend('auto'), 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    await assert.rejects(initBackend('tensorflow'), /tfjs-node/);
  });
});
