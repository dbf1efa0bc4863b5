// Sum for wasm, fast path for reducing a leading block of axes (bias gradients).
//
// Why: the bias gradient of a conv or dense layer is dy summed over every axis but the last.
// The shipped kernel reduces innermost axes only, so it first transposes all of dy to move
// the channel axis to the front (≈ 5 % of a small CNN's training step). Summing rows into a
// per-column accumulator needs no transpose. Every other case goes to the original kernel.

import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, f32 } from './wasm';

type Inputs = { x: tf.TensorInfo };
type Attrs = { axis: number | number[]; keepDims: boolean };

export function sumConfig(original: tf.KernelConfig): tf.KernelConfig {
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
    const acc = new Float64Array(cols);
    for (let r = 0, base = 0; r < rows; r++, base += cols) for (let c = 0; c < cols; c++) acc[c] += xs[base + c];
    f32(backend, out).set(acc);
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
