// MaxPoolGrad for wasm: routes each output's gradient to the input its window took the max from.
//
// Why: the shipped kernel is a scalar loop that, for every input pixel, revisits every window
// covering it; in a small CNN it cost about as much as a conv gradient. This one scans each
// window once (O(outputs · window)), channels innermost so the reads are contiguous.
// Ties go to the first maximum in row-major window order, as on the cpu backend (the shipped
// wasm kernel picks the last); either is a valid subgradient, this one makes the backends agree.

import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, f32 } from './wasm';

type Inputs = { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
type Attrs = {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend, attrs }: KernelArgs<Inputs, Attrs>): tf.TensorInfo => {
    const { dy, input } = inputs;
    if (dy.dtype !== 'float32' || input.dtype !== 'float32') throw new Error('MaxPoolGrad on wasm supports float32 only');
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const dx = backend.makeOutput(input.shape, 'float32');
    const dxs = f32(backend, dx);
    dxs.fill(0);
    accumulate(dxs, f32(backend, input), f32(backend, dy), info);
    return dx;
  }) as unknown as tf.KernelFunc,
};

function accumulate(dx: Float32Array, x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      const y0 = Math.max(0, y * sh - top);
      const y1 = Math.min(h, y * sh - top + fh);
      for (let xo = 0; xo < ow; xo++, o += c) {
        const x0 = Math.max(0, xo * sw - left);
        const x1 = Math.min(w, xo * sw - left + fw);
        if (y1 <= y0 || x1 <= x0) continue;
        // Start from the window's first pixel, then keep strictly greater values only.
        const first = ((b * h + y0) * w + x0) * c;
        for (let k = 0; k < c; k++) {
          best[k] = x[first + k];
          where[k] = first + k;
        }
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = iy === y0 ? x0 + 1 : x0; ix < x1; ix++) {
            const p = ((b * h + iy) * w + ix) * c;
            for (let k = 0; k < c; k++) {
              const v = x[p + k];
              if (v > best[k]) {
                best[k] = v;
                where[k] = p + k;
              }
            }
          }
        }
        for (let k = 0; k < c; k++) dx[where[k]] += dy[o + k];
      }
    }
  }
}
