// Shared by the feature-map losses (AT, NST, FSP, VID, FT): the "is it a conv map" check and
// RepDistiller's alignment of two maps of different spatial size, which average-pools the larger
// map down to the smaller one (F.adaptive_avg_pool2d) before comparing them.
import type { Layer, Tensor, Tf, TermProblem } from './types';

const fmt = (l: Layer) => `${l.name} [${l.shape.join('×')}]`;

export const isConv = (l: Layer) => l.shape.length === 3;

/** "at needs conv layers [h×w×c]; student fc1 [64] is dense", for each named layer that is not a conv map. */
export function convProblems(type: string, layers: { field: string; who: string; layer: Layer }[]): TermProblem[] {
  return layers
    .filter((x) => !isConv(x.layer))
    .map((x) => ({ field: x.field, message: `${type} needs conv layers [h×w×c]; ${x.who} ${fmt(x.layer)} is dense` }));
}

/** A pair's layers, both conv maps or else a problem on each dense one. */
export const pairConvProblems = (type: string, pair: { student: Layer; teacher: Layer }) =>
  convProblems(type, [
    { field: 'student', who: 'student', layer: pair.student },
    { field: 'teacher', who: 'teacher', layer: pair.teacher },
  ]);

/**
 * torch's adaptive-average-pooling weights for one axis, [m, n]: output i averages inputs
 * floor(i·n/m) … ceil((i+1)·n/m) − 1 (equal windows when m divides n, overlapping ones otherwise).
 */
function bins(n: number, m: number): number[][] {
  return Array.from({ length: m }, (_, i) => {
    const lo = Math.floor((i * n) / m);
    const hi = Math.ceil(((i + 1) * n) / m);
    return Array.from({ length: n }, (_, j) => (j >= lo && j < hi ? 1 / (hi - lo) : 0));
  });
}

/**
 * F.adaptive_avg_pool2d for a channels-last map [B, H, W, C] → [B, h, w, C], as two matrix
 * products (rows, then columns), so any sizes work, not only integer ratios.
 */
export function adaptiveAvgPool(tf: Tf, x: Tensor, h: number, w: number): Tensor {
  const [B, H, W, C] = x.shape;
  if (H === h && W === w) return x;
  // Move the axis being pooled to the front so one matMul contracts it: [H, B·W·C] → [h, B·W·C].
  const rows = tf.matMul(tf.tensor2d(bins(H, h)), tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [H, -1]));
  const byCol = tf.transpose(tf.reshape(rows, [h, B, W, C]), [2, 1, 0, 3]); // [W, B, h, C]
  const cols = tf.matMul(tf.tensor2d(bins(W, w)), tf.reshape(byCol, [W, -1])); // [w, B·h·C]
  return tf.transpose(tf.reshape(cols, [w, B, h, C]), [1, 2, 0, 3]);
}

/**
 * Two conv maps brought to a common spatial size: each axis pooled down to the smaller of the two
 * (RepDistiller pools the map with the larger height to the other's size; this also covers
 * non-square maps). Dense taps [B, units] are returned as they are.
 */
export function alignMaps(tf: Tf, a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.rank !== 4 || b.rank !== 4) return [a, b];
  const h = Math.min(a.shape[1]!, b.shape[1]!);
  const w = Math.min(a.shape[2]!, b.shape[2]!);
  return [adaptiveAvgPool(tf, a, h, w), adaptiveAvgPool(tf, b, h, w)];
}
