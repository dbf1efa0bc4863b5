// The optional native fast path (docs/architecture.md §5): OpenBLAS's sgemm through the small Node-API
// addon in native/blas, built by scripts/build-native.mjs into dist/native/distill_blas.node.
//
// Why: the wasm backend's matmuls reach ~25 GFLOPS with the kernels of this folder; OpenBLAS
// reaches 100+ on the same steps. The wasm heap is an ordinary ArrayBuffer, so the kernels pass
// Float32Array views of their tensors to sgemm: no copies, and transposes are sgemm flags.
//
// Optional by design: the addon needs a C toolchain and libopenblas at build time and
// libopenblas.so.0 at run time. When it is missing or does not load, or DISTILL_NATIVE=0, this
// module reports why and the kernels run exactly as without it.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { chooseCoretype, type CoretypeChoice } from './coretype';

export const ADDON_FILE = 'distill_blas.node';

/** The addon's functions (native/blas/distill_blas.c). */
export interface NativeBlas {
  /**
   * Row-major C = alpha·op(A)·op(B) + beta·C, op(A) m×k, op(B) k×n; for `batch` matrices at the
   * given strides (floats, 0 repeats an operand). Views start at each operand's first element;
   * extents are checked against their lengths. Synchronous.
   */
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
    batch?: number, strideA?: number, strideB?: number, strideC?: number,
  ): void;
  info(): { config: string; corename: string; threads: number; procs: number };
  setThreads(n: number): void;
  /**
   * One SGD-with-momentum step for one variable, in place: a ← m·a + g; w ← w − lr·a (Nesterov:
   * w ← w − lr·(g + m·a)), each operation rounded to float in tfjs's order. Same lengths.
   * `scaled` (not Nesterov): the accumulation holds m·a between steps, so a ← s + g and m·a is
   * stored; the gradient may be null when the product already added it into the accumulation.
   */
  momentum(value: Float32Array, accumulation: Float32Array, gradient: Float32Array | null, lr: number, momentum: number, nesterov: boolean, scaled?: boolean): void;
  /** momentum() and then maxNorm() on a rows×cols kernel, the same numbers; the norms summed while the update writes (two passes, not three). */
  momentumMaxNorm(
    value: Float32Array, accumulation: Float32Array, gradient: Float32Array | null, lr: number, momentum: number, nesterov: boolean,
    rows: number, cols: number, maxValue: number, epsilon: number, scaled?: boolean,
  ): void;
  /** Fills `out` with dropoutMask()'s values for (rate, seed), seed in [0, 2^32). */
  dropoutMask(out: Float32Array, rate: number, seed: number): void;
  /** tfjs-layers' MaxNorm over the leading axes of a row-major rows×cols kernel, in place, with tfjs's numbers. */
  maxNorm(w: Float32Array, rows: number, cols: number, maxValue: number, epsilon: number): void;
  /** out[c] = Σ_r x[r·cols + c] in a double, in four parts of the rows, exactly as columnSums() in ./sum.ts. */
  columnSums(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /** out = x · dropoutMask(rate, seed) elementwise, the mask never in memory (out may be x). */
  dropout(x: Float32Array, out: Float32Array, rate: number, seed: number): void;
  /** A dense layer's bias and ReLU on its rows×cols product, in place: c ← relu(c + bias), as tfjs's Add then Relu. */
  biasRelu(c: Float32Array, rows: number, cols: number, bias: Float32Array | null): void;
  /** ReLU's gradient from its output: g = dy · step(y), as tfjs's dy · step(x) on the pre-activation. */
  reluGrad(dy: Float32Array, y: Float32Array, g: Float32Array): void;
  /**
   * A batch of images (NHWC rows of h·w·c) written straight into `out`: image i is x's image
   * index[i] moved by (shifts[2i], shifts[2i+1]) = (dy, dx) pixels, the uncovered border `background`;
   * gatherRows() and jitterImages() of ../batches.ts in one pass.
   */
  gatherImages(x: Float32Array, index: Int32Array, h: number, w: number, c: number, shifts: Int32Array | null, background: number, out: Float32Array): void;
}

