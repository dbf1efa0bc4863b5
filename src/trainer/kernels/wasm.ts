// Small helpers shared by the wasm kernel replacements. The kernels receive the wasm backend
// instance and work on its heap directly: every tensor of the wasm backend is a malloc'd block
// in the module's linear memory, so a kernel can read and write it without copying into JS.

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

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
 */
export function transposeLast2(x: tf.TensorInfo, backend: BackendWasm, transpose: ReturnType<typeof wasmKernelFunc>): tf.TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose({ inputs: { x }, backend, attrs: { perm } });
}

/**
 * A Float32Array view of a wasm tensor. Views die when the heap grows (any allocation may grow
 * it and detach the old ArrayBuffer), so take views only after the last allocation before use.
 */
export function f32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}
