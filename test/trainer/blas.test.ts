// The optional native BLAS addon (native/blas, src/trainer/kernels/blas.ts): its sgemm against a
// plain JS product, its argument checks, and that without it (not built, does not load,
// DISTILL_NATIVE=0) the trainer computes its products with the SIMD module's sgemm. The kernels
// built on either are compared with the cpu backend in kernels.test.ts. Tests that need the addon skip, saying why, when it
// is not built (`npm run build` with libopenblas-dev installed).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { gatherRows, jitterImages } from '../../src/trainer/batches';
import { loadNativeBlas, nativeBlas } from '../../src/trainer/kernels/blas';
import { columnSums } from '../../src/trainer/kernels/sum';

const { blas, detail } = nativeBlas();
const unavailable = `native BLAS addon unavailable: ${detail}`;

let seed = 777;
function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    a[i] = (seed / 0x7fffffff) * 2 - 1;
  }
  return a;
}

/** Row-major C = alpha·op(A)·op(B) + beta·C, in float64. */
function reference(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? a[p * lda + i] : a[i * lda + p]) * (tB ? b[j * ldb + p] : b[p * ldb + j]);
      out[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * ldc + j]);
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-4 * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('native sgemm', () => {
  test('all transposes, padded leading dimensions, alpha and beta', (t) => {
    if (!blas) return t.skip(unavailable);
    for (const [m, n, k] of [[1, 1, 1], [5, 3, 7], [33, 65, 17], [128, 10, 31]]) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          // Leading dimensions wider than the matrices (sub-blocks of wider arrays).
          const lda = (tA ? m : k) + 2, ldb = (tB ? k : n) + 1, ldc = n + 3;
          const a = rand((tA ? k : m) * lda), b = rand((tB ? n : k) * ldb), c = rand(m * ldc);
          const expected = reference(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 2, c, ldc);
          blas.sgemm(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 2, c, ldc);
          const got = Array.from({ length: m * n }, (_, i) => c[Math.floor(i / n) * ldc + (i % n)]);
          assertClose(got, expected, `${m}×${n}×${k} tA=${tA} tB=${tB}`);
        }
      }
    }
  });

  test('batched, with a shared operand (stride 0), on views at an offset', (t) => {
    if (!blas) return t.skip(unavailable);
    const [batch, m, n, k] = [3, 4, 6, 5];
    const heap = rand(10 + batch * m * k + k * n + batch * m * n);
    const a = heap.subarray(10, 10 + batch * m * k);
    const b = heap.subarray(10 + batch * m * k, 10 + batch * m * k + k * n);
    const c = heap.subarray(10 + batch * m * k + k * n);
    const expected = Array.from({ length: batch }, (_, i) =>
      reference(false, false, m, n, k, 1, a.subarray(i * m * k), k, b, n, 0, c, n));
    blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n, batch, m * k, 0, m * n);
    for (let i = 0; i < batch; i++) assertClose(c.subarray(i * m * n, (i + 1) * m * n), expected[i], `batch ${i}`);
  });

  test('beta 0 overwrites NaN; k = 0 gives beta·C', (t) => {
    if (!blas) return t.skip(unavailable);
    const c = new Float32Array([NaN, NaN, NaN, NaN]);
    blas.sgemm(false, false, 2, 2, 1, 1, new Float32Array([1, 2]), 1, new Float32Array([3, 4]), 2, 0, c, 2);
    assert.deepEqual(Array.from(c), [3, 4, 6, 8]);
    blas.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, c, 2);
    assert.deepEqual(Array.from(c), [1.5, 2, 3, 4]);
  });

  test('refuses arguments that would read or write out of bounds', (t) => {
    if (!blas) return t.skip(unavailable);
    const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(4);
    blas.sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2); // fits exactly
    assert.throws(() => blas.sgemm(false, false, 2, 2, 3, 1, a.subarray(1), 3, b, 2, 0, c, 2), /A or B is too short/);
    assert.throws(() => blas.sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c.subarray(1), 2), /C is too short/);
    assert.throws(() => blas.sgemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2), /leading dimension/);
    assert.throws(() => blas.sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2, 2, 0, 0, 4), /C is too short/);
    assert.throws(() => blas.sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2, 2, 0, 0, 0), /overlap/);
    assert.throws(() => blas.sgemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2), /integers/);
    assert.throws(() => blas.sgemm(false, false, 2, 2, 3, 1, new Float64Array(6) as unknown as Float32Array, 3, b, 2, 0, c, 2), /Float32Array/);
  });

  test('info() names OpenBLAS and its threads (Accelerate on macOS: no thread count)', (t) => {
    if (!blas) return t.skip(unavailable);
    const info = blas.info();
    if (process.platform === 'darwin') return assert.deepEqual(info, { config: 'Accelerate', corename: '', threads: 0, procs: 0 });
    assert.match(info.config, /OpenBLAS/);
    assert.ok(info.threads >= 1 && info.threads <= info.procs, JSON.stringify(info));
  });
});

