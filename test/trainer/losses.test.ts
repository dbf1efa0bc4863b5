// Golden-value tests of the distillation losses and of linear CKA. Every expected value is computed
// here independently: by hand (arithmetic in the comments) or with plain JS loops from the
// formula, never by calling the code under test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { activateTerms, disposeTerms, studentLoss, termValue, termVariables } from '../../src/trainer/losses';
import { createConnector } from '../../src/core/losses/connector';
import { ckaFromGrams, ckaMatrix, centredGram, linearCKA } from '../../src/trainer/cka';
import type { LossTerm } from '../../src/core/config/schema';
import type { LossInputs } from '../../src/core/losses/types';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const close = (actual: number, expected: number, tol = 1e-5, msg = '') =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${msg} expected ${expected}, got ${actual}`);
const num = (t: tf.Tensor) => t.dataSync()[0];

// ---- the terms under test, through the registry and the trainer's term runtime -----------------

const layersOf = (taps: Record<string, tf.Tensor>) => Object.entries(taps).map(([name, t]) => ({ name, shape: t.shape.slice(1) }));
const inputs = (student: Record<string, tf.Tensor>, teacher?: Record<string, tf.Tensor>, labels?: tf.Tensor1D, T = 4): LossInputs => ({
  tf,
  student: new Map(Object.entries(student)),
  teacher: teacher && new Map(Object.entries(teacher)),
  labels,
  temperature: T,
  epoch: 1,
  epochs: 1,
  training: true,
});
/** One term's raw value on the given taps (its state created and freed around it). */
function run(term: LossTerm, student: Record<string, tf.Tensor>, teacher?: Record<string, tf.Tensor>, labels?: tf.Tensor1D, T = 4): tf.Scalar {
  const [a] = activateTerms([term], { studentLayers: layersOf(student), teacherLayers: teacher && layersOf(teacher), numClasses: 10, trainCount: 100, seed: 1 });
  try {
    return termValue(a, inputs(student, teacher, labels, T));
  } finally {
    disposeTerms([a]);
  }
}
const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor1D) => run({ type: 'ce', weight: 1 }, { logits }, undefined, labels);
const kdLoss = (s: tf.Tensor, t: tf.Tensor, T: number) => run({ type: 'kd', weight: 1 }, { logits: s }, { logits: t }, undefined, T);
const hintLoss = (s: tf.Tensor, t: tf.Tensor) =>
  run({ type: 'hint', weight: 1, student: 'a', teacher: 'b', connector: 'none', stage1Epochs: 0 }, { a: s }, { b: t });

// ---- plain-JS references ----------------------------------------------------------------------

function logSoftmaxRow(z: number[], T = 1): number[] {
  const s = z.map((v) => v / T);
  const m = Math.max(...s);
  const lse = m + Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0));
  return s.map((v) => v - lse);
}
/** T²·Σ_c p_t(log p_t − log p_s), mean over rows (RepDistiller KD.py). */
function kdRef(zs: number[][], zt: number[][], T: number): number {
  let total = 0;
  zs.forEach((row, i) => {
    const ls = logSoftmaxRow(row, T);
    const lt = logSoftmaxRow(zt[i], T);
    lt.forEach((l, c) => (total += Math.exp(l) * (l - ls[c])));
  });
  return (T * T * total) / zs.length;
}
function ceRef(z: number[][], y: number[]): number {
  return z.reduce((a, row, i) => a - logSoftmaxRow(row)[y[i]], 0) / z.length;
}
function mseRef(a: number[][], b: number[][]): number {
  let s = 0;
  let n = 0;
  a.forEach((row, i) => row.forEach((v, j) => ((s += (v - b[i][j]) ** 2), n++)));
  return s / n;
}

/** Deterministic pseudo-random numbers in [-1, 1). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}
function randMatrix(rows: number, cols: number, seed: number, scale = 1): number[][] {
  const r = rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => r() * scale));
}

const zs = [
  [2.0, -1.0, 0.5, 0.0],
  [0.3, 0.2, -0.7, 1.5],
  [-2.0, 3.0, 1.0, 0.1],
];
const zt = [
  [3.0, -2.0, 0.0, 1.0],
  [0.0, 0.0, -1.0, 2.5],
  [-1.0, 4.0, 0.0, -0.5],
];

describe('crossEntropy', () => {
  test('2×3 example, by hand', () => {
    // Row 1 z=[1,2,3], y=2: logsumexp = 3 + ln(1 + e^-1 + e^-2) = 3 + ln(1.50321472) = 3.40760596;
    //   −log p[2] = 3.40760596 − 3 = 0.40760596.
    // Row 2 z=[1,0,-1], y=1: logsumexp = 1 + ln(1.50321472) = 1.40760596; −log p[1] = 1.40760596 − 0.
    // Mean = (0.40760596 + 1.40760596) / 2 = 0.90760596.
    const v = tf.tidy(() => num(crossEntropy(tf.tensor2d([[1, 2, 3], [1, 0, -1]]), tf.tensor1d([2, 1], 'int32'))));
    close(v, 0.90760596, 1e-6);
    close(v, ceRef([[1, 2, 3], [1, 0, -1]], [2, 1]), 1e-6);
  });
  test('numerically stable for huge logits', () => {
    // z = [1000, 0, -1000], y = 1: −log p[1] = 1000 + ln(1 + e^-1000 + e^-2000) ≈ 1000.
    const v = tf.tidy(() => num(crossEntropy(tf.tensor2d([[1000, 0, -1000]]), tf.tensor1d([1], 'int32'))));
    close(v, 1000, 1e-6);
  });
});

describe('kdLoss', () => {
  for (const T of [1, 4, 20]) {
    test(`matches RepDistiller's formula at T=${T}`, () => {
      const v = tf.tidy(() => num(kdLoss(tf.tensor2d(zs), tf.tensor2d(zt), T)));
      close(v, kdRef(zs, zt, T), 1e-4);
    });
  }
  test('T=1 on a one-row example, by hand', () => {
    // z_s = [0, 0] → p_s = [½, ½]; z_t = [ln 3, 0] → p_t = [¾, ¼].
    // KL = ¾·ln(¾ / ½) + ¼·ln(¼ / ½) = 0.75·0.40546511 − 0.25·0.69314718 = 0.30409883 − 0.17328680 = 0.13081204.
    const v = tf.tidy(() => num(kdLoss(tf.tensor2d([[0, 0]]), tf.tensor2d([[Math.log(3), 0]]), 1)));
    close(v, 0.13081204, 1e-5);
  });
  test('T=2 scales by T² = 4, by hand', () => {
    // z_s = [0, 0], z_t = [2 ln 3, 0]: at T=2 the teacher's soft targets are again [¾, ¼], so
    // KD = 4 · 0.13081204 = 0.52324816.
    const v = tf.tidy(() => num(kdLoss(tf.tensor2d([[0, 0]]), tf.tensor2d([[2 * Math.log(3), 0]]), 2)));
    close(v, 0.52324816, 1e-5);
  });
  test('the T² factor keeps the loss O(1) at high T (Hinton): → Σ_c (d_c − d̄)² / 2C', () => {
    // For T ≫ |z|, KL ≈ Σ_c (d_c − d̄)² / (2C·T²) with d = z_s − z_t, so T²·KL tends to a T-free limit.
    const small = zs.map((r) => r.map((v) => v * 0.5));
    const C = 4;
    let limit = 0;
    small.forEach((row, i) => {
      const d = row.map((v, c) => v - zt[i][c] * 0.5);
      const mean = d.reduce((a, b) => a + b, 0) / C;
      limit += d.reduce((a, v) => a + (v - mean) ** 2, 0) / (2 * C);
    });
    limit /= small.length;
    const half = zt.map((r) => r.map((v) => v * 0.5));
    const v = tf.tidy(() => num(kdLoss(tf.tensor2d(small), tf.tensor2d(half), 100)));
    close(v, limit, 0.02);
  });
  test('zero when the logits are equal, non-negative otherwise', () => {
    for (const T of [1, 4, 20]) {
      close(tf.tidy(() => num(kdLoss(tf.tensor2d(zt), tf.tensor2d(zt), T))), 0, 1e-5);
      for (let seed = 1; seed <= 5; seed++) {
        const a = randMatrix(6, 10, seed, 5);
        const b = randMatrix(6, 10, seed + 100, 5);
        assert.ok(tf.tidy(() => num(kdLoss(tf.tensor2d(a), tf.tensor2d(b), T))) >= -1e-6);
      }
    }
  });
  test('averaged over the batch: doubling the batch with identical rows leaves it unchanged', () => {
    const a = tf.tidy(() => num(kdLoss(tf.tensor2d(zs), tf.tensor2d(zt), 4)));
    const b = tf.tidy(() => num(kdLoss(tf.tensor2d([...zs, ...zs]), tf.tensor2d([...zt, ...zt]), 4)));
    close(b, a, 1e-5);
  });
  test('gradient wrt the student logits is T·(p_s − p_t)/batch; none flows into the teacher', () => {
    for (const T of [1, 4, 20]) {
      const [gs, gt] = tf.tidy(() => {
        const g = tf.grads((s: tf.Tensor, t: tf.Tensor) => kdLoss(s, t, T))([tf.tensor2d(zs), tf.tensor2d(zt)]);
        return [g[0].arraySync() as number[][], g[1].arraySync() as number[][]];
      });
      zs.forEach((row, i) => {
        const ps = logSoftmaxRow(row, T).map(Math.exp);
        const pt = logSoftmaxRow(zt[i], T).map(Math.exp);
        row.forEach((_, c) => {
          close(gs[i][c], (T * (ps[c] - pt[c])) / zs.length, 1e-4, `T=${T} [${i},${c}]`);
          assert.equal(gt[i][c], 0);
        });
      });
    }
  });
});

