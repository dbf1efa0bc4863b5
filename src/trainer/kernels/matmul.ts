// BatchMatMul and _FusedMatMul for wasm: every product on XNNPACK, transposes materialised.
//
// Why: the wasm backend hands a matmul to XNNPACK (fast, SIMD, ~25 GFLOPS here) only when
// neither input is transposed and the batch size is 1; otherwise it runs a blocked scalar loop
// (~4 GFLOPS). Backprop through a dense layer is nothing but transposed matmuls (dW = xᵀ·dy,
// dx = dy·Wᵀ), so training sat on the slow loop. A transpose is O(n²) memory traffic against
// the product's O(n³) arithmetic: doing it first with the wasm Transpose kernel and calling the
// original kernel with both flags false puts every step on XNNPACK.
//
// The slow loop is also wrong for _FusedMatMul with a bias (it indexes the bias by row·n + col,
// clamped, instead of by col: measured errors of 0.2–2 against cpu). So batched products are
// split into batch-1 products too, which fixes that and makes them fast. Batch dims that need
// general broadcasting ([2,1]×[1,3]) still go to the original kernel; with a bias that would be
// wrong, so it is refused.
//
// With the native addon (./blas.ts), or else the SIMD module's own product (./stepSimd.ts: 69
// against XNNPACK's 41 GFLOPS for a teacher step's products on two threads here, the same
// numbers), withBlas() below replaces both: one sgemm per kernel call. What neither takes comes here.

import * as tf from '@tensorflow/tfjs';
import type { Sgemm } from './blas';
import { type BackendWasm, type KernelArgs, f32, transposeLast2, wasmKernelFunc } from './wasm';

type MatMulInputs = { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
type MatMulAttrs = { transposeA: boolean; transposeB: boolean } & Record<string, unknown>;
type Args = KernelArgs<MatMulInputs, MatMulAttrs>;
type Run = (args: Args) => tf.TensorInfo;

/** The product's sizes: op(A) is m×k and op(B) is kB×n (a valid product has kB = k). */
function productDims({ inputs: { a, b }, attrs: { transposeA: tA, transposeB: tB } }: Args): { m: number; k: number; kB: number; n: number } {
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  return { m: tA ? aCols : aRows, k: tA ? aRows : aCols, kB: tB ? bCols : bRows, n: tB ? bRows : bCols };
}

/** Wraps the shipped BatchMatMul or _FusedMatMul kernel of wasm as described above. */
export function withXnnpackOnly(original: tf.KernelConfig): tf.KernelConfig {
  const run = original.kernelFunc as unknown as Run;
  const kernelFunc = (args: Args): tf.TensorInfo => {
    const { a, b, bias, preluActivationWeights: prelu } = args.inputs;
    const { n } = productDims(args);
    const perColumn = (t?: tf.TensorInfo) => t == null || tf.util.sizeFromShape(t.shape) === n;
    // XNNPACK reads exactly n bias values (the shipped kernel does the same untransposed).
    if (!perColumn(bias)) throw new Error(`_FusedMatMul on wasm: bias of shape ${bias!.shape} for ${n} columns`);
    const plan = batchPlan(a.shape, b.shape);
    // Splitting the batch needs prelu weights that are the same for every matrix.
    if (plan === null || (plan.batch > 1 && !perColumn(prelu))) {
      if (bias != null) throw new Error(`_FusedMatMul on wasm: bias with batch shapes ${a.shape} × ${b.shape} is not supported`);
      return run(args);
    }
    return plan.batch === 1 ? untransposed(run, args) : perBatch(run, args, plan);
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

interface BatchPlan {
  batch: number;
  aBatched: boolean;
  bBatched: boolean;
  outOuter: number[];
}

/** How the batch dims pair up, or null when it takes general broadcasting. */
function batchPlan(aShape: number[], bShape: number[]): BatchPlan | null {
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const outOuter = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const sameOuter = tf.util.arraysEqual(dropLeadingOnes(outerA), dropLeadingOnes(outerB));
  if (batchA !== 1 && batchB !== 1 && !sameOuter) return null;
  return { batch: Math.max(batchA, batchB), aBatched: batchA > 1, bBatched: batchB > 1, outOuter };
}

function dropLeadingOnes(shape: number[]): number[] {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
}

/**
 * A batch-1 product on XNNPACK, in whichever of two orientations moves less memory. XNNPACK
 * reads its `a` operand in place but packs `b` (a transposing copy, ~4× the cost of a plain
 * transpose: 4.3 ms for 1,200×1,200 floats here), and keeps `b` packed by tensor id until the
 * tensor is disposed. So C = op(A)·op(B) runs either
 *   plain:    op(A), op(B) materialised, then A'·B' (B' packed unless XNNPACK still has it), or
 *   swapped:  Cᵀ = op(B)ᵀ·op(A)ᵀ, then transposed back — the weights read in place and only
 *             batch-sized operands copied and packed.
 * In a training step the weights change every step, so nothing stays packed and the swapped
 * form wins for every large product (forward x·W and input gradient dy·Wᵀ; 10 → 8.3 ms for a
 * 1,200×1,200 layer's forward). A network evaluated over many batches keeps its weights: the
 * second time a tensor comes as `b`, it goes the plain way and is packed once for the rest.
 * XNNPACK adds each output's products in the same order either way: the numbers do not change.
 */
function untransposed(run: Run, args: Args): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const transpose = wasmKernelFunc(tf.Transpose);
  const copies: tf.TensorInfo[] = [];
  const transposed = (t: tf.TensorInfo) => {
    const c = transposeLast2(t, backend, transpose);
    copies.push(c);
    return c;
  };
  const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
  try {
    if (orientation(args) === 'swapped') {
      const b = attrs.transposeA ? inputs.a : transposed(inputs.a);
      const a = attrs.transposeB ? inputs.b : transposed(inputs.b);
      const outT = run({ inputs: { a, b }, backend, attrs: plainAttrs });
      copies.push(outT);
      return transposeLast2(outT, backend, transpose);
    }
    if (!attrs.transposeA && !attrs.transposeB) return run(args);
    const a = attrs.transposeA ? transposed(inputs.a) : inputs.a;
    const b = attrs.transposeB ? transposed(inputs.b) : inputs.b;
    // bias, preluActivationWeights, activation and leakyreluAlpha pass through unchanged.
    return run({ inputs: { ...inputs, a, b }, backend, attrs: plainAttrs });
  } finally {
    // Disposing a temporary also drops XNNPACK's packed copy of it (the backend's disposal
    // callback), so nothing accumulates per step.
    for (const c of copies) backend.disposeData(c.dataId);
  }
}

/** Relative cost per float of a transposing copy and of XNNPACK packing an operand (measured). */
const TRANSPOSE_COST = 1;
const PACK_COST = 3.6;
/** Tensors (by data id) that have come as an untransposed `b`: XNNPACK keeps them packed from the second time on. */
const metAsWeights = new WeakSet<object>();

/**
 * Tells XNNPACK and orientation() that `t`'s memory was written in place (a fused momentum step or
 * max-norm, kernels/fused.ts): XNNPACK keys its packed copy of a `b` by tensor id alone, so a
 * tensor updated in place would go on multiplying with its old values. The backend's own
 * dispose_data drops what XNNPACK packed from the id (and forgets its place in memory, which
 * register_tensor gives back: the memory itself stays the tensor's).
 */
export function dropPackedCopies(backend: BackendWasm, t: tf.TensorInfo): void {
  const internals = backend as unknown as {
    dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
    wasm: { tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, memoryOffset: number): void } };
  };
  const data = internals.dataIdMap.get(t.dataId);
  if (!data) return;
  internals.wasm.tfjs.disposeData(data.id);
  internals.wasm.tfjs.registerTensor(data.id, tf.util.sizeFromShape(t.shape), data.memoryOffset);
  metAsWeights.delete(t.dataId);
}