/**
 * The trainer's column sums (the Sum kernel's leading-axes sums; max-norm's column norms): each
 * column's sum in a double, in four parts of the rows — part p is rows ⌊p·rows/4⌋ … ⌊(p+1)·rows/4⌋ − 1,
 * each added in row order from zero — then the parts' sums added in order.
 */
function partSums(x: Float32Array, rows: number, cols: number, term = (v: number) => v): Float64Array {
  const out = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    const parts = [0, 1, 2, 3].map((p) => {
      let s = 0;
      for (let r = Math.floor((p * rows) / 4); r < Math.floor(((p + 1) * rows) / 4); r++) s += term(x[r * cols + c]);
      return s;
    });
    out[c] = ((parts[0] + parts[1]) + parts[2]) + parts[3];
  }
  return out;
}

describe('column sums (the Sum kernel\'s leading-axes sums), both paths', () => {
  // Values of mixed magnitude make the order of additions visible; the shapes cover the eight-row
  // sweeps, the rows after them, parts of unequal and of no rows, and a sum split across threads.
  const shapes = [[128, 1200], [1200, 37], [5, 3], [3, 4], [784, 100], [1, 70_000], [700, 450]];
  for (const [rows, cols] of shapes) {
    const x = rand(rows * cols).map((v, i) => v * 10 ** ((i % 7) - 3));
    test(`${rows}×${cols}: the part sums, without the addon`, () => {
      assert.deepEqual(columnSums(x, rows, cols), partSums(x, rows, cols));
    });
    test(`${rows}×${cols}: the part sums, by the addon (rounded to float)`, (t) => {
      if (!blas) return t.skip(unavailable);
      const out = new Float32Array(cols);
      blas.columnSums(x, rows, cols, out);
      assert.deepEqual(out, Float32Array.from(partSums(x, rows, cols)));
    });
  }

  test('checks its arguments', (t) => {
    if (!blas) return t.skip(unavailable);
    assert.throws(() => blas.columnSums(new Float32Array(6), 2, 4, new Float32Array(4)), /rows × cols/);
    assert.throws(() => blas.columnSums(new Float32Array(6), 2, 3, new Float32Array(2)), /rows × cols/);
    assert.throws(() => blas.columnSums(new Float32Array(6), 2, 0, new Float32Array(0)), /cols ≥ 1/);
  });
});

