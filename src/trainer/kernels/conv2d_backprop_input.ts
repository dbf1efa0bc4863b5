// Conv2DBackpropInput for wasm: the gradient of conv2d with respect to its input.
//
// Why: wasm 4.22 has this kernel, but as a scalar loop (1–2 GFLOPS here); in a small CNN it
// took longer than the rest of the training step together. This one is one XNNPACK matmul +
// col2im:
//   dcols[N·oh·ow, kh·kw·cin] = dy[N·oh·ow, cout] · Wᵀ[cout, kh·kw·cin]
// then every output pixel's row of dcols is added back onto the input pixels its filter window
// covered. Wᵀ is small and materialised once (the matmul runs untransposed, i.e. on XNNPACK,
// which packs Wᵀ once and reuses it for every chunk). For a given pixel and filter row i, the
// window's kw taps cover kw·cin consecutive floats of dx, so col2im is one contiguous add per
// (pixel, i), for any stride.
//
// With an sgemm (the native addon, ./blas.ts, or the SIMD module's, ./stepSimd.ts) the product is
// one sgemm per slice instead, reading dy's rows and the filter in place (Wᵀ is sgemm's transB
// flag): nothing is copied or materialised.

import * as tf from '@tensorflow/tfjs';
import type { Sgemm } from './blas';
import { type ConvAttrs, type KernelArgs, type MatMulFunc, convInfo, f32, imagesPerChunk, wasmKernelFunc } from './wasm';

type Inputs = { dy: tf.TensorInfo; filter: tf.TensorInfo };
type Attrs = ConvAttrs & { inputShape: [number, number, number, number] };

/**
 * `matMul` is the wasm BatchMatMul kernelFunc as shipped (untransposed calls go to XNNPACK);
 * `blas`, when given, computes the products instead.
 */
export function conv2DBackpropInputConfig(matMul: MatMulFunc, blas?: Sgemm): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs<Inputs, Attrs>): tf.TensorInfo => {
    const { dy, filter } = inputs;
    const info = convInfo(tf.Conv2DBackpropInput, attrs.inputShape, filter.shape, attrs, [dy.dtype, filter.dtype]);
    const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: cout, filterHeight: kh, filterWidth: kw, inChannels: cin } = info;
    const k = kh * kw * cin;
    const perImage = oh * ow;
    const chunk = imagesPerChunk(n, k * perImage);

    if (blas) {
      const dx = backend.makeOutput(attrs.inputShape, 'float32');
      f32(backend, dx).fill(0);
      for (let n0 = 0; n0 < n; n0 += chunk) {
        const nb = Math.min(chunk, n - n0);
        const m = nb * perImage;
        const dcols = backend.makeOutput([m, k], 'float32');
        // Allocations done: views stay valid until the next slice. The filter [kh, kw, cin, cout]
        // is W[k, cout] row-major, so dy·Wᵀ is sgemm with transB.
        const dyRows = f32(backend, dy).subarray(n0 * perImage * cout);
        blas.sgemm(false, true, m, k, cout, 1, dyRows, cout, f32(backend, filter), cout, 0, f32(backend, dcols), k);
        addCols(f32(backend, dx), f32(backend, dcols), info, n0, nb);
        backend.disposeData(dcols.dataId);
      }
      return dx;
    }

    const transpose = wasmKernelFunc(tf.Transpose);
    const wT = transpose({ inputs: { x: { ...filter, shape: [k, cout] } }, backend, attrs: { perm: [1, 0] } });
    const dx = backend.makeOutput(attrs.inputShape, 'float32');
    f32(backend, dx).fill(0);
    for (let n0 = 0; n0 < n; n0 += chunk) {
      const nb = Math.min(chunk, n - n0);
      const m = nb * perImage;
      // XNNPACK caches only the `b` operand by id, so dy itself can be the `a` operand; a slice
      // of it needs a tensor of its own (two tensors over one heap block would double-free).
      const whole = nb === n;
      const a = whole ? { ...dy, shape: [m, cout] } : backend.makeOutput([m, cout], 'float32');
      if (!whole) f32(backend, a).set(f32(backend, dy).subarray(n0 * perImage * cout, (n0 + nb) * perImage * cout));
      const dcols = matMul({ inputs: { a, b: wT }, backend, attrs: { transposeA: false, transposeB: false } });
      if (!whole) backend.disposeData(a.dataId);
      // The matmul allocated: take views only now.
      addCols(f32(backend, dx), f32(backend, dcols), info, n0, nb);
      backend.disposeData(dcols.dataId);
    }
    backend.disposeData(wT.dataId);
    return dx;
  };
  return { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** dx[b, y·sh - top + i, x·sw - left + j, c] += dcols[((b - n0)·oh + y)·ow + x][(i·kw + j)·cin + c]. */
function addCols(dx: Float32Array, dcols: Float32Array, info: tf.backend_util.Conv2DInfo, n0: number, nb: number): void {
  const { inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rowLen = kw * cin;
  let s0 = 0;
  for (let b = n0; b < n0 + nb; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++, s0 += kh * rowLen) {
        const ix0 = x * sw - left;
        const jLo = Math.max(0, -ix0);
        const jHi = Math.min(kw, w - ix0);
        if (jHi <= jLo) continue;
        for (let i = 0; i < kh; i++) {
          const iy = y * sh - top + i;
          if (iy < 0 || iy >= h) continue;
          let d = ((b * h + iy) * w + ix0 + jLo) * cin;
          let s = s0 + i * rowLen + jLo * cin;
          for (let e = (jHi - jLo) * cin; e > 0; e--) dx[d++] += dcols[s++];
        }
      }
    }
  }
}
