// Kernel replacements for the tfjs wasm backend (DESIGN.md §5), installed by initBackend() when
// wasm is chosen. tfjs looks kernels up by (name, backend) at every op call, so swapping a
// registry entry changes what every model, optimizer and gradient runs, with no change to them.
//
//   BatchMatMul, _FusedMatMul   originals wrapped: transposes materialised so XNNPACK runs.
//   Conv2DBackpropFilter        missing on wasm: im2col + XNNPACK matmul.
//   Conv2DBackpropInput         shipped as a scalar loop: XNNPACK matmul + col2im.
//
// Everything else CNN/MLP training uses (MaxPoolGrad, AvgPoolGrad, the ops behind dropout,
// maxNorm, softmax cross-entropy, Adam/momentum) is present on wasm 4.22; the kernels above and
// the pooling gradients are checked against cpu in test/trainer/kernels.test.ts.

import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter';
import { conv2DBackpropInputConfig } from './conv2d_backprop_input';
import { withMaterialisedTransposes } from './matmul';
import type { MatMulFunc } from './wasm';

const BACKEND = 'wasm';
/** What was registered before install (undefined: nothing was), to put back on uninstall. */
let saved: Map<string, tf.KernelConfig | undefined> | undefined;

function replace(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, BACKEND) != null) tf.unregisterKernel(config.kernelName, BACKEND);
  tf.registerKernel(config);
}

/**
 * Registers the replacements for the wasm backend. Idempotent. Call after the wasm backend has
 * initialised (the wrapped originals rely on their setupFunc having run).
 */
export function installWasmKernels(): void {
  if (saved) return;
  const matMul = tf.getKernel(tf.BatchMatMul, BACKEND);
  const fused = tf.getKernel(tf._FusedMatMul, BACKEND);
  if (matMul == null || fused == null) throw new Error('wasm backend kernels are not registered');
  saved = new Map();
  for (const name of [tf.BatchMatMul, tf._FusedMatMul, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput]) saved.set(name, tf.getKernel(name, BACKEND));

  replace(withMaterialisedTransposes(matMul));
  replace(withMaterialisedTransposes(fused));
  // The conv gradients' products are untransposed with batch 1: the original kernel already runs
  // them on XNNPACK.
  const plainMatMul = matMul.kernelFunc as unknown as MatMulFunc;
  replace(conv2DBackpropFilterConfig(plainMatMul));
  replace(conv2DBackpropInputConfig(plainMatMul));
}

/** Restores the kernels as shipped (for benchmarks and tests). */
export function uninstallWasmKernels(): void {
  if (!saved) return;
  for (const [name, original] of saved) {
    if (tf.getKernel(name, BACKEND) != null) tf.unregisterKernel(name, BACKEND);
    if (original) tf.registerKernel(original);
  }
  saved = undefined;
}

export function wasmKernelsInstalled(): boolean {
  return saved !== undefined;
}
