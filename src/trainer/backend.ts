// Picks and starts the tfjs backend the trainer computes on (docs/architecture.md §5).
//
// Everyone imports `* as tf from '@tensorflow/tfjs'`. The wasm backend is imported here from its
// own package; it requires the same @tensorflow/tfjs-core file as @tensorflow/tfjs (one copy in
// node_modules and in the bundle), and tfjs-core keeps its engine and kernel registry on the
// global object anyway, so it registers with the engine `tf` uses. Importing this module
// registers the wasm backend at a higher priority than cpu: call initBackend() before any tf op.
//
// Packaging: esbuild bundles @tensorflow/tfjs-backend-wasm into dist/trainer.js and dist/cli.js
// and copies the .wasm binaries and the threaded build's glue next to them (esbuild.mjs), because
// the .vsix ships dist/ without node_modules. When running from TypeScript sources (tests, tsx) the binaries are
// read from the package folder instead.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Backend, BackendPreference } from '../core/protocol';
import { installWasmKernels, wasmKernelsBlas, wasmKernelsInstalled, wasmKernelsProducts } from './kernels';
import { blasDescription, nativeBlas } from './kernels/blas';
import { activeAdapter, adapterLabel, startWebgpu } from './webgpu';
import { prepareThreadedWasm, unrefWasmWorkers } from './wasmThreads';

/**
 * The SIMD build, single-threaded: the one found next to the bundle marks where the binaries are.
 * tfjs falls back to the plain `tfjs-backend-wasm.wasm`, also shipped, on engines without wasm
 * SIMD; the threaded SIMD build starts through ./wasmThreads.ts.
 */
export const WASM_BINARY = 'tfjs-backend-wasm-simd.wasm';

// tfjs-node is an optional native dependency. It is external in esbuild.mjs, and it is loaded
// through a require that esbuild cannot see (an alias and a non-literal name), so the bundle
// never tries to resolve it at build time.
const TFJS_NODE = '@tensorflow/tfjs-node';
const dynamicRequire: NodeRequire = typeof require === 'function' ? require : createRequire(__filename);

/**
 * The folder holding the .wasm binaries, with a trailing separator (setWasmPaths wants a prefix).
 * `dist/` next to the running bundle when they were copied there, else the package's own dist/.
 */
export function wasmDir(): string {
  if (fs.existsSync(path.join(__dirname, WASM_BINARY))) return __dirname + path.sep;
  let pkgMain: string;
  try {
    pkgMain = dynamicRequire.resolve('@tensorflow/tfjs-backend-wasm');
  } catch {
    throw new Error(`wasm backend: ${WASM_BINARY} is neither in ${__dirname} nor resolvable from node_modules`);
  }
  return path.dirname(pkgMain) + path.sep;
}

let wasmPathsSet = false;
/** The priority tfjs-backend-wasm registers itself with (its WASM_PRIORITY). */
const WASM_PRIORITY = 2;