describe('hintLoss', () => {
  test('MSE over all elements, by hand', () => {
    // diffs 1, 0, 2, 3 → squares 1, 0, 4, 9 → mean 14 / 4 = 3.5
    const v = tf.tidy(() => num(hintLoss(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[0, 2], [1, 1]]))));
    close(v, 3.5, 1e-6);
  });
  test('conv maps, against the loop reference', () => {
    const a = randMatrix(2, 3 * 3 * 2, 7);
    const b = randMatrix(2, 3 * 3 * 2, 8);
    const v = tf.tidy(() => num(hintLoss(tf.tensor4d(a.flat(), [2, 3, 3, 2]), tf.tensor4d(b.flat(), [2, 3, 3, 2]))));
    close(v, mseRef(a, b), 1e-5);
  });
  test('throws on different shapes', () => {
    assert.throws(() => tf.tidy(() => hintLoss(tf.zeros([2, 3]), tf.zeros([2, 4]))), /shapes differ/);
  });
});

describe('studentLoss', () => {
  const labels = [0, 3, 1];
  const hs = [
    [1, 2],
    [0, -1],
    [0.5, 0.5],
  ];
  const ht = [
    [0, 2],
    [1, 1],
    [0, 0],
  ];
  const ctx = (T = 4) =>
    inputs({ fc1: tf.tensor2d(hs), logits: tf.tensor2d(zs) }, { fc2: tf.tensor2d(ht), logits: tf.tensor2d(zt) }, tf.tensor1d(labels, 'int32'), T);
  const setup = { studentLayers: [{ name: 'fc1', shape: [2] }, { name: 'logits', shape: [4] }], teacherLayers: [{ name: 'fc2', shape: [2] }, { name: 'logits', shape: [4] }], numClasses: 4, trainCount: 3, seed: 1 };

  test('total = Σ weight·term; raw parts under their term ids', () => {
    const terms: LossTerm[] = [
      { type: 'ce', weight: 0.1 },
      { type: 'kd', weight: 0.9 },
      { type: 'hint', weight: 2, student: 'fc1', teacher: 'fc2', connector: 'none', stage1Epochs: 0 },
    ];
    const { total, parts } = tf.tidy(() => {
      const r = studentLoss(activateTerms(terms, setup), ctx());
      return { total: num(r.total), parts: Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, num(v)])) };
    });
    assert.deepEqual(Object.keys(parts).sort(), ['ce', 'hint:fc1<-fc2', 'kd']);
    const ce = ceRef(zs, labels);
    const kd = kdRef(zs, zt, 4);
    const hint = mseRef(hs, ht);
    close(parts.ce, ce, 1e-5);
    close(parts.kd, kd, 1e-4);
    close(parts['hint:fc1<-fc2'], hint, 1e-6);
    close(total, 0.1 * ce + 0.9 * kd + 2 * hint, 1e-4);
  });

  test("a term's own temperature overrides T", () => {
    const terms: LossTerm[] = [{ type: 'kd', weight: 0.5, temperature: 2 }];
    const [total, kd] = tf.tidy(() => {
      const r = studentLoss(activateTerms(terms, setup), ctx(20));
      return [num(r.total), num(r.parts.kd)];
    });
    close(kd, kdRef(zs, zt, 2), 1e-4);
    close(total, 0.5 * kdRef(zs, zt, 2), 1e-4);
  });

  test('hint through a linear connector; gradients reach student and connector, no tensors leak', () => {
    const terms: LossTerm[] = [
      { type: 'ce', weight: 1 },
      { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc2', connector: 'auto', stage1Epochs: 0 },
    ];
    const active = activateTerms(terms, { ...setup, teacherLayers: [{ name: 'fc2', shape: [3] }, { name: 'logits', shape: [4] }] });
    const connector = (active[1].state as unknown as { connector: { kind: string } }).connector;
    assert.equal(connector.kind, 'linear');
    const w = tf.variable(tf.tensor2d(randMatrix(2, 4, 3)));
    const x = tf.tensor2d(hs);
    const teacher = { fc2: tf.tensor2d(randMatrix(3, 3, 4)), logits: tf.tensor2d(zt) };
    const y = tf.tensor1d(labels, 'int32');
    const vars = [w, ...termVariables(active)];
    assert.equal(vars.length, 3);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      let parts: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const r = studentLoss(active, inputs({ fc1: x, logits: tf.matMul(x, w) }, teacher, y));
        parts = Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, tf.keep(v)]));
        return r.total;
      }, vars);
      assert.deepEqual(Object.keys(parts).sort(), ['ce', 'hint:fc1<-fc2']);
      assert.equal(Object.keys(grads).length, 3);
      close(num(value), num(parts.ce) + num(parts['hint:fc1<-fc2']), 1e-5);
      tf.dispose([value, parts, grads]);
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([w, x, y, ...Object.values(teacher)]);
    disposeTerms(active);
  });

  test('two terms of one type on different layers keep their own ids; an explicit id wins', () => {
    const terms: LossTerm[] = [
      { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc2', connector: 'none', stage1Epochs: 0 },
      { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc2', connector: 'none', stage1Epochs: 0, id: 'second' },
    ];
    const parts = tf.tidy(() => Object.keys(studentLoss(activateTerms(terms, setup), ctx()).parts));
    assert.deepEqual(parts.sort(), ['hint:fc1<-fc2', 'second']);
  });

  test('conv1x1 connector maps channels and keeps the spatial size', () => {
    const c = createConnector(tf, 'conv1x1', [4, 4, 3], [4, 4, 5], 2);
    const shape = tf.tidy(() => c.apply(tf.ones([2, 4, 4, 3]), true).shape);
    assert.deepEqual(shape, [2, 4, 4, 5]);
    assert.equal(c.variables.length, 2);
    c.dispose();
    assert.throws(() => createConnector(tf, 'conv1x1', [4, 4, 3], [2, 2, 5], 2), /spatial/);
  });
});

