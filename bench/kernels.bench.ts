// Training-step speed of the trainer's backends and wasm kernel replacements (DESIGN.md §5).
//   node --import tsx bench/kernels.bench.ts [--quick]
// MLP: 784-1200-1200-10, batch 128, SGD; FLOPs per step = 6 · weights · batch (forward 2, the
// two backward products 4). CNN: an MNIST-sized conv net, batch 128; its FLOPs are counted from
// the layers' shapes the same way (conv: 2·kh·kw·cin·cout per output pixel, ×3 for training).
// Each variant runs a few warm-up steps, then reports the median of the timed ones.

import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/trainer/backend';
import { installWasmKernels, uninstallWasmKernels } from '../src/trainer/kernels';

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

interface Row { net: string; variant: string; ms: number; gflops: number }

async function measure(net: 'mlp' | 'cnn', variant: string, setup: () => Promise<void>, warmup: number, steps: number): Promise<Row> {
  await setup();
  const model = net === 'mlp' ? mlp() : cnn();
  const x = net === 'mlp' ? tf.randomNormal([BATCH, 784]) : tf.randomUniform([BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10);
  const ms = timeSteps(model, x, y, warmup, steps);
  const gflops = (trainFlopsPerExample(model) * BATCH) / (ms * 1e6);
  tf.dispose([x, y]);
  model.dispose();
  return { net, variant, ms, gflops };
}

/** Times one kernel call on the active backend (median of `n`). */
function timeKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object, n: number): number {
  const times: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    const t0 = performance.now();
    const out = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
    out.dataSync();
    out.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const wasmShipped = async () => { await tf.setBackend('wasm'); uninstallWasmKernels(); };
  const wasmReplaced = async () => { await tf.setBackend('wasm'); installWasmKernels(); };
  const cpu = async () => { await tf.setBackend('cpu'); };
  const n = quick ? 3 : 8;

  const rows: Row[] = [];
  rows.push(await measure('mlp', 'cpu', cpu, 0, quick ? 1 : 2));
  rows.push(await measure('mlp', 'wasm as shipped', wasmShipped, 1, n));
  rows.push(await measure('mlp', 'wasm + replaced kernels', wasmReplaced, 1, n));
  rows.push(await measure('cnn', 'cpu', cpu, 0, 1));
  rows.push(await measure('cnn', 'wasm + replaced kernels', wasmReplaced, 1, n));

  console.log('\nTraining step, batch 128 (median)');
  console.log('net  variant                      ms/step   GFLOPS   epoch of 60k (s)');
  for (const r of rows) {
    const epoch = (r.ms * Math.ceil(60000 / BATCH)) / 1000;
    console.log(`${r.net.padEnd(4)} ${r.variant.padEnd(28)} ${r.ms.toFixed(1).padStart(8)} ${r.gflops.toFixed(1).padStart(8)} ${epoch.toFixed(0).padStart(12)}`);
  }

  // The new kernel alone, at the CNN's second conv layer (the expensive one).
  const x = tf.randomNormal([BATCH, 14, 14, 32]);
  const dy = tf.randomNormal([BATCH, 14, 14, 64]);
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 32, 64] };
  const flops = 2 * 3 * 3 * 32 * 64 * 14 * 14 * BATCH;
  await wasmReplaced();
  const xw = x.clone(), dyw = dy.clone();
  const wasmMs = timeKernel(tf.Conv2DBackpropFilter, { x: xw, dy: dyw }, attrs, n);
  const w = tf.randomNormal([3, 3, 32, 64]);
  const inputMs = timeKernel(tf.Conv2DBackpropInput, { dy: dyw, filter: w }, { ...attrs, inputShape: [BATCH, 14, 14, 32] }, n);
  const fwdMs = timeKernel(tf.Conv2D, { x: xw, filter: w }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] }, n);
  await cpu();
  const cpuMs = timeKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs, 1);
  console.log('\nConv kernels at 14x14x32 -> 64, 3x3 same, batch 128 (median ms, GFLOPS)');
  console.log(`Conv2DBackpropFilter  wasm (new)  ${wasmMs.toFixed(1).padStart(7)}  ${(flops / wasmMs / 1e6).toFixed(1)}`);
  console.log(`Conv2DBackpropFilter  cpu         ${cpuMs.toFixed(1).padStart(7)}  ${(flops / cpuMs / 1e6).toFixed(1)}`);
  console.log(`Conv2DBackpropInput   wasm        ${inputMs.toFixed(1).padStart(7)}  ${(flops / inputMs / 1e6).toFixed(1)}`);
  console.log(`Conv2D (forward)      wasm        ${fwdMs.toFixed(1).padStart(7)}  ${(flops / fwdMs / 1e6).toFixed(1)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