/** What the matmul and conv-gradient kernels need of a BLAS: the addon's, or the SIMD module's (./stepSimd.ts). */
export type Sgemm = Pick<NativeBlas, 'sgemm'>;

export interface BlasLoad {
  blas?: NativeBlas;
  /** OPENBLAS_CORETYPE as the library loaded (see ./coretype.ts). */
  coretype?: CoretypeChoice;
  /** Where it was loaded from, or why it was not. */
  detail: string;
}

// A require esbuild leaves alone (non-literal argument): the .node file is found at run time.
const dynamicRequire: NodeRequire = typeof require === 'function' ? require : createRequire(__filename);

/**
 * Where the addon may be: dist/native/ next to the running bundle (dist/trainer.js, dist/cli.js),
 * or the repository's dist/native/ when this file runs from sources under tsx.
 */
export function addonCandidates(): string[] {
  return [path.join(__dirname, 'native', ADDON_FILE), path.join(__dirname, '..', '..', '..', 'dist', 'native', ADDON_FILE)];
}

const readCpuinfo = () => (fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : undefined);

/** Loads the addon without caching (tests use it with other paths and environments). */
export function loadNativeBlas(candidates: string[] = addonCandidates(), env: NodeJS.ProcessEnv = process.env): BlasLoad {
  if (env.DISTILL_NATIVE === '0') return { detail: 'disabled by DISTILL_NATIVE=0' };
  const file = candidates.find((c) => fs.existsSync(c));
  if (!file) return { detail: `${ADDON_FILE} not built (npm run build; needs libopenblas-dev)` };
  // Before the require: OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads. Node's
  // process.env writes through to the C environment the library's getenv() sees.
  const coretype = chooseCoretype(env, readCpuinfo);
  try {
    const blas = dynamicRequire(file) as NativeBlas;
    if ([blas.momentum, blas.dropoutMask, blas.maxNorm, blas.columnSums, blas.dropout, blas.biasRelu, blas.reluGrad, blas.momentumMaxNorm, blas.gatherImages].some((f) => typeof f !== 'function')) return { detail: `${file} is older than its sources (npm run build rebuilds it)` };
    // One tiny product checks the binding end to end before any kernel relies on it.
    const c = new Float32Array(1);
    blas.sgemm(false, false, 1, 1, 1, 1, new Float32Array([2]), 1, new Float32Array([3]), 1, 0, c, 1);
    if (c[0] !== 6) return { detail: `${file}: sgemm self-test gave ${c[0]}, not 6` };
    return { blas, detail: file, coretype };
  } catch (e) {
    // Typically libopenblas.so.0 missing on this machine, or an addon built for another platform.
    return { detail: `${file} does not load: ${(e as Error).message.split('\n')[0]}` };
  }
}

let loaded: BlasLoad | undefined;

/** The addon, loaded once per process; `blas` is undefined when the fast path is off. */
export function nativeBlas(): BlasLoad {
  return (loaded ??= loadNativeBlas());
}

/**
 * E.g. "OpenBLAS 0.3.21 sgemm (2 threads, SkylakeX kernels from the CPU flags)": the kernels are
 * what OpenBLAS runs, and who chose them (the CPU flags, OPENBLAS_CORETYPE, or its own detection).
 */
export function blasDescription(blas: NativeBlas, coretype: CoretypeChoice | undefined = nativeBlas().coretype): string {
  const { config, corename, threads } = blas.info();
  if (config.startsWith('Accelerate')) return 'Accelerate sgemm (macOS)';
  const version = /^OpenBLAS\s+(\S+)/.exec(config)?.[1];
  const chosenBy = coretype?.source === 'cpu flags' ? ' from the CPU flags' : coretype?.source === 'user' ? ' from OPENBLAS_CORETYPE' : ' as OpenBLAS detected';
  const kernels = corename ? `, ${corename} kernels${chosenBy}` : '';
  return `OpenBLAS${version ? ' ' + version : ''} sgemm (${threads} thread${threads === 1 ? '' : 's'}${kernels})`;
}
