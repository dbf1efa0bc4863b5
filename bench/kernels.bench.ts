// Training-step speed of the trainer's backends and wasm kernel replacements (docs/architecture.md §5).
//   node --import tsx bench/kernels.bench.ts [--quick]
// MLP: 784-1200-1200-10, batch 128, SGD; FLOPs per step = 6 · weights · batch (forward 2, the
// two backward products 4). CNN: an MNIST-sized conv net, batch 128; its FLOPs are counted from
// the layers' shapes the same way (conv: 2·kh·kw·cin·cout per output pixel, ×3 for training).
// Each variant runs a few warm-up steps, then reports the median of the timed ones.
// "wasm + OpenBLAS" rows use the native addon (dist/native/distill_blas.node, `npm run build`);
// without it they say why they are missing.

import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/trainer/backend';
import { installWasmKernels, uninstallWasmKernels, WASM_KERNELS } from '../src/trainer/kernels';
import { blasDescription, type NativeBlas, nativeBlas } from '../src/trainer/kernels/blas';

const quick = process.argv.includes('--quick');
const BATCH = 128;

function mlp(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [784], units: 1200, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 1200, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}

function cnn(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}

/** Training FLOPs per example: 3× the forward multiply-adds ×2 of every conv and dense layer. */
function trainFlopsPerExample(m: tf.Sequential): number {
  let f = 0;
  for (const l of m.layers) {
    const w = l.getWeights()[0];
    if (!w) continue;
    const out = l.outputShape as number[];
    const pixels = out.length === 4 ? out[1] * out[2] : 1;
    f += 2 * w.size * pixels;
  }
  return 3 * f;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of one SGD step (forward, backward, update), read back so the work is done. */
function timeSteps(model: tf.Sequential, x: tf.Tensor, y: tf.Tensor, warmup: number, steps: number): number {
  const opt = tf.train.sgd(0.01);
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true)!;
    loss.dataSync();
    loss.dispose();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  opt.dispose();
  return median(times);
}

interface Row { net: string; variant: string; ms?: number; gflops?: number; note?: string }

