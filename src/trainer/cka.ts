// Linear centered kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural
// Network Representations Revisited"): how similar two layers' representations of the same n
// examples are, invariant to orthogonal transforms and isotropic scaling of either.
//
//   X [n, p1], Y [n, p2], columns centred:  CKA = ‖YᵀX‖_F² / (‖XᵀX‖_F · ‖YᵀY‖_F)
//
// Equivalently with the centred Gram matrices K = XXᵀ, L = YYᵀ (n × n): HSIC(K, L) ∝ tr(KL) =
// Σ K∘L and CKA = tr(KL) / √(tr(KK)·tr(LL)), which is cheaper when the layers are wider than n.
// Conv maps are flattened per example. A layer with no variance gives CKA 0 (undefined really).
import * as tf from '@tensorflow/tfjs';
import { readAll } from './reads';

/** [n, ...] → [n, p] with every column centred (float32, on the backend). */
function centred(x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const m = tf.reshape(tf.cast(x, 'float32'), [x.shape[0], -1]) as tf.Tensor2D;
    return tf.sub(m, tf.mean(m, 0, true)) as tf.Tensor2D;
  });
}

/** XcXcᵀ on the backend, n × n. */
function gramTensor(x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const xc = centred(x);
    return tf.matMul(xc, xc, false, true);
  });
}

/** The centred Gram matrix XcXcᵀ of a layer's activations, row-major n × n. */
export function centredGram(x: tf.Tensor): Float32Array {
  const k = gramTensor(x);
  const data = k.dataSync() as Float32Array;
  k.dispose();
  return data;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function ratio(kl: number, kk: number, ll: number): number {
  const den = Math.sqrt(kk * ll);
  if (!(den > 0) || !Number.isFinite(den)) return 0;
  return Math.min(1, Math.max(0, kl / den));
}

/** CKA from two centred Gram matrices of the same n examples. */
export function ckaFromGrams(k: ArrayLike<number>, l: ArrayLike<number>): number {
  if (k.length !== l.length) throw new Error(`CKA needs the same examples for both layers (${k.length} vs ${l.length} Gram entries)`);
  return ratio(dot(k, l), dot(k, k), dot(l, l));
}

/**
 * Linear CKA between two layers' activations of the same n examples ([n, ...] each). Uses the
 * feature form (p × p products) or the Gram form (n × n), whichever needs fewer multiplications.
 */
export function linearCKA(x: tf.Tensor, y: tf.Tensor): number {
  const n = x.shape[0];
  if (y.shape[0] !== n) throw new Error(`CKA needs the same examples for both layers (${n} vs ${y.shape[0]})`);
  const p1 = x.size / Math.max(n, 1);
  const p2 = y.size / Math.max(n, 1);
  const featureCost = n * (p1 * p2 + p1 * p1 + p2 * p2);
  const gramCost = n * n * (p1 + p2);
  if (gramCost < featureCost) return ckaFromGrams(centredGram(x), centredGram(y));
  const [yx, xx, yy] = tf.tidy(() => {
    const xc = centred(x);
    const yc = centred(y);
    const sq = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.sum(tf.square(tf.matMul(a, b, true, false)));
    return [sq(yc, xc), sq(xc, xc), sq(yc, yc)];
  });
  const [a, b, c] = [yx.dataSync()[0], xx.dataSync()[0], yy.dataSync()[0]];
  tf.dispose([yx, xx, yy]);
  return ratio(a, b, c);
}

/**
 * Linear CKA of every teacher layer against every student layer: `matrix[i][j]` compares
 * `teacherLayers[i]` with `studentLayers[j]` (rows: teacher, in map order; columns: student).
 * Each layer's centred Gram matrix is computed once (on the tfjs backend), the pairs in float64.
 */
export function ckaMatrix(
  teacherTaps: Map<string, tf.Tensor>,
  studentTaps: Map<string, tf.Tensor>,
): { teacherLayers: string[]; studentLayers: string[]; matrix: number[][] } {
  const grams = (taps: Map<string, tf.Tensor>) => [...taps.values()].map((t) => centredGram(t));
  return ckaOfGrams([...teacherTaps.keys()], grams(teacherTaps), [...studentTaps.keys()], grams(studentTaps));
}

/** ckaMatrix on any backend (the webgpu one cannot read synchronously): every Gram matrix read at once. */
export async function readCkaMatrix(
  teacherTaps: Map<string, tf.Tensor>,
  studentTaps: Map<string, tf.Tensor>,
): Promise<{ teacherLayers: string[]; studentLayers: string[]; matrix: number[][] }> {
  const grams = [...teacherTaps.values(), ...studentTaps.values()].map((t) => gramTensor(t));
  try {
    const read = await readAll(grams);
    return ckaOfGrams([...teacherTaps.keys()], read.slice(0, teacherTaps.size), [...studentTaps.keys()], read.slice(teacherTaps.size));
  } finally {
    tf.dispose(grams);
  }
}

function ckaOfGrams(
  teacherLayers: string[],
  tg: Float32Array[],
  studentLayers: string[],
  sg: Float32Array[],
): { teacherLayers: string[]; studentLayers: string[]; matrix: number[][] } {
  const tn = tg.map((k) => dot(k, k));
  const sn = sg.map((l) => dot(l, l));
  const matrix = tg.map((k, i) => sg.map((l, j) => (k.length === l.length ? ratio(dot(k, l), tn[i], sn[j]) : Number.NaN)));
  if (matrix.some((row) => row.some((v) => Number.isNaN(v)))) throw new Error('CKA needs the same examples for teacher and student layers');
  return { teacherLayers, studentLayers, matrix };
}
