// The SIMD module's product (step.wat's gemm; src/trainer/kernels/stepSimd.ts sgemm, on the
// threads of ./gemmThreads.ts): C = op(A)·op(B) or C + op(A)·op(B) against the formula computed
// here, each output summed from k = 0 up with one float rounding per multiply and per add —
// equal bit for bit, on one thread and split over three (the split must not change a number).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { threadedGemm } from '../../src/trainer/kernels/gemmThreads';
import { type SimdKernels, simdKernels } from '../../src/trainer/kernels/stepSimd';
import { STEP_WASM_SHARED } from '../../src/trainer/kernels/stepWasm';
import type { BackendWasm } from '../../src/trainer/kernels/wasm';

let seed = 7;
const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);

/** op(A)·op(B) (+ C) for row-major operands, each output's sum in float from k = 0 up. */
function reference(tA: boolean, tB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, beta: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = beta ? c[i * n + j] : 0;
      for (let p = 0; p < k; p++) s = Math.fround(s + Math.fround(a[tA ? p * m + i : i * k + p] * b[tB ? j * k + p : p * n + j]));
      out[i * n + j] = s;
    }
  }
  return out;
}

/** A stand-in for tfjs-backend-wasm's Emscripten module: a shared memory, a bump allocator and a pool of `threads`. */
function fakeBackend(threads: number): { backend: BackendWasm; alloc: (floats: number) => Float32Array } {
  const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
  let top = 1024;
  const malloc = (bytes: number) => { const at = top; top += (bytes + 63) & ~63; return at; };
  const wasm = { wasmMemory: memory, _malloc: malloc, _free: () => {}, tfjs: { getThreadsCount: () => threads } };
  const heap = () => new Float32Array(memory.buffer);
  const alloc = (floats: number) => {
    const at = malloc(4 * floats) / 4;
    return heap().subarray(at, at + floats);
  };
  return { backend: { wasm } as unknown as BackendWasm, alloc };
}

const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 8, 1], [5, 9, 3], [13, 17, 11], [128, 10, 50], [64, 300, 400], [130, 37, 96], [7, 3, 0]];

for (const threads of [1, 3]) {
  describe(`sgemm of the SIMD module, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    const { backend, alloc } = fakeBackend(threads);
    let simd: SimdKernels;
    before(async () => {
      simd = simdKernels(backend)!;
      assert.ok(simd);
      // The workers start in the background; the products below must run on all three.
      for (let i = 0; i < 200 && threads > 1; i++) await new Promise((r) => setTimeout(r, 10));
    });
    for (const [m, n, k] of shapes) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          test(`${m}×${n}×${k} transA=${tA} transB=${tB}, beta 0 and 1`, () => {
            for (const beta of [0, 1]) {
              const a = alloc(m * k), b = alloc(k * n), c = alloc(m * n);
              a.set(rand(m * k)); b.set(rand(k * n)); c.set(rand(m * n));
              const expected = reference(tA, tB, m, n, k, a, b, c, beta);
              simd.sgemm(tA, tB, m, n, k, 1, a, tA ? m : k, b, tB ? k : n, beta, c, n);
              assert.deepEqual(c, expected, `beta ${beta}`);
            }
          });
        }
      }
    }
    test('a batch of 3 with a shared A (stride 0)', () => {
      const [m, n, k] = [6, 19, 5];
      const a = alloc(m * k), b = alloc(3 * k * n), c = alloc(3 * m * n);
      a.set(rand(m * k)); b.set(rand(3 * k * n));
      simd.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n, 3, 0, k * n, m * n);
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(c.subarray(i * m * n, (i + 1) * m * n), reference(false, false, m, n, k, a, b.subarray(i * k * n), c, 0), `matrix ${i}`);
      }
    });
    test('refuses what it does not compute: alpha ≠ 1, beta ∉ {0, 1}, unpacked operands, short views', () => {
      const a = alloc(4), b = alloc(4), c = alloc(4);
      assert.throws(() => simd.sgemm(false, false, 2, 2, 2, 2, a, 2, b, 2, 0, c, 2), /alpha must be 1/);
      assert.throws(() => simd.sgemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0.5, c, 2), /beta 0 or 1/);
      assert.throws(() => simd.sgemm(false, false, 2, 2, 2, 1, a, 3, b, 2, 0, c, 2), /packed/);
      assert.throws(() => simd.sgemm(false, false, 3, 2, 2, 1, a, 2, b, 2, 0, c, 2), /shorter than its extent/);
      assert.throws(() => simd.sgemm(false, false, 2, 2, 2, 1, new Float32Array(4), 2, b, 2, 0, c, 2), /outside the wasm heap/);
    });
  });
}

test('the worker threads start, and a split product equals the one-thread product', async () => {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 1024, shared: true });
  const bytes = Buffer.from(STEP_WASM_SHARED, 'base64');
  const { gemm } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as { gemm: (...a: number[]) => void };
  const split = threadedGemm(gemm, memory, bytes, 3)!;
  for (let i = 0; i < 500 && split.ready() < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(split.ready(), 2, 'both workers started');
  const heap = new Float32Array(memory.buffer);
  const [m, n, k] = [40, 203, 57];
  const [A, B, C1, C3, S] = [0, m * k, m * k + k * n, m * k + k * n + m * n, m * k + k * n + 2 * m * n].map((f) => 1024 + 4 * f);
  heap.set(rand(m * k), A / 4);
  heap.set(rand(k * n), B / 4);
  gemm(A, B, C1, m, n, k, 0, 0, 0, 0, Math.ceil(n / 8), S);
  split.run([A, B, C3, m, n, k, 0, 0, 0], Math.ceil(n / 8), [S, S + 32 * k + 256, S + 2 * (32 * k + 256)]);
  assert.deepEqual(heap.subarray(C3 / 4, C3 / 4 + m * n), heap.subarray(C1 / 4, C1 / 4 + m * n));
});