describe('native momentumMaxNorm (a momentum step and its kernel\'s max-norm together)', () => {
  // Its definition is the two calls it replaces, each tested against tfjs's ops in fused.test.ts.
  for (const nesterov of [false, true]) {
    test(`exactly momentum() then maxNorm()${nesterov ? ', Nesterov' : ''}`, (t) => {
      if (!blas) return t.skip(unavailable);
      const [rows, cols] = [203, 37];
      const w = rand(rows * cols).map((v) => v * 0.4);
      const a = rand(rows * cols);
      const g = rand(rows * cols).map((v, i) => v * 10 ** ((i % 5) - 2));
      const [w1, a1, w2, a2] = [w.slice(), a.slice(), w.slice(), a.slice()];
      blas.momentum(w1, a1, g, 0.3, 0.9, nesterov);
      blas.maxNorm(w1, rows, cols, 1.5, 1e-7);
      blas.momentumMaxNorm(w2, a2, g, 0.3, 0.9, nesterov, rows, cols, 1.5, 1e-7);
      assert.deepEqual(a2, a1);
      assert.deepEqual(w2, w1);
      assert.ok(w1.some((v, i) => v !== w[i]), 'the weights moved');
    });
  }

  test('maxNorm() is the max-norm of the part sums of squares', (t) => {
    if (!blas) return t.skip(unavailable);
    const [rows, cols] = [301, 23];
    const w = rand(rows * cols).map((v, i) => v * ((i % cols) % 2 ? 0.02 : 0.3));
    const norms = partSums(w, rows, cols, (v) => Math.fround(v * v)).map((s) => Math.fround(Math.sqrt(Math.fround(s))));
    const factor = Array.from(norms, (n) => Math.fround(Math.min(Math.max(n, 0), 1.5) / Math.fround(1e-7 + n)));
    const expected = w.map((v, i) => v * factor[i % cols]);
    assert.ok(norms.some((n) => n > 1.6) && norms.some((n) => n < 1.4), 'some columns above the bound, some below');
    blas.maxNorm(w, rows, cols, 1.5, 1e-7);
    assert.deepEqual(w, expected);
  });

  test('the same numbers on one thread and on two (a kernel big enough to be split)', (t) => {
    if (!blas) return t.skip(unavailable);
    const threads = blas.info().threads;
    if (threads < 2) return t.skip('OpenBLAS runs one thread here');
    const [rows, cols] = [700, 450];
    const w = rand(rows * cols).map((v) => v * 0.1);
    const a = rand(rows * cols).map((v) => v * 0.01);
    const g = rand(rows * cols).map((v, i) => v * 10 ** ((i % 5) - 3));
    const run = (n: number) => {
      blas.setThreads(n);
      const [w1, a1, w2, a2] = [w.slice(), a.slice(), w.slice(), a.slice()];
      const sums = new Float32Array(cols);
      blas.momentumMaxNorm(w1, a1, g, 0.3, 0.9, false, rows, cols, 0.5, 1e-7);
      blas.momentum(w2, a2, g, 0.3, 0.9, true);
      blas.maxNorm(w2, rows, cols, 0.5, 1e-7);
      blas.columnSums(g, rows, cols, sums);
      return [w1, a1, w2, a2, sums];
    };
    try {
      const [one, two] = [run(1), run(threads)];
      two.forEach((values, i) => assert.deepEqual(values, one[i], `result ${i}`));
      assert.deepEqual(two[4], Float32Array.from(partSums(g, rows, cols)));
    } finally {
      blas.setThreads(threads);
    }
  });

  test('checks its arguments', (t) => {
    if (!blas) return t.skip(unavailable);
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => blas.momentumMaxNorm(f(6), f(6), f(5), 0.1, 0.9, false, 2, 3, 1, 1e-7), /rows × cols/);
    assert.throws(() => blas.momentumMaxNorm(f(6), f(6), f(6), 0.1, 0.9, false, 2, 4, 1, 1e-7), /rows × cols/);
  });
});

describe('native momentum with a scaled accumulation (m·a kept between steps)', () => {
  // The definition: the same weights as momentum() at every step, and m·a stored, each rounded
  // to float: a = fl(fl(m·a) + g), w = fl(w + fl(−lr·a)), stored fl(m·a).
  const [rows, cols, lr, m] = [203, 37, 0.3, 0.9];
  const steps = (withMaxNorm: boolean) => {
    const w = rand(rows * cols).map((v) => v * 0.4);
    const [w1, a1, w2, s2] = [w.slice(), new Float32Array(w.length), w.slice(), new Float32Array(w.length)];
    for (let step = 0; step < 4; step++) {
      const g = rand(rows * cols).map((v, i) => v * 10 ** ((i % 5) - 2));
      if (withMaxNorm) blas!.momentumMaxNorm(w1, a1, g, lr, m, false, rows, cols, 1.5, 1e-7);
      else blas!.momentum(w1, a1, g, lr, m, false);
      // From the second step on the gradient is added into the accumulation first, as sgemm with beta 1 adds it.
      const summed = step >= 1;
      if (summed) for (let i = 0; i < g.length; i++) s2[i] = Math.fround(s2[i] + g[i]);
      if (withMaxNorm) blas!.momentumMaxNorm(w2, s2, summed ? null : g, lr, m, false, rows, cols, 1.5, 1e-7, true);
      else blas!.momentum(w2, s2, summed ? null : g, lr, m, false, true);
      assert.deepEqual(w2, w1, `weights after step ${step}`);
      assert.deepEqual(s2, a1.map((v) => Math.fround(Math.fround(m) * v)), `m·a after step ${step}`);
    }
    assert.ok(w1.some((v, i) => v !== w[i]), 'the weights moved');
  };
  for (const withMaxNorm of [false, true]) {
    test(`${withMaxNorm ? 'momentumMaxNorm' : 'momentum'}: the weights of the unscaled step, the gradient given or already added`, (t) => {
      if (!blas) return t.skip(unavailable);
      steps(withMaxNorm);
    });
  }

  test('checks its arguments: not Nesterov, and a null gradient only when scaled', (t) => {
    if (!blas) return t.skip(unavailable);
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => blas.momentum(f(6), f(6), null, 0.1, 0.9, true, true), /Nesterov/);
    assert.throws(() => blas.momentum(f(6), f(6), null, 0.1, 0.9, false), /may be null when scaled/);
    assert.throws(() => blas.momentumMaxNorm(f(6), f(6), null, 0.1, 0.9, false, 2, 3, 1, 1e-7, 1 as unknown as boolean), /scaled must be a boolean/);
  });
});

