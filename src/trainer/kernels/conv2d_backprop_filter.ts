// Conv2DBackpropFilter for wasm: the gradient of conv2d with respect to its filter.
//
// Why: the wasm backend ships no such kernel, so no conv layer can train on it. This one is
// im2col + one XNNPACK matmul:
//   dW[kh·kw·cin, cout] = colsᵀ[kh·kw·cin, N·oh·ow] · dy[N·oh·ow, cout]
// where colsᵀ holds, for every filter tap (i, j, c), the input pixel that tap saw at every
// output position (0 where it fell in the padding). colsᵀ is written directly in that
// transposed layout so the matmul runs untransposed, i.e. on XNNPACK, with the small dy as the
// operand XNNPACK packs. (Writing cols row-major is faster, but transposing 10⁷ floats or
// having XNNPACK pack them costs more than it saves — measured.) The row order (i, j, c) is the
// filter's own [kh, kw, cin, cout] layout, so the product needs no reordering.
// colsᵀ is built for a slice of the batch at a time (CHUNK_FLOATS) and the products are summed.
//
// With an sgemm (the native addon, ./blas.ts, or the SIMD module's, ./stepSimd.ts) the product is
// one sgemm per slice instead, reading dy's rows in place and adding every slice onto the result
// (beta = 1): no sums in JS. There cols is written row-major (the faster layout to write:
// contiguous runs of kw·cin floats) and sgemm reads it transposed.

import * as tf from '@tensorflow/tfjs';
import type { Sgemm } from './blas';
import { type ConvAttrs, type KernelArgs, type MatMulFunc, convInfo, f32, imagesPerChunk } from './wasm';

type Inputs = { x: tf.TensorInfo; dy: tf.TensorInfo };
type Attrs = ConvAttrs & { filterShape: [number, number, number, number] };

/**
 * `matMul` is the wasm BatchMatMul kernelFunc as shipped (untransposed calls go to XNNPACK);
 * `blas`, when given, computes the products instead.
 */