// ---- CKA ----------------------------------------------------------------------------------------

/** Linear CKA from the feature-space formula with plain loops (float64). */
function ckaRef(X: number[][], Y: number[][]): number {
  const centre = (M: number[][]) => {
    const n = M.length;
    const means = M[0].map((_, j) => M.reduce((a, r) => a + r[j], 0) / n);
    return M.map((r) => r.map((v, j) => v - means[j]));
  };
  const frob2 = (A: number[][], B: number[][]) => {
    // ‖AᵀB‖_F²
    let s = 0;
    for (let i = 0; i < A[0].length; i++)
      for (let j = 0; j < B[0].length; j++) {
        let d = 0;
        for (let k = 0; k < A.length; k++) d += A[k][i] * B[k][j];
        s += d * d;
      }
    return s;
  };
  const Xc = centre(X);
  const Yc = centre(Y);
  return frob2(Yc, Xc) / Math.sqrt(frob2(Xc, Xc) * frob2(Yc, Yc));
}

function matmul(A: number[][], B: number[][]): number[][] {
  return A.map((r) => B[0].map((_, j) => r.reduce((a, v, k) => a + v * B[k][j], 0)));
}

describe('linear CKA', () => {
  const cka = (X: number[][], Y: number[][]) => tf.tidy(() => linearCKA(tf.tensor2d(X), tf.tensor2d(Y)));

  test('1-D example by hand: CKA = squared correlation', () => {
    // X = [1,2,3] → centred [-1,0,1]; Y = [1,0,2] → mean 1 → [0,-1,1].
    // YᵀX = 0·(-1) + (-1)·0 + 1·1 = 1 → squared 1; XᵀX = 2; YᵀY = 2 → CKA = 1 / (2·2) = 0.25.
    close(cka([[1], [2], [3]], [[1], [0], [2]]), 0.25, 1e-6);
  });

  test('against the loop reference, feature form (p < n) and Gram form (p > n)', () => {
    const X = randMatrix(12, 3, 11);
    const Y = randMatrix(12, 2, 12);
    close(cka(X, Y), ckaRef(X, Y), 1e-4);
    const Xw = randMatrix(5, 30, 13);
    const Yw = randMatrix(5, 20, 14);
    close(cka(Xw, Yw), ckaRef(Xw, Yw), 1e-4);
    // the Gram path directly
    const g = tf.tidy(() => ckaFromGrams(centredGram(tf.tensor2d(X)), centredGram(tf.tensor2d(Y))));
    close(g, ckaRef(X, Y), 1e-4);
  });

  test('CKA(X, X) = 1; invariant to orthogonal rotation and isotropic scaling', () => {
    const X = randMatrix(10, 4, 21);
    const Y = randMatrix(10, 3, 22);
    close(cka(X, X), 1, 1e-5);
    // Householder reflection Q = I − 2vvᵀ/(vᵀv) is orthogonal.
    const v = [1, -2, 0.5, 3];
    const vv = v.reduce((a, b) => a + b * b, 0);
    const Q = v.map((vi, i) => v.map((vj, j) => (i === j ? 1 : 0) - (2 * vi * vj) / vv));
    const base = cka(X, Y);
    close(cka(matmul(X, Q), Y), base, 1e-4);
    close(cka(X.map((r) => r.map((x) => 3.7 * x)), Y), base, 1e-4);
    close(cka(X, Y.map((r) => r.map((y) => 0.01 * y))), base, 1e-4);
  });

  test('ckaMatrix: teacher rows × student columns, conv maps flattened', () => {
    const X = randMatrix(6, 2 * 2 * 3, 31);
    const Y = randMatrix(6, 5, 32);
    const Z = randMatrix(6, 4, 33);
    const r = tf.tidy(() =>
      ckaMatrix(
        new Map<string, tf.Tensor>([
          ['conv1', tf.tensor4d(X.flat(), [6, 2, 2, 3])],
          ['logits', tf.tensor2d(Y)],
        ]),
        new Map<string, tf.Tensor>([
          ['fc1', tf.tensor2d(Z)],
          ['logits', tf.tensor2d(Y)],
        ]),
      ),
    );
    assert.deepEqual(r.teacherLayers, ['conv1', 'logits']);
    assert.deepEqual(r.studentLayers, ['fc1', 'logits']);
    close(r.matrix[0][0], ckaRef(X, Z), 1e-4);
    close(r.matrix[0][1], ckaRef(X, Y), 1e-4);
    close(r.matrix[1][0], ckaRef(Y, Z), 1e-4);
    close(r.matrix[1][1], 1, 1e-5);
  });
});

after(() => {
  tf.disposeVariables();
});
