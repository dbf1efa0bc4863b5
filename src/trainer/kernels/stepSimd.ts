// The per-step passes (momentum, dropout masks, max-norm), the products and their transposes as
// SIMD WebAssembly on the wasm backend's own memory, for the path without the native addon
// (docs/architecture.md §5): step.wat, assembled into stepWasm.ts, instantiated against the memory
// of the running tfjs-backend-wasm module.
//
// Why: without the addon tfjs runs momentum as four kernels and max-norm as seven per variable,
// each a pass over the weights and a fresh tensor, and the dropout masks are drawn in JS (V8 does
// not vectorise it); one SIMD pass each is what the addon does natively. The numbers are the same
// as the path it replaces, bit for bit (test/trainer/fused.test.ts). The products (sgemm below,
// on the threads of ./gemmThreads.ts) are XNNPACK's sums in XNNPACK's order, 1.7× as fast at a
// training step's shapes (test/trainer/gemm.test.ts).

import type { NativeBlas, Sgemm } from './blas';
import { type GemmExport, type ThreadedGemm, threadedGemm } from './gemmThreads';
import { STEP_WASM_PLAIN, STEP_WASM_SHARED } from './stepWasm';
import type { BackendWasm } from './wasm';

/** The passes of a step that the native addon and the SIMD module both offer (same signatures; the addon's momentum also takes a scaled accumulation). */
export type StepKernels = Pick<NativeBlas, 'dropoutMask' | 'maxNorm'> & {
  momentum(value: Float32Array, accumulation: Float32Array, gradient: Float32Array, lr: number, momentum: number, nesterov: boolean): void;
};

/**
 * The SIMD module: the step passes, and the products without the addon (sgemm: C = op(A)·op(B) or
 * C + op(A)·op(B) — alpha 1, beta 0 or 1 — with packed operands, as withBlas() and the conv
 * gradients call it) and their batch transposes.
 */
export interface SimdKernels extends StepKernels, Sgemm {
  /** dst[j·rows + i] = src[i·cols + j] for a row-major rows×cols matrix; rows a multiple of 4; both views of the heap. */
  transpose(src: Float32Array, dst: Float32Array, rows: number, cols: number): void;
}

interface StepExports {
  momentum(w: number, a: number, g: number, n: number, c: number, m: number): void;
  momentumNesterov(w: number, a: number, g: number, n: number, c: number, m: number): void;
  dropoutMask(out: number, n: number, scale: number, threshold: number, seed: number): void;
  maxNorm(w: number, rows: number, cols: number, maxValue: number, epsilon: number, scratch: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  gemm: GemmExport;
}

/** What the kernels need of the Emscripten module inside tfjs-backend-wasm. */
interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory; // the threaded build: the memory it shares with its workers
  asm?: { memory?: WebAssembly.Memory }; // the single-threaded build: the memory it exports
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  tfjs?: { getThreadsCount?(): number }; // the size of XNNPACK's thread pool
}

const byMemory = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** The SIMD kernels on `backend`'s memory (one instance per memory); undefined when its module exposes none. */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  const module = (backend as unknown as { wasm: EmscriptenModule }).wasm;
  const memory = module.wasmMemory instanceof WebAssembly.Memory ? module.wasmMemory : module.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  let kernels = byMemory.get(memory);
  if (!kernels) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? STEP_WASM_SHARED : STEP_WASM_PLAIN, 'base64');
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const exports = instance.exports as unknown as StepExports;
    // On a shared memory the products split across as many threads as tfjs's own pool has (./gemmThreads.ts).
    const split = shared ? threadedGemm(exports.gemm, memory, bytes, module.tfjs?.getThreadsCount?.() ?? 1) : undefined;
    kernels = bindStepKernels(exports, memory, module, split);
    byMemory.set(memory, kernels);
  }
  return kernels;
}

/**
 * A block of the wasm heap kept between calls and grown when a call needs more. Its malloc may
 * grow the heap and detach views (the plain build): take the views' offsets first.
 */
function heapBlock(module: EmscriptenModule, what: string): (bytes: number) => number {
  let at = 0;
  let size = 0;
  return (bytes) => {
    if (size < bytes) {
      module._free(at);
      at = module._malloc(bytes);
      size = at ? bytes : 0;
      if (!at) throw new Error(`${what}: out of wasm memory`);
    }
    return at;
  };
}

/** Products below this many FLOPs stay on one thread: waking another costs tens of microseconds. */
const SPLIT_MIN_FLOPS = 1 << 21;

