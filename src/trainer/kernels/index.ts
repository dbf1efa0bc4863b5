// Kernel replacements for the tfjs wasm backend (docs/architecture.md §5), installed by initBackend() when
// wasm is chosen. tfjs looks kernels up by (name, backend) at every op call, so swapping a
// registry entry changes what every model, optimizer and gradient runs, with no change to them.
//
//   BatchMatMul, _FusedMatMul   originals wrapped: transposes materialised, batches split, so
//                               XNNPACK runs every product (and fused biases come out right).
//   Conv2DBackpropFilter        missing on wasm: im2col + XNNPACK matmul.
//   Conv2DBackpropInput         shipped as a scalar loop: XNNPACK matmul + col2im.
//   MaxPoolGrad                 shipped as a quadratic scalar loop: one pass over the windows.
//   Sum                         original wrapped: leading-axes sums (bias grads) skip a transpose.
//   Identity                    shares the input's memory by reference count, as the cpu backend
//                               does; the shipped kernel copies it. Every tensor the gradient tape
//                               saves is an Identity: 2.6 M floats a Hinton teacher step (~1.6 ms).
//   Cast                        the same for a cast to the tensor's own dtype, which tfjs's
//                               ReLU and Multiply gradients do on every step (seven copies a
//                               Hinton teacher step); other casts go to the shipped kernel.
//
// With the optional native addon (./blas.ts: OpenBLAS through Node-API) loaded, BatchMatMul,
// _FusedMatMul and the two conv gradients compute their products with sgemm on the wasm heap
// instead of XNNPACK (5–10× faster on training steps), and Sum its leading-axes sums. Without
// it, the products go to the SIMD module's own sgemm (./stepSimd.ts: step.wat's gemm on tfjs's
// thread count; a Hinton teacher step's eight products alone 23 ms against XNNPACK's 39) where
// the wasm build exposes its memory, and to XNNPACK as above where it does not.
//
// Everything else CNN/MLP training uses (AvgPoolGrad, the ops behind dropout,
// maxNorm, softmax cross-entropy, Adam/momentum) is present on wasm 4.22; the kernels above and
// the pooling gradients are checked against cpu in test/trainer/kernels.test.ts.

import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter';
import { conv2DBackpropInputConfig } from './conv2d_backprop_input';
import { type NativeBlas, type Sgemm, nativeBlas } from './blas';
import { withBlas, withXnnpackOnly } from './matmul';
import { registerLayerKernels, unregisterLayerKernels } from './layers';
import { maxPoolGradConfig } from './max_pool_grad';
import { simdKernels } from './stepSimd';
import { sumConfig } from './sum';
import type { BackendWasm, KernelArgs, MatMulFunc } from './wasm';

export { setConvChunkFloats } from './wasm';

const BACKEND = 'wasm';
/** What was registered before install (undefined: nothing was), to put back on uninstall. */
let saved: Map<string, tf.KernelConfig | undefined> | undefined;
/** The addon the installed kernels use, if any. */
let installedBlas: NativeBlas | undefined;
/** Whose sgemm the installed products run on. */
let installedProducts: 'addon' | 'simd' | 'xnnpack' | undefined;

function replace(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, BACKEND) != null) tf.unregisterKernel(config.kernelName, BACKEND);
  tf.registerKernel(config);
}

/** The kernels this module replaces or adds on wasm. */
export const WASM_KERNELS = [tf.BatchMatMul, tf._FusedMatMul, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.Sum, tf.Identity, tf.Cast] as const;

/** A tensor that shares `x`'s memory (one more reference to it), as the cpu backend's Identity does. */
function shareMemory(x: tf.TensorInfo, backend: BackendWasm): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: BACKEND,
  kernelFunc: (({ inputs: { x }, backend }: KernelArgs<{ x: tf.TensorInfo }, unknown>) => shareMemory(x, backend)) as unknown as tf.KernelFunc,
};

