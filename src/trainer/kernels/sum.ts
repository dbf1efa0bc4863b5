// Sum for wasm, fast path for reducing a leading block of axes (bias gradients, max-norm).
//
// Why: the bias gradient of a conv or dense layer is dy summed over every axis but the last,
// and a max-norm constraint sums each dense kernel's squares over its input axis at every step.
// The shipped kernel reduces innermost axes only, so it first transposes all of dy to move
// the channel axis to the front (≈ 5 % of a small CNN's training step). Summing rows into a
// per-column accumulator needs no transpose. Every other case goes to the original kernel.
// With the native addon the same sums run there (its columnSums, one copy per instruction set); the
// max-norms of both paths sum their squares the same way (in the same four parts of the rows), so
// every path gives the same numbers.

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

/** How many parts of the rows every column sum is added in (the addon's SUM_PARTS). */
export const SUM_PARTS = 4;

/**
 * Σ over rows of a row-major rows×cols matrix, per column, in a double (then rounded to float by
 * the caller's Float32Array), in SUM_PARTS parts of the rows: part p is rows ⌊p·rows/4⌋ to
 * ⌊(p+1)·rows/4⌋ − 1, each added in row order from zero, then the parts' sums added in order.
 * Why parts: the addon sums the parts on separate threads, and both paths give the same numbers.
 * Eight rows per sweep — the same additions in the same order, one accumulator load and store per
 * eight: 3× faster than a row at a time.
 */
export function columnSums(xs: Float32Array, rows: number, cols: number): Float64Array {
  const total = new Float64Array(cols);
  const acc = new Float64Array(cols);
  for (let p = 0; p < SUM_PARTS; p++) {
    const end = Math.floor(((p + 1) * rows) / SUM_PARTS);
    let r = Math.floor((p * rows) / SUM_PARTS);
    acc.fill(0);
    for (; r + 8 <= end; r += 8) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) {
        const i = base + c;
        acc[c] = acc[c] + xs[i] + xs[i + cols] + xs[i + 2 * cols] + xs[i + 3 * cols] + xs[i + 4 * cols] + xs[i + 5 * cols] + xs[i + 6 * cols] + xs[i + 7 * cols];
      }
    }
    for (; r < end; r++) for (let c = 0, base = r * cols; c < cols; c++) acc[c] += xs[base + c];
    for (let c = 0; c < cols; c++) total[c] += acc[c];
  }
  return total;
}