async function tryTensorflow(): Promise<boolean> {
  try {
    dynamicRequire(TFJS_NODE);
  } catch (e) {
    // Not installed (the usual case), or its native library failed to load.
    throw new Error(`${TFJS_NODE} not loadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  // A tfjs-node resolved from elsewhere could bring its own tfjs-core; only use it if our `tf`
  // sees its backend.
  if (tf.findBackendFactory('tensorflow') == null) throw new Error(`${TFJS_NODE} loaded but registered no backend with this tfjs`);
  return tf.setBackend('tensorflow');
}

/**
 * Threads for the wasm build: every core when the native addon is missing (XNNPACK computes the
 * products), one otherwise (sgemm runs on OpenBLAS's threads, whose workers spin between
 * products: more threads would compete with them). DISTILL_WASM_THREADS overrides.
 */
function wasmThreads(): number {
  const asked = Number(process.env.DISTILL_WASM_THREADS);
  if (Number.isInteger(asked) && asked >= 1) return Math.min(asked, 8);
  return nativeBlas().blas ? 1 : Math.min(os.cpus().length, 8);
}

/** Starts the wasm backend (the threaded build with `threads` > 1); false if it did not start. */
async function startWasm(threads: number): Promise<boolean> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const restore = threads > 1 ? prepareThreadedWasm(threads) : undefined;
  const before = processHandlers();
  try {
    const ok = await tf.setBackend('wasm');
    if (ok) await tf.ready();
    if (ok && threads > 1) unrefWasmWorkers();
    return ok;
  } finally {
    restore?.();
    dropHandlersAddedSince(before);
  }
}

async function tryWasm(): Promise<boolean> {
  if (!wasmPathsSet) {
    setWasmPaths(wasmDir());
    wasmPathsSet = true;
  }
  const threads = wasmThreads();
  const factory = tf.findBackendFactory('wasm');
  let ok = false;
  try {
    ok = await startWasm(threads);
  } catch (e) {
    if (threads === 1 || !factory) throw e;
  }
  if (!ok && threads > 1 && factory) {
    // The threaded build did not start: the plain build, registered afresh (tfjs keeps a failed start).
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', factory, WASM_PRIORITY);
    ok = await startWasm(1);
  }
  if (!ok) return false;
  installWasmKernels();
  return true;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- process listeners of both events, whose arguments differ
type Listener = (...args: any[]) => void;
type Handlers = Record<'uncaughtException' | 'unhandledRejection', Listener[]>;

function processHandlers(): Handlers {
  return {
    uncaughtException: process.listeners('uncaughtException') as Listener[],
    unhandledRejection: process.listeners('unhandledRejection') as Listener[],
  };
}

/**
 * The emscripten glue, when it instantiates the module, adds process handlers that rethrow every
 * uncaught exception and unhandled rejection. Node would crash the same way without them, but
 * they also print a ~30 KB line of minified glue as the "source" of any error, and they defeat
 * the trainer's own handlers (which report errors to the host). They are removed again.
 */
function dropHandlersAddedSince(before: Handlers): void {
  const now = processHandlers();
  for (const h of now.uncaughtException) if (!before.uncaughtException.includes(h)) process.removeListener('uncaughtException', h);
  for (const h of now.unhandledRejection) if (!before.unhandledRejection.includes(h)) process.removeListener('unhandledRejection', h);
}

async function tryCpu(): Promise<boolean> {
  return tf.setBackend('cpu');
}

const starters: Record<Backend, (auto: boolean) => Promise<boolean>> = {
  tensorflow: tryTensorflow,
  // `auto` takes a GPU only: a software adapter (llvmpipe) is slower than wasm.
  webgpu: async (auto) => (await startWebgpu(auto), true),
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Makes the preferred backend active and returns which one is. `auto` tries tfjs-node, then a
 * GPU through WebGPU, then wasm, then cpu; a GPU that is missing or fails is reported in one line
 * on stderr (the log) before falling back. An explicit preference that cannot start is an error
 * (no silent fallback: the user asked for it, and speed differs by 30×).
 */
export async function initBackend(pref: BackendPreference = 'auto'): Promise<Backend> {
  const auto = pref === 'auto';
  const order: Backend[] = auto ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [pref];
  const failures: string[] = [];
  let noGpu: string | undefined;
  for (const name of order) {
    try {
      if (await starters[name](auto)) {
        if (noGpu) console.error(`no GPU used (${noGpu}); training on ${name}`);
        return name;
      }
      failures.push(`${name}: did not start`);
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : (e as { message?: string })?.message ?? String(e)}`);
    }
    if (auto && name === 'webgpu') noGpu = failures.at(-1);
  }
  throw new Error(`no tfjs backend could start (${failures.join('; ')})`);
}

/**
 * What the active backend computes with, for the run manifest and the log. The backend's name
 * stays 'wasm' with or without the native BLAS path (same kernels registry, same results within
 * float32 rounding); this says which path the matmuls take:
 *   "wasm + OpenBLAS 0.3.21 sgemm (2 threads, Haswell)"
 *   "wasm + SIMD sgemm, 2 threads (native BLAS off: disabled by DISTILL_NATIVE=0)"
 */
export function backendDetails(): string {
  const name = tf.getBackend();
  const gpu = activeAdapter();
  if (name === 'webgpu' && gpu) return `webgpu on ${adapterLabel(gpu)}`;
  if (name !== 'wasm') return name;
  if (!wasmKernelsInstalled()) return 'wasm (kernels as shipped)';
  const blas = wasmKernelsBlas();
  if (blas) return `wasm + ${blasDescription(blas)}`;
  const load = nativeBlas();
  const threads = getThreadsCount();
  const products = wasmKernelsProducts() === 'simd' ? 'SIMD sgemm' : 'XNNPACK kernels';
  return `wasm + ${products}, ${threads} thread${threads === 1 ? '' : 's'} (native BLAS off: ${load.blas ? 'not used by the installed kernels' : load.detail})`;
}