/**
 * Which form of untransposed() moves fewer floats, counting copies at TRANSPOSE_COST and packing
 * at PACK_COST (nothing for a `b` XNNPACK keeps). Only unfused products swap: a bias or an
 * activation applies to the plain output's columns.
 */
function orientation(args: Args): 'plain' | 'swapped' {
  const { inputs: { b, bias, preluActivationWeights }, attrs } = args;
  const { transposeA: tA, transposeB: tB } = attrs;
  const kept = !tB && metAsWeights.has(b.dataId);
  if (!tB) metAsWeights.add(b.dataId);
  if (bias != null || preluActivationWeights != null || ((attrs.activation as string | undefined) ?? 'linear') !== 'linear') return 'plain';
  const { m, k, n } = productDims(args);
  const plain = (tA ? TRANSPOSE_COST * m * k : 0) + (tB ? TRANSPOSE_COST * k * n : 0) + (kept ? 0 : PACK_COST * k * n);
  const swapped = (tB ? 0 : TRANSPOSE_COST * k * n) + (tA ? 0 : TRANSPOSE_COST * m * k) + PACK_COST * m * k + TRANSPOSE_COST * m * n;
  return swapped < plain ? 'swapped' : 'plain';
}

/** One batch-1 product per batch entry, each copied into place in the output. */
function perBatch(run: Run, args: Args, plan: BatchPlan): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const aRows = inputs.a.shape.slice(-2);
  const bRows = inputs.b.shape.slice(-2);
  const { m, n } = productDims(args);
  const out = backend.makeOutput([...plan.outOuter, m, n], 'float32');
  // Every operand is its own rank-3 tensor (the fused kernel reads shapes as rank 3). A shared,
  // unbatched `b` is copied once, so XNNPACK packs it once for the whole loop.
  const bShared = plan.bBatched ? undefined : copyMatrix(backend, inputs.b, 0, bRows);
  try {
    for (let i = 0; i < plan.batch; i++) {
      const a = copyMatrix(backend, inputs.a, plan.aBatched ? i : 0, aRows);
      const b = bShared ?? copyMatrix(backend, inputs.b, i, bRows);
      const o = untransposed(run, { inputs: { ...inputs, a, b }, backend, attrs });
      f32(backend, out).set(f32(backend, o), i * m * n);
      backend.disposeData(o.dataId);
      backend.disposeData(a.dataId);
      if (b !== bShared) backend.disposeData(b.dataId);
    }
  } finally {
    if (bShared) backend.disposeData(bShared.dataId);
  }
  return out;
}