export function conv2DBackpropFilterConfig(matMul: MatMulFunc, blas?: Sgemm): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs<Inputs, Attrs>): tf.TensorInfo => {
    const { x, dy } = inputs;
    const info = convInfo(tf.Conv2DBackpropFilter, x.shape, attrs.filterShape, attrs, [x.dtype, dy.dtype]);
    const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: cout, filterHeight: kh, filterWidth: kw, inChannels: cin } = info;
    const k = kh * kw * cin;
    const perImage = oh * ow;
    const chunk = imagesPerChunk(n, k * perImage);

    if (blas) {
      const result = backend.makeOutput([kh, kw, cin, cout], 'float32');
      f32(backend, result).fill(0);
      for (let n0 = 0; n0 < n; n0 += chunk) {
        const nb = Math.min(chunk, n - n0);
        const m = nb * perImage;
        const cols = backend.makeOutput([m, k], 'float32');
        // Allocations done: views stay valid until the next slice.
        fillCols(f32(backend, cols), f32(backend, x), info, n0, nb);
        const dyRows = f32(backend, dy).subarray(n0 * perImage * cout);
        blas.sgemm(true, false, k, cout, m, 1, f32(backend, cols), k, dyRows, cout, 1, f32(backend, result), cout);
        backend.disposeData(cols.dataId);
      }
      return result;
    }

    let result: tf.TensorInfo | undefined;
    for (let n0 = 0; n0 < n; n0 += chunk) {
      const nb = Math.min(chunk, n - n0);
      const m = nb * perImage;
      const cols = backend.makeOutput([k, m], 'float32');
      // dy's rows for this slice are contiguous, but they are copied into a tensor of their own:
      // XNNPACK caches its packed copy of `b` under b's tensor id until that id is disposed,
      // and must not keep one (or later reuse it, with another shape) for dy itself.
      const dySlice = backend.makeOutput([m, cout], 'float32');
      // All allocations are done: views taken now stay valid until the matmul below.
      f32(backend, dySlice).set(f32(backend, dy).subarray(n0 * perImage * cout, (n0 + nb) * perImage * cout));
      fillColsT(f32(backend, cols), f32(backend, x), info, n0, nb);

      const prod = matMul({ inputs: { a: cols, b: dySlice }, backend, attrs: { transposeA: false, transposeB: false } });
      backend.disposeData(cols.dataId);
      backend.disposeData(dySlice.dataId);
      if (result === undefined) {
        result = prod;
      } else {
        const acc = f32(backend, result);
        const add = f32(backend, prod);
        for (let i = 0; i < acc.length; i++) acc[i] += add[i];
        backend.disposeData(prod.dataId);
      }
    }
    return { ...result!, shape: [kh, kw, cin, cout] };
  };
  return { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/**
 * colsᵀ[(i·kw + j)·cin + c][((b - n0)·oh + y)·ow + x] = x[b, y·sh - top + i, x·sw - left + j, c],
 * 0 outside the image. The inner loop runs along output columns with the out-of-image edges
 * cut off beforehand, so it is a branch-free strided gather.
 */
function fillColsT(cols: Float32Array, xs: Float32Array, info: tf.backend_util.Conv2DInfo, n0: number, nb: number): void {
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const m = nb * oh * ow;
  const rowStride = w * cin;
  const xStep = sw * cin;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // Output columns whose input column ox·sw - left + j lies inside [0, w).
      const dx = j - left;
      const xLo = Math.min(ow, Math.max(0, Math.ceil(-dx / sw)));
      const xHi = Math.max(xLo, Math.min(ow, Math.floor((w - 1 - dx) / sw) + 1));
      for (let c = 0; c < cin; c++) {
        let o = ((i * kw + j) * cin + c) * m;
        for (let b = n0; b < n0 + nb; b++) {
          const imageBase = b * h * rowStride + c;
          for (let y = 0; y < oh; y++) {
            const iy = y * sh - top + i;
            if (iy < 0 || iy >= h) {
              cols.fill(0, o, o + ow);
              o += ow;
              continue;
            }
            for (let ox = 0; ox < xLo; ox++) cols[o++] = 0;
            let src = imageBase + iy * rowStride + (xLo * sw + dx) * cin;
            for (let ox = xLo; ox < xHi; ox++, src += xStep) cols[o++] = xs[src];
            for (let ox = xHi; ox < ow; ox++) cols[o++] = 0;
          }
        }
      }
    }
  }
}

/**
 * cols[((b - n0)·oh + y)·ow + x][(i·kw + j)·cin + c] = x[b, y·sh - top + i, x·sw - left + j, c],
 * 0 outside the image: the gather twin of Conv2DBackpropInput's col2im. For a pixel and filter
 * row i, the taps inside the image read one contiguous run of x.
 */
function fillCols(cols: Float32Array, xs: Float32Array, info: tf.backend_util.Conv2DInfo, n0: number, nb: number): void {
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rowLen = kw * cin;
  let row = 0;
  for (let b = n0; b < n0 + nb; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const ix0 = x * sw - left;
        const jLo = Math.min(kw, Math.max(0, -ix0));
        const jHi = Math.max(jLo, Math.min(kw, w - ix0));
        for (let i = 0; i < kh; i++, row += rowLen) {
          const iy = y * sh - top + i;
          if (iy < 0 || iy >= h || jHi === jLo) {
            cols.fill(0, row, row + rowLen);
            continue;
          }
          let o = row;
          for (const end = row + jLo * cin; o < end;) cols[o++] = 0;
          let src = ((b * h + iy) * w + ix0 + jLo) * cin;
          for (const end = row + jHi * cin; o < end;) cols[o++] = xs[src++];
          for (const end = row + rowLen; o < end;) cols[o++] = 0;
        }
      }
    }
  }
}
