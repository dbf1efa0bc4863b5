// The numbers behind the logits view, pure and unit tested (test/webview/units.test.ts): the
// tempered softmax that turns logits into soft targets, their entropy, and the teacher-vs-student
// agreement matrix. No DOM.
import { classAgreementMatrix } from './agreement';

/** softmax(z / T), computed stably (the largest logit is subtracted before exp). */
export function softmax(z: readonly number[], T = 1): number[] {
  if (!(T > 0)) throw new RangeError(`temperature must be > 0, got ${T}`);
  if (!z.length) return [];
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  const e = z.map((v) => Math.exp((v - max) / T));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Shannon entropy −Σ p log p, in nats (terms with p = 0 contribute 0). */
export function entropy(p: readonly number[]): number {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log(v);
  return h;
}

/** Entropy as a share of its maximum log(K): 0 = one-hot, 1 = uniform. */
export function normalizedEntropy(p: readonly number[]): number {
  return p.length > 1 ? entropy(p) / Math.log(p.length) : 0;
}

/** KL(p ‖ q) in nats. */
export function klDivergence(p: readonly number[], q: readonly number[]): number {
  let kl = 0;
  p.forEach((v, i) => {
    if (v > 0) kl += v * (Math.log(v) - Math.log(Math.max(q[i], 1e-300)));
  });
  return kl;
}

/** Index of the largest value (the first, on ties); −1 for an empty list. */
export function argmax(a: readonly number[]): number {
  let best = -1;
  let max = -Infinity;
  a.forEach((v, i) => {
    if (v > max) {
      max = v;
      best = i;
    }
  });
  return best;
}

/**
 * counts[i][j] = how many samples the first model (rows, e.g. the teacher) puts in class i and the
 * second (columns, e.g. the student) in class j, by the argmax of their logits. The diagonal is where they agree.
 */
export function agreementMatrix(rowsLogits: readonly (readonly number[])[], colsLogits: readonly (readonly number[])[], classes: number): number[][] {
  return classAgreementMatrix(rowsLogits.map(argmax), colsLogits.map(argmax), classes);
}

/** Share of samples on the diagonal of an agreement matrix (NaN when empty). */
export function agreementRate(m: readonly (readonly number[])[]): number {
  let diag = 0;
  let total = 0;
  m.forEach((row, i) => row.forEach((v, j) => ((total += v), i === j && (diag += v))));
  return total ? diag / total : NaN;
}
