// Two layers' training-mode passes as one kernel each, with their gradients, on wasm with the
// native addon (docs/architecture.md §5):
//
//   denseRelu(x, kernel, bias)   relu(x·kernel + bias): tfjs runs a dense ReLU layer under a gradient
//                                tape as BatchMatMul, Add and Relu (its fused kernel only outside
//                                a tape), and its gradient as Step, Multiply, Sum, two Reshapes
//                                and two products; here one product and one pass forward, one pass
//                                and the products (and the bias's Sum) back.
//   dropout(x, rate, seed)       x · dropoutMask(rate, seed) with the mask never in memory; its
//                                gradient is the same kernel on dy.
//
// Why: a Hinton teacher step ran ~150 tfjs kernels, each with its tensor, its tape entry and the
// tensors the tape saves; these two layers were a third of them. Each gives exactly the numbers of
// the ops it replaces (the same product call, each operation rounded to float in tfjs's order), so
// training is bit for bit the same with or without them (test/trainer/layers.test.ts). Elsewhere —
// other backends, wasm without the addon, shapes they do not cover — the layers run tfjs's ops.
import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from './blas';
import { gradientAccumulation } from './fused';
import { type BackendWasm, type KernelArgs, f32 } from './wasm';

const DENSE_RELU = 'DistillDenseRelu';
const RELU_GRAD = 'DistillReluGrad';
const DROPOUT = 'DistillDropout';

type Inputs = Record<string, tf.TensorInfo>;
type DropoutAttrs = { rate: number; seed: number };

/** The addon the registered kernels call; undefined when they are not registered. */
let registeredWith: NativeBlas | undefined;

function kernel(kernelName: string, run: (args: KernelArgs<Inputs, Record<string, unknown>>, blas: NativeBlas) => tf.TensorInfo): tf.KernelConfig {
  return { kernelName, backendName: 'wasm', kernelFunc: ((args: KernelArgs<Inputs, Record<string, unknown>>) => run(args, registeredWith!)) as unknown as tf.KernelFunc };
}

const CONFIGS: tf.KernelConfig[] = [
  kernel(DENSE_RELU, ({ inputs: { x, kernel: w, bias }, backend }, blas) => {
    const [m, k] = x.shape;
    const n = w.shape[1];
    const out = backend.makeOutput([m, n], 'float32');
    // The call the BatchMatMul kernel makes for x·kernel (./matmul.ts), then tfjs's Add and Relu in one pass.
    const c = f32(backend, out);
    blas.sgemm(false, false, m, n, k, 1, f32(backend, x), k, f32(backend, w), n, 0, c, n, 1, 0, 0, m * n);
    blas.biasRelu(c, m, n, bias ? f32(backend, bias) : null);
    return out;
  }),
  kernel(RELU_GRAD, ({ inputs: { dy, y }, backend }, blas) => {
    const out = backend.makeOutput(dy.shape, 'float32');
    blas.reluGrad(f32(backend, dy), f32(backend, y), f32(backend, out));
    return out;
  }),
  kernel(DROPOUT, ({ inputs: { x }, backend, attrs }, blas) => {
    const { rate, seed } = attrs as DropoutAttrs;
    const out = backend.makeOutput(x.shape, 'float32');
    blas.dropout(f32(backend, x), f32(backend, out), rate, seed);
    return out;
  }),
];

const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: DENSE_RELU,
    inputsToSave: ['x', 'kernel'],
    outputsToSave: [true],
    // tfjs's gradients of Relu (dy·step), Add (the bias's sum over the batch) and MatMul, on the
    // same kernels: the relu gradient once, shared by the three.
    gradFunc: (dy, [x, w, y]) => {
      const g = tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor2D;
      return { x: () => tf.matMul(g, w, false, true), kernel: () => sumIntoAccumulation(x, g, w) ?? tf.matMul(x, g, true, false), bias: () => tf.sum(g, 0) };
    },
  },
  {
    kernelName: DROPOUT,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(DROPOUT, { x: dy as tf.Tensor }, attrs) as tf.Tensor }),
  },
];

/**
 * The most batch rows (the product's K) whose gradient is added into an accumulation: OpenBLAS
 * sums K in one block up to its GEMM_Q (320–448 on current x86 kernels), and only then is adding
 * onto m·a the one rounding tfjs makes of m·a + g. A bigger batch gets its gradient as a tensor.
 */
const MAX_SUMMED_ROWS = 128;

/** Whether the addon's sgemm is OpenBLAS (whose blocking MAX_SUMMED_ROWS relies on; not Accelerate). */
let summingProducts = false;

/**
 * The kernel's gradient xᵀ·g added straight into its scaled momentum accumulation
 * (gradientAccumulation() in ./fused.ts), by the call the BatchMatMul kernel makes for
 * tf.matMul(x, g, true, false) with beta 1 instead of 0; returns the zeros the tape carries in the
 * gradient's place, or undefined where the gradient must be a tensor of its own.
 */
function sumIntoAccumulation(x: tf.Tensor, g: tf.Tensor, w: tf.Tensor): tf.Tensor | undefined {
  const target = summingProducts && x.shape[0]! <= MAX_SUMMED_ROWS && onWasm(x, g) ? gradientAccumulation(w) : undefined;
  if (!target) return undefined;
  const backend = tf.backend() as unknown as BackendWasm;
  const [m, k] = x.shape as [number, number];
  const n = g.shape[1] as number;
  registeredWith!.sgemm(true, false, k, n, m, 1, f32(backend, x), k, f32(backend, g), n, 1, target.into, n, 1, 0, 0, k * n);
  return tf.clone(target.zeros);
}

/** Registers the kernels for wasm, computing with `blas` (installWasmKernels() calls it). */
export function registerLayerKernels(blas: NativeBlas): void {
  for (const g of GRADIENTS) if (tf.getGradient(g.kernelName) == null) tf.registerGradient(g);
  for (const c of CONFIGS) if (tf.getKernel(c.kernelName, 'wasm') == null) tf.registerKernel(c);
  registeredWith = blas;
  summingProducts = blas.info().config.startsWith('OpenBLAS');
}

/** Removes them (uninstallWasmKernels() calls it). The gradients stay: they are looked up only for these kernels. */
export function unregisterLayerKernels(): void {
  for (const c of CONFIGS) if (tf.getKernel(c.kernelName, 'wasm') != null) tf.unregisterKernel(c.kernelName, 'wasm');
  registeredWith = undefined;
}

const onWasm = (...ts: (tf.Tensor | undefined)[]) =>
  registeredWith !== undefined && tf.getBackend() === 'wasm' && ts.every((t) => t === undefined || (t.dtype === 'float32' && !t.isDisposed));

/** relu(x·kernel + bias) for a batch of rows x, or undefined where tfjs's own ops must run. */
export function denseRelu(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor2D | undefined {
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0] || (bias && bias.size !== w.shape[1]) || !onWasm(x, w, bias)) return undefined;
  return tf.engine().runKernel(DENSE_RELU, bias ? { x, kernel: w, bias } : { x, kernel: w }) as tf.Tensor2D;
}

/** x · dropoutMask(rate, seed), or undefined where tfjs's own ops must run. */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor | undefined {
  if (!(rate > 0 && rate < 1) || !onWasm(x)) return undefined;
  return tf.engine().runKernel(DROPOUT, { x }, { rate, seed: Math.floor(seed) % 4294967296 }) as tf.Tensor;
}