describe('native gatherImages (a training batch gathered and jittered into its tensor)', () => {
  // Its definition is the JS path it replaces (test/unit/batches.test.ts checks that against the shift's definition).
  test('the values of gatherRows() then jitterImages(), for every offset including ones past the edge', (t) => {
    if (!blas) return t.skip(unavailable);
    const [h, w, c] = [7, 5, 3];
    const row = h * w * c;
    const x = rand(9 * row);
    const order = [4, 8, 0, 3, 3, 7, 1, 2, 6, 5, 0, 8];
    const shifts = Int32Array.from({ length: 2 * order.length }, (_, k) => [0, 0, -2, 3, 7, -1, -6, 5, 1, -1, 2, 2, -3, 0, 0, 4, 6, -6, -1, -1, 2, -2, 0, 0][k]);
    for (const s of [shifts, null]) {
      const expected = gatherRows(x, row, order, 0, order.length);
      jitterImages(expected, h, w, c, s, -0.25);
      const out = new Float32Array(order.length * row);
      blas.gatherImages(x, Int32Array.from(order), h, w, c, s, -0.25, out);
      assert.deepEqual(out, expected);
    }
  });

  test('checks its arguments', (t) => {
    if (!blas) return t.skip(unavailable);
    const x = new Float32Array(2 * 12);
    assert.throws(() => blas.gatherImages(x, Int32Array.from([2]), 2, 2, 3, null, 0, new Float32Array(12)), /outside x/);
    assert.throws(() => blas.gatherImages(x, Int32Array.from([-1]), 2, 2, 3, null, 0, new Float32Array(12)), /outside x/);
    assert.throws(() => blas.gatherImages(x, Int32Array.from([0, 1]), 2, 2, 3, null, 0, new Float32Array(12)), /index.length images/);
    assert.throws(() => blas.gatherImages(x, Int32Array.from([0]), 2, 2, 3, new Int32Array(1), 0, new Float32Array(12)), /two offsets/);
  });
});

describe('without the addon the trainer computes its products with the SIMD module', () => {
  test('not built, does not load, or DISTILL_NATIVE=0: no BLAS and a reason, never a throw', () => {
    const missing = loadNativeBlas([path.join(os.tmpdir(), 'no-such-dir', 'distill_blas.node')], {});
    assert.equal(missing.blas, undefined);
    assert.match(missing.detail, /not built/);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-blas-test-'));
    try {
      const broken = path.join(dir, 'distill_blas.node');
      fs.writeFileSync(broken, 'not a shared object');
      const load = loadNativeBlas([broken], {});
      assert.equal(load.blas, undefined);
      assert.match(load.detail, /does not load/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    const off = loadNativeBlas(undefined, { DISTILL_NATIVE: '0' });
    assert.equal(off.blas, undefined);
    assert.match(off.detail, /DISTILL_NATIVE=0/);
  });

  test('DISTILL_NATIVE=0: the trainer starts wasm with the SIMD sgemm and says so', () => {
    // A separate process: the addon is loaded once per process.
    const script = `
      const { initBackend, backendDetails } = require('./src/trainer/backend');
      const { wasmKernelsBlas, wasmKernelsInstalled } = require('./src/trainer/kernels');
      const tf = require('@tensorflow/tfjs');
      initBackend('auto').then((name) => {
        const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]), true, false).arraySync();
        console.log(JSON.stringify({ name, details: backendDetails(), installed: wasmKernelsInstalled(), blas: wasmKernelsBlas() !== undefined, y }));
      });`;
    const root = path.resolve(__dirname, '..', '..');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: root, env: { ...process.env, DISTILL_NATIVE: '0' }, encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    assert.deepEqual(r, {
      name: 'wasm', details: `wasm + SIMD sgemm, ${Math.min(os.cpus().length, 8)} thread${os.cpus().length === 1 ? '' : 's'} (native BLAS off: disabled by DISTILL_NATIVE=0)`,
      installed: true, blas: false, y: [[26, 30], [38, 44]],
    });
  });

  test('backendDetails() names the path this process uses', async (t) => {
    const { initBackend, backendDetails } = await import('../../src/trainer/backend');
    assert.equal(await initBackend('wasm'), 'wasm');
    if (!blas) {
      assert.match(backendDetails(), /^wasm \+ SIMD sgemm, \d+ threads? \(native BLAS off: /);
      return t.skip(unavailable);
    }
    assert.match(backendDetails(), process.platform === 'darwin' ? /^wasm \+ Accelerate sgemm/ : /^wasm \+ OpenBLAS \S+ sgemm \(\d+ threads?/);
  });
});
