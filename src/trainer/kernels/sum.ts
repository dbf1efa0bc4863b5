// Sum for wasm, fast path for reducing a leading block of axes (bias gradients, max-norm).
//
// Why: the bias gradient of a conv or dense layer is dy summed over every axis but the last,
// and a max-norm constraint sums each dense kernel's squares over its input axis at every step.
// The shipped kernel reduces innermost axes only, so it first transposes all of dy to move
// the channel axis to the front (≈ 5 % of a small CNN's training step). Summing rows into a
// per-column accumulator needs no transpose. Every other case goes to the original kernel.
// With the native BLAS, the sum is one product ones[1×rows]·X[rows×cols]: SIMD and threaded,
// where the JS loop took ~7 % of the Hinton teacher's step (its max-norm over 2.4M weights).

import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from './blas';
import { type KernelArgs, f32 } from './wasm';

type Inputs = { x: tf.TensorInfo };
type Attrs = { axis: number | number[]; keepDims: boolean };

let ones = new Float32Array(0);
function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(n).fill(1);
  return ones.subarray(0, n);
}

export function sumConfig(original: tf.KernelConfig, blas?: NativeBlas): tf.KernelConfig {
  const run = original.kernelFunc as unknown as (args: KernelArgs<Inputs, Attrs>) => tf.TensorInfo;
  const kernelFunc = (args: KernelArgs<Inputs, Attrs>): tf.TensorInfo => {
    const { inputs: { x }, backend, attrs } = args;
    const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    const leading = k > 0 && k < x.shape.length && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return run(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const cols = tf.util.sizeFromShape(x.shape.slice(k));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    const xs = f32(backend, x);
    if (blas) {
      blas.sgemm(false, false, 1, cols, rows, 1, onesOf(rows), rows, xs, cols, 0, f32(backend, out), cols);
      return out;
    }
    const acc = new Float64Array(cols);
    for (let r = 0, base = 0; r < rows; r++, base += cols) for (let c = 0; c < cols; c++) acc[c] += xs[base + c];
    f32(backend, out).set(acc);
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
