// BatchMatMul and _FusedMatMul for wasm, transposes materialised first.
//
// Why: the wasm backend hands a matmul to XNNPACK (fast, SIMD, ~25 GFLOPS here) only when
// neither input is transposed and both have batch size 1; otherwise it runs a blocked scalar
// triple loop (~4 GFLOPS). Backprop through a dense layer is nothing but transposed matmuls
// (dW = xᵀ·dy, dx = dy·Wᵀ), so training sat on the slow loop. A transpose is O(n²) memory
// traffic against the matmul's O(n³) arithmetic: doing it first with the wasm Transpose kernel
// and then calling the original kernel with both flags false puts every step on XNNPACK.
//
// Batched (rank-3 with batch > 1) products never reach XNNPACK, transposed or not, so they are
// passed through untouched rather than paying for a transpose that buys nothing.

import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, transposeLast2, wasmKernelFunc } from './wasm';

type MatMulInputs = { a: tf.TensorInfo; b: tf.TensorInfo } & Record<string, tf.TensorInfo | undefined>;
type MatMulAttrs = { transposeA: boolean; transposeB: boolean } & Record<string, unknown>;

function batchSize(t: tf.TensorInfo): number {
  return tf.util.sizeFromShape(t.shape.slice(0, -2));
}

/** Wraps a matmul-like kernelFunc (inputs a, b, …; attrs transposeA/B, …) as described above. */
export function withMaterialisedTransposes(original: tf.KernelConfig): tf.KernelConfig {
  const run = original.kernelFunc as unknown as (args: KernelArgs<MatMulInputs, MatMulAttrs>) => tf.TensorInfo;
  const kernelFunc = (args: KernelArgs<MatMulInputs, MatMulAttrs>): tf.TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    if ((!attrs.transposeA && !attrs.transposeB) || batchSize(a) !== 1 || batchSize(b) !== 1) return run(args);
    const transpose = wasmKernelFunc(tf.Transpose);
    const a2 = attrs.transposeA ? transposeLast2(a, backend, transpose) : a;
    const b2 = attrs.transposeB ? transposeLast2(b, backend, transpose) : b;
    try {
      // Other inputs (bias, preluActivationWeights) and attrs (activation, leakyreluAlpha) pass
      // through unchanged, so the fused semantics are the original kernel's.
      return run({ inputs: { ...inputs, a: a2, b: b2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      // XNNPACK caches a packed operator per `b` tensor id; disposing the temporary also drops
      // that cache entry (the backend's disposal callback), so nothing leaks per step.
      if (a2 !== a) backend.disposeData(a2.dataId);
      if (b2 !== b) backend.disposeData(b2.dataId);
    }
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