function castConfig(original: tf.KernelConfig): tf.KernelConfig {
  type Args = KernelArgs<{ x: tf.TensorInfo }, { dtype: tf.DataType }>;
  const run = original.kernelFunc as unknown as (args: Args) => tf.TensorInfo;
  const kernelFunc = (args: Args) => (args.attrs.dtype === args.inputs.x.dtype ? shareMemory(args.inputs.x, args.backend) : run(args));
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

function shipped(name: string): tf.KernelConfig {
  const k = tf.getKernel(name, BACKEND);
  if (k == null) throw new Error(`wasm kernel ${name} is not registered`);
  return k;
}

/**
 * Registers the replacements for the wasm backend (all of them, or only those named — the
 * benchmark uses that to measure each). Idempotent. Call after the wasm backend has initialised:
 * the wrapped originals rely on their setupFunc having run. `blas`: the native addon; by default
 * the one nativeBlas() loaded, null for none. `products`: the sgemm the matmul and conv-gradient
 * products use; by default the addon's, else the SIMD module's on the wasm backend's memory;
 * null for XNNPACK's.
 */
export function installWasmKernels(
  only: readonly string[] = WASM_KERNELS,
  blas: NativeBlas | null = nativeBlas().blas ?? null,
  products: Sgemm | null = blas ?? simdKernels(tf.findBackend(BACKEND) as unknown as BackendWasm) ?? null,
): void {
  if (saved) return;
  const native = blas ?? undefined;
  const sgemm = products ?? undefined;
  // The conv gradients' products are untransposed with batch 1: the shipped BatchMatMul already
  // runs those on XNNPACK, so they call it directly.
  const matMul = shipped(tf.BatchMatMul);
  const plainMatMul = matMul.kernelFunc as unknown as MatMulFunc;
  const make: Record<(typeof WASM_KERNELS)[number], () => tf.KernelConfig> = {
    [tf.BatchMatMul]: () => sgemmOr(withXnnpackOnly(matMul), sgemm),
    [tf._FusedMatMul]: () => sgemmOr(withXnnpackOnly(shipped(tf._FusedMatMul)), sgemm),
    [tf.Conv2DBackpropFilter]: () => conv2DBackpropFilterConfig(plainMatMul, sgemm),
    [tf.Conv2DBackpropInput]: () => conv2DBackpropInputConfig(plainMatMul, sgemm),
    [tf.MaxPoolGrad]: () => maxPoolGradConfig,
    [tf.Sum]: () => sumConfig(shipped(tf.Sum), native),
    [tf.Identity]: () => identityConfig,
    [tf.Cast]: () => castConfig(shipped(tf.Cast)),
  };
  const configs = WASM_KERNELS.filter((name) => only.includes(name)).map((name) => make[name]());
  saved = new Map(WASM_KERNELS.map((name) => [name, tf.getKernel(name, BACKEND)]));
  for (const config of configs) replace(config);
  // The products and sums use the addon; MaxPoolGrad, Identity and Cast do not.
  installedBlas = configs.some((c) => ![tf.MaxPoolGrad, tf.Identity, tf.Cast].includes(c.kernelName as never)) ? native : undefined;
  installedProducts = !sgemm ? 'xnnpack' : sgemm === native ? 'addon' : 'simd';
  // The dense-ReLU and dropout layers' own kernels (./layers.ts) compute with the addon alone.
  if (installedBlas) registerLayerKernels(installedBlas);
}

function sgemmOr(xnnpack: tf.KernelConfig, sgemm: Sgemm | undefined): tf.KernelConfig {
  return sgemm ? withBlas(xnnpack, sgemm) : xnnpack;
}

/** Restores the kernels as shipped (for benchmarks and tests). */
export function uninstallWasmKernels(): void {
  if (!saved) return;
  for (const [name, original] of saved) {
    if (tf.getKernel(name, BACKEND) != null) tf.unregisterKernel(name, BACKEND);
    if (original) tf.registerKernel(original);
  }
  saved = undefined;
  installedBlas = undefined;
  installedProducts = undefined;
  unregisterLayerKernels();
}

export function wasmKernelsInstalled(): boolean {
  return saved !== undefined;
}

/** Whose sgemm the installed kernels' products run on: the addon's, the SIMD module's or XNNPACK's (undefined: not installed). */
export function wasmKernelsProducts(): typeof installedProducts {
  return installedProducts;
}

/** The native addon the installed kernels compute their products with (undefined: none). */
export function wasmKernelsBlas(): NativeBlas | undefined {
  return installedBlas;
}