/** Matrix `i` of a batch of [rows, cols] matrices, as a new [1, rows, cols] wasm tensor. */
function copyMatrix(backend: BackendWasm, t: tf.TensorInfo, i: number, [rows, cols]: number[]): tf.TensorInfo {
  const copy = backend.makeOutput([1, rows, cols], 'float32');
  const size = rows * cols;
  f32(backend, copy).set(f32(backend, t).subarray(i * size, (i + 1) * size));
  return copy;
}

/**
 * BatchMatMul or _FusedMatMul on an sgemm — OpenBLAS's, or without the addon the SIMD module's
 * (./stepSimd.ts, which takes alpha 1 and beta 0 or 1: all this asks): one (batched) sgemm
 * reading the operands in place on the wasm heap and writing the output there; transposes are
 * sgemm's flags, so nothing is copied. A fused bias is written into the output first and sgemm adds the product onto it
 * (beta = 1); the activation then runs over the output in JS (a pass over m·n floats, small
 * next to the product's m·n·k). Anything else — general batch broadcasting, a bias or prelu
 * weights that are not one value per column (or one for all), another dtype — goes to
 * `fallback` (the XNNPACK wrapper above), so every call the kernel accepted without the addon
 * still works with it.
 */
export function withBlas(fallback: tf.KernelConfig, blas: Sgemm): tf.KernelConfig {
  const slow = fallback.kernelFunc as unknown as Run;
  const kernelFunc = (args: Args): tf.TensorInfo => {
    const { inputs: { a, b, bias, preluActivationWeights: prelu }, backend, attrs } = args;
    const { transposeA: tA, transposeB: tB } = attrs;
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const { m, k, kB, n } = productDims(args);
    const perColumn = (t?: tf.TensorInfo) => t == null || [1, n].includes(tf.util.sizeFromShape(t.shape));
    const plan = batchPlan(a.shape, b.shape);
    if (plan === null || a.dtype !== 'float32' || b.dtype !== 'float32' || kB !== k
      || !perColumn(bias) || !perColumn(prelu) || !Object.hasOwn(ACTIVATIONS, activation)
      || (activation === 'prelu' && prelu == null)) return slow(args);

    const out = backend.makeOutput([...plan.outOuter, m, n], 'float32');
    // The only allocation is done: heap views stay valid from here on.
    const c = f32(backend, out);
    if (bias != null) {
      const bs = f32(backend, bias);
      if (bs.length === 1) c.fill(bs[0]);
      else for (let row = 0; row < c.length; row += n) c.set(bs, row);
    }
    blas.sgemm(tA, tB, m, n, k, 1, f32(backend, a), tA ? m : k, f32(backend, b), tB ? k : n, bias != null ? 1 : 0, c, n,
      plan.batch, plan.aBatched ? m * k : 0, plan.bBatched ? k * n : 0, m * n);
    if (activation !== 'linear') {
      const alpha = activation === 'prelu' ? f32(backend, prelu!) : new Float32Array([(attrs.leakyreluAlpha as number | undefined) ?? 0.2]);
      ACTIVATIONS[activation](c, alpha, n);
    }
    return out;
  };
  return { ...fallback, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/**
 * The fused activations in place, with the cpu backend's formulas (the reference in the tests).
 * `alpha`: prelu's weights (one per column, or one for all) or leakyrelu's slope.
 */
const ACTIVATIONS: Record<string, (c: Float32Array, alpha: Float32Array, n: number) => void> = {
  linear: () => {},
  relu: (c) => { for (let i = 0; i < c.length; i++) c[i] = Math.max(0, c[i]); },
  relu6: (c) => { for (let i = 0; i < c.length; i++) c[i] = Math.min(6, Math.max(0, c[i])); },
  elu: (c) => { for (let i = 0; i < c.length; i++) if (!(c[i] >= 0)) c[i] = Math.exp(c[i]) - 1; },
  sigmoid: (c) => { for (let i = 0; i < c.length; i++) c[i] = 1 / (1 + Math.exp(-c[i])); },
  leakyrelu: (c, alpha) => { const s = alpha[0]; for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] *= s; },
  prelu: (c, alpha, n) => {
    if (alpha.length === 1) return ACTIVATIONS.leakyrelu(c, alpha, n);
    for (let row = 0; row < c.length; row += n) for (let j = 0; j < n; j++) if (c[row + j] < 0) c[row + j] *= alpha[j];
  },
};