function bindStepKernels(wasm: StepExports, memory: WebAssembly.Memory, module: EmscriptenModule, split: ThreadedGemm | undefined): SimdKernels {
  const heap = (): ArrayBufferLike => memory.buffer;
  const shared = !(heap() instanceof ArrayBuffer);
  /**
   * The byte offset of a view of this memory. A shared memory's buffer is a new object after each
   * growth while older ones still alias it (tfjs may hold one), so there only the bounds are checked.
   */
  const ptr = (view: Float32Array): number => {
    const ok = shared ? view.buffer instanceof SharedArrayBuffer && view.byteOffset + view.byteLength <= heap().byteLength : view.buffer === heap();
    if (!ok) throw new Error('step kernels: a Float32Array outside the wasm heap (or taken before it grew)');
    return view.byteOffset;
  };
  // max-norm's per-column sums and factors; gemm's packed panel of B and its tile (one block per
  // thread) and its copy of a transposed A.
  const maxNormScratch = heapBlock(module, 'maxNorm');
  const panelBlocks = Array.from({ length: split?.threads ?? 1 }, () => heapBlock(module, 'sgemm (SIMD)'));
  const aRows = heapBlock(module, 'sgemm (SIMD)');
  return {
    momentum(value, accumulation, gradient, lr, momentum, nesterov) {
      if (value.length !== accumulation.length || value.length !== gradient.length) throw new Error('momentum: value, accumulation and gradient must have the same length');
      (nesterov ? wasm.momentumNesterov : wasm.momentum)(ptr(value), ptr(accumulation), ptr(gradient), value.length, -lr, momentum);
    },
    dropoutMask(out, rate, seed) {
      // As dropoutMask() in fused.ts: kept ⇔ u ≥ ⌈rate·2^32⌉ for the hash's unsigned u.
      const threshold = Math.ceil(rate * 4294967296);
      if (threshold >= 4294967296) out.fill(0);
      else wasm.dropoutMask(ptr(out), out.length, 1 / (1 - rate), threshold | 0, Math.floor(seed) % 4294967296 | 0);
    },
    maxNorm(w, rows, cols, maxValue, epsilon) {
      if (w.length !== rows * cols) throw new Error('maxNorm: w must hold rows × cols floats');
      const at = ptr(w); // before any malloc: a heap that grows detaches w (the plain build)
      // Two rows of doubles (the sums, a part's sums), then the factors.
      wasm.maxNorm(at, rows, cols, maxValue, epsilon, maxNormScratch(cols * 20));
    },
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, batch = 1, strideA = m * k, strideB = k * n, strideC = m * n) {
      if (alpha !== 1 || (beta !== 0 && beta !== 1) || lda !== (transA ? m : k) || ldb !== (transB ? k : n) || ldc !== n) {
        throw new Error('sgemm (SIMD): alpha must be 1, beta 0 or 1, and the operands packed (lda, ldb, ldc their row lengths)');
      }
      const span = (stride: number, size: number) => (batch - 1) * stride + size;
      if (a.length < span(strideA, m * k) || b.length < span(strideB, k * n) || c.length < span(strideC, m * n)) {
        throw new Error('sgemm (SIMD): an operand is shorter than its extent');
      }
      // The offsets before any malloc: a heap that grows detaches the views (the plain build).
      const [at, bt, ct] = [ptr(a), ptr(b), ptr(c)];
      const panels = panelBlocks.map((block) => block(32 * k + 128));
      // A transposed A (xᵀ of a weight gradient) is read down its columns, 4·m bytes a step:
      // copied into rows first when it is wide enough to pay (60 → 69 GFLOPS at 1,200 × 1,200 × 128).
      const copyA = transA && k % 4 === 0 && n >= 32;
      const aCopy = copyA ? aRows(4 * m * k) : 0;
      const count = Math.ceil(n / 8);
      for (let i = 0; i < batch; i++) {
        if (copyA) wasm.transpose(at + 4 * i * strideA, aCopy, k, m);
        const aAt = copyA ? aCopy : at + 4 * i * strideA;
        const args = [aAt, bt + 4 * i * strideB, ct + 4 * i * strideC, m, n, k, +(transA && !copyA), +transB, beta];
        if (split && 2 * m * n * k >= SPLIT_MIN_FLOPS) split.run(args, count, panels);
        else wasm.gemm(...args, 0, count, panels[0]);
      }
    },
    transpose(src, dst, rows, cols) {
      if (rows % 4 !== 0 || src.length < rows * cols || dst.length < rows * cols) throw new Error('transpose: rows must be a multiple of 4 and both views hold rows × cols floats');
      wasm.transpose(ptr(src), ptr(dst), rows, cols);
    },
  };
}
