// Small helpers shared by the wasm kernel replacements. The kernels receive the wasm backend
// instance and work on its heap directly: every tensor of the wasm backend is a malloc'd block
// in the module's linear memory, so a kernel can read and write it without copying into JS.

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './stepSimd';

export type { BackendWasm };

export interface KernelArgs<I, A> {
  inputs: I;
  backend: BackendWasm;
  attrs: A;
}

/** The kernelFunc of a kernel currently registered for wasm, typed loosely. */
export function wasmKernelFunc(name: string): (args: KernelArgs<unknown, unknown>) => tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (k == null) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc as unknown as (args: KernelArgs<unknown, unknown>) => tf.TensorInfo;
}

/**
 * A new wasm tensor holding `x` with its last two axes swapped. The caller disposes it with
 * `backend.disposeData(t.dataId)`.
 *
 * Float matrices are transposed here in 32×32 tiles by the SIMD module (4×4 blocks in registers;
 * any row count that is a multiple of 4) where the wasm build exposes its memory, else in JS for
 * row counts that are multiples of 64 — a batch of 128 examples, the usual `x` and `dy` of a
 * training step — and by the Transpose kernel otherwise. The wasm Transpose kernel writes
 * each input row down a column of the output, and with a stride of 64·k floats those writes
 * collide in the same cache sets (measured 3.3–5.2 ns a float for 128, 256 and 512 rows, against
 * 0.4–0.8 for 784, 800 or 1,200 rows; the blocks take 1.2 everywhere).
 */
export function transposeLast2(x: tf.TensorInfo, backend: BackendWasm, transpose: ReturnType<typeof wasmKernelFunc>): tf.TensorInfo {
  const r = x.shape.length;
  const [rows, cols] = x.shape.slice(-2);
  const simd = x.dtype === 'float32' && rows % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd || (x.dtype === 'float32' && rows % 64 === 0)) {
    const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
    const src = f32(backend, x);
    const dst = f32(backend, out);
    for (let base = 0; base < src.length; base += rows * cols) {
      if (simd) simd.transpose(src.subarray(base, base + rows * cols), dst.subarray(base, base + rows * cols), rows, cols);
      else transposeBlocked(src, dst, base, rows, cols);
    }
    return out;
  }
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose({ inputs: { x }, backend, attrs: { perm } });
}

/** dst[base + j·rows + i] = src[base + i·cols + j], in 32×32 blocks. */
function transposeBlocked(src: Float32Array, dst: Float32Array, base: number, rows: number, cols: number): void {
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) {
        const from = base + i * cols;
        for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[from + j];
      }
    }
  }
}

/**
 * A Float32Array view of a wasm tensor. Views die when the heap grows (any allocation may grow
 * it and detach the old ArrayBuffer), so take views only after the last allocation before use.
 */
export function f32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** A BatchMatMul kernelFunc for wasm (called with both transpose flags false). */
export type MatMulFunc = (
  args: KernelArgs<{ a: tf.TensorInfo; b: tf.TensorInfo }, { transposeA: boolean; transposeB: boolean }>,
) => tf.TensorInfo;

/**
 * Upper bound (floats) on the im2col scratch of the conv gradient kernels, 64 MB: large enough
 * for long XNNPACK panels, small enough not to balloon the wasm heap (which never shrinks).
 */
export const CHUNK_FLOATS = 16 * 1024 * 1024;
let chunkFloats = CHUNK_FLOATS;

/** Overrides CHUNK_FLOATS (tests use a tiny value to exercise the multi-chunk path). */
export function setConvChunkFloats(floats: number = CHUNK_FLOATS): void {
  chunkFloats = floats;
}

/** Images per chunk so that `floatsPerImage`·images stays under the chunk size (at least 1). */
export function imagesPerChunk(batch: number, floatsPerImage: number): number {
  return Math.max(1, Math.min(batch, Math.floor(chunkFloats / floatsPerImage)));
}

export type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/**
 * Shapes, strides and padding of an NHWC conv, dilation 1 (tfjs' conv2d gradients reject
 * dilations > 1, so that is all the gradient kernels are asked for).
 */
export function convInfo(
  kernel: string, inShape: number[], filterShape: number[], attrs: ConvAttrs, dtypes: tf.DataType[],
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error(`${kernel} on wasm supports NHWC only`);
  if (dtypes.some((d) => d !== 'float32')) throw new Error(`${kernel} on wasm supports float32 only`);
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}
