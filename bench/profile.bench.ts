// Where a training step's time goes, inside the real loop: trainStage() on the Hinton example's
// teacher, baseline or distilled student, with every wasm kernel and every call into the native
// addon timed. Prints ms and calls per step for each, over the second epoch, and the median step.
//   npm run bench:profile -- [teacher|baseline|student] [--epochs N] [--backend wasm|webgpu]
//   DISTILL_NATIVE=0 npm run bench:profile -- teacher          (the wasm kernels alone)
// Kernel times include the kernels they call (BatchMatMul's transposes appear under both), and
// a native call made inside a kernel (sgemm) appears under both too; without the addon the SIMD
// module's step passes are timed as `simd …`. What no row covers is tfjs's
// own bookkeeping, the batches and the loop itself. On webgpu a kernel's time is what it costs the
// JS thread to encode and dispatch it (the GPU runs it later): the per-kernel overhead that bounds
// a GPU step when the GPU work itself is small; the median step includes the wait for each read.
// On a software adapter (llvmpipe) the "GPU" runs inside each queue submission, which tfjs makes
// every few dozen dispatches from within some kernel: that kernel's row then carries the work.

import * as tf from '@tensorflow/tfjs';
import { backendDetails, initBackend } from '../src/trainer/backend';
import { installWasmKernels, uninstallWasmKernels, wasmKernelsBlas } from '../src/trainer/kernels';
import type { NativeBlas } from '../src/trainer/kernels/blas';
import { simdKernels } from '../src/trainer/kernels/stepSimd';
import type { BackendWasm } from '../src/trainer/kernels/wasm';
import { activateTerms } from '../src/trainer/losses';
import { buildModel } from '../src/trainer/models';
import { trainStage } from '../src/trainer/train';
import { loadHintonExample } from './hintonExample';

const args = process.argv.slice(2);
const stage = (['teacher', 'baseline', 'student'] as const).find((s) => args.includes(s)) ?? 'teacher';
const epochs = Math.max(2, Number(args[args.indexOf('--epochs') + 1]) || 2);
const backendName = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'wasm';

const times = new Map<string, { ms: number; calls: number }>();
let recording = false;
function timed<F extends (...a: never[]) => unknown>(name: string, f: F): F {
  return ((...a: never[]) => {
    const t0 = performance.now();
    const out = f(...a);
    if (recording) {
      const e = times.get(name) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      times.set(name, e);
    }
    return out;
  }) as F;
}

async function main(): Promise<void> {
  if (backendName !== 'wasm' && backendName !== 'webgpu') throw new Error(`--backend ${backendName}: wasm or webgpu`);
  await initBackend(backendName);
  console.log(`${backendDetails()}; ${stage}, epoch 2 of ${epochs}`);
  // The addon, each function timed: the kernels are installed again around the timed copy.
  const blas = wasmKernelsBlas();
  if (blas) {
    const wrapped = Object.fromEntries(Object.entries(blas).map(([k, f]) => [k, timed(`native ${k}`, f as never)])) as unknown as NativeBlas;
    uninstallWasmKernels();
    installWasmKernels(undefined, wrapped);
  }
  // Without the addon, the SIMD module's step passes (one shared object per wasm memory), each timed.
  const simd = backendName === 'wasm' && !blas ? simdKernels(tf.backend() as unknown as BackendWasm) : undefined;
  if (simd) for (const name of ['momentum', 'dropoutMask', 'maxNorm'] as const) simd[name] = timed(`simd ${name}`, simd[name] as never);
  for (const k of tf.getKernelsForBackend(backendName)) {
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({ ...k, kernelFunc: timed(k.kernelName, k.kernelFunc as never) });
  }

  const { config, teacher: teacherConfig, data } = await loadHintonExample();
  const teacher = buildModel(teacherConfig.model, data.inputShape, data.numClasses, config.seed);
  const net = stage === 'teacher' ? teacher : buildModel(config.student.model, data.inputShape, data.numClasses, config.seed + 1);
  const terms = activateTerms(stage === 'student' ? config.distillation.losses : [{ type: 'ce', weight: 1 }], {
    studentLayers: net.taps, teacherLayers: teacher.taps, numClasses: data.numClasses, trainCount: data.train.count, seed: config.seed + 2,
  });
  const training = stage === 'teacher' ? teacherConfig.training : config.training;
  const steps: number[] = [];
  let last = 0;
  await trainStage(
    { stage, learners: [{ id: stage, net, terms }], temperature: config.distillation.temperature, teacher: stage === 'student' ? teacher : undefined, training: { ...training, epochs }, seed: config.seed, data },
    {
      isCancelled: () => false,
      // Steps 2 to the last of epoch 2 (not its evaluation): recording runs from one step's end to the next's.
      onStep: ([r], perEpoch) => {
        const now = performance.now();
        if (r.epoch === 2 && r.step > 1) steps.push(now - last);
        recording = r.epoch === 2 && r.step < perEpoch;
        last = now;
      },
      onEpoch: () => {},
    },
  );
  const n = steps.length;
  for (const [name, { ms, calls }] of [...times].sort((a, b) => b[1].ms - a[1].ms)) {
    if (ms / n >= 0.005) console.log(`${name.padEnd(24)} ${(ms / n).toFixed(3).padStart(8)} ms/step ${(calls / n).toFixed(1).padStart(6)} calls/step`);
  }
  steps.sort((a, b) => a - b);
  console.log(`median step ${steps[n >> 1].toFixed(2)} ms over ${n} steps`);
}

void main();