async function measure(net: 'mlp' | 'cnn', variant: string, setup: () => Promise<void>, warmup: number, steps: number): Promise<Row> {
  await setup();
  const model = net === 'mlp' ? mlp() : cnn();
  const x = net === 'mlp' ? tf.randomNormal([BATCH, 784]) : tf.randomUniform([BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10);
  try {
    const ms = timeSteps(model, x, y, warmup, steps);
    return { net, variant, ms, gflops: (trainFlopsPerExample(model) * BATCH) / (ms * 1e6) };
  } catch (e) {
    return { net, variant, note: `cannot train: ${(e as Error).message}` };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

/** Median ms of one kernel call on wasm (which computes synchronously: no read-back needed). */
function timeKernel(name: string, inputs: tf.NamedTensorMap, attrs: object, n: number): number {
  const times: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    const t0 = performance.now();
    const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    out.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const { blas, detail } = nativeBlas();
  const threads = blas?.info().threads ?? 0;
  /** The wasm backend with the named replacements; their products on XNNPACK, or on `native`. */
  const wasmWith = (kernels: readonly string[], native: NativeBlas | null = null, blasThreads = threads) => async () => {
    await tf.setBackend('wasm');
    uninstallWasmKernels();
    installWasmKernels(kernels, native);
    native?.setThreads(blasThreads);
  };
  const cpu = async () => { await tf.setBackend('cpu'); };
  const n = quick ? 3 : 7;
  /** The OpenBLAS rows (all threads, then 1 when there are more), or one saying why there are none. */
  const blasRows = async (net: 'mlp' | 'cnn'): Promise<Row[]> => {
    if (!blas) return [{ net, variant: 'wasm + OpenBLAS', note: `unavailable: ${detail}` }];
    const out = [await measure(net, `wasm + OpenBLAS, ${threads} thread${threads > 1 ? 's' : ''}`, wasmWith(WASM_KERNELS, blas), 1, n)];
    if (threads > 1) out.push(await measure(net, 'wasm + OpenBLAS, 1 thread', wasmWith(WASM_KERNELS, blas, 1), 1, n));
    blas.setThreads(threads);
    return out;
  };

  const rows: Row[] = [];
  rows.push(await measure('mlp', 'cpu', cpu, 0, quick ? 1 : 2));
  rows.push(await measure('mlp', 'wasm as shipped', wasmWith([]), 1, n));
  rows.push(await measure('mlp', 'wasm + all replacements', wasmWith(WASM_KERNELS), 1, n));
  rows.push(...(await blasRows('mlp')));
  // cpu is left out for the CNN: about 150 s per step here (its conv gradients are scalar JS).
  rows.push(await measure('cnn', 'wasm as shipped', wasmWith([]), 0, 1));
  rows.push(await measure('cnn', 'wasm + Conv2DBackpropFilter', wasmWith([tf.Conv2DBackpropFilter]), 1, n));
  rows.push(await measure('cnn', 'wasm + all replacements', wasmWith(WASM_KERNELS), 1, n));
  rows.push(...(await blasRows('cnn')));

  console.log(`\nTraining step, batch ${BATCH}, SGD (median of ${n}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
  console.log(`native BLAS: ${blas ? blasDescription(blas) : detail}`);
  console.log('net  variant                         ms/step   GFLOPS   s per 60k epoch');
  for (const r of rows) {
    if (r.ms === undefined) {
      console.log(`${r.net.padEnd(4)} ${r.variant.padEnd(30)} ${r.note}`);
      continue;
    }
    const epoch = (r.ms * Math.ceil(60000 / BATCH)) / 1000;
    console.log(`${r.net.padEnd(4)} ${r.variant.padEnd(30)} ${r.ms.toFixed(1).padStart(8)} ${r.gflops!.toFixed(1).padStart(8)} ${epoch.toFixed(0).padStart(14)}`);
  }

  // Each replaced kernel alone, shipped vs new, at the shapes of the CNN above / the MLP's fc2.
  const t = (shape: number[]) => tf.randomNormal(shape);
  const conv = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  const input = t([BATCH, 28, 28, 32]);
  const kernels: [string, string, tf.NamedTensorMap, object][] = [
    [tf.BatchMatMul, 'fc2 dW = xᵀ·dy 1200×128×1200', { a: t([BATCH, 1200]), b: t([BATCH, 1200]) }, { transposeA: true, transposeB: false }],
    [tf.BatchMatMul, 'fc2 dx = dy·Wᵀ 128×1200×1200', { a: t([BATCH, 1200]), b: t([1200, 1200]) }, { transposeA: false, transposeB: true }],
    [tf.Conv2DBackpropFilter, 'conv2 3×3 32→64 at 14×14', { x: t([BATCH, 14, 14, 32]), dy: t([BATCH, 14, 14, 64]) }, { ...conv, filterShape: [3, 3, 32, 64] }],
    [tf.Conv2DBackpropInput, 'conv2 3×3 32→64 at 14×14', { dy: t([BATCH, 14, 14, 64]), filter: t([3, 3, 32, 64]) }, { ...conv, inputShape: [BATCH, 14, 14, 32] }],
    [tf.MaxPoolGrad, 'pool1 2×2 at 28×28×32', { dy: t([BATCH, 14, 14, 32]), input, output: tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid') }, { filterSize: 2, strides: 2, pad: 'valid' }],
    [tf.Sum, 'conv1 bias grad 128×28×28×32', { x: input }, { axis: [0, 1, 2], keepDims: false }],
  ];
  console.log('\nKernels alone, wasm (median ms; "OpenBLAS": the new kernel with the native addon)');
  console.log('kernel                 shape                           shipped       new   speed-up  OpenBLAS');
  for (const [name, what, inputs, attrs] of kernels) {
    await wasmWith([])();
    const before = tf.getKernel(name, 'wasm') ? timeKernel(name, inputs, attrs, n) : NaN;
    await wasmWith(WASM_KERNELS)();
    const after = timeKernel(name, inputs, attrs, n);
    const usesBlas = blas && name !== tf.MaxPoolGrad && name !== tf.Sum;
    if (usesBlas) await wasmWith(WASM_KERNELS, blas)();
    const native = usesBlas ? timeKernel(name, inputs, attrs, n).toFixed(1) : '—';
    const shippedText = Number.isNaN(before) ? 'missing' : before.toFixed(1);
    const gain = Number.isNaN(before) ? '' : `${(before / after).toFixed(1)}×`;
    console.log(`${name.padEnd(22)} ${what.padEnd(30)} ${shippedText.padStart(8)} ${after.toFixed(1).padStart(9)} ${gain.padStart(10)} ${native.padStart(9)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
