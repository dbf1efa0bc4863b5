// Choosing the examples of each split (seeded, deterministic) and turning raw rows into normalised
// Float32 splits.
//
// Rules (the same for every source):
// - Shuffles are permutations from `createRng(deriveSeed(seed, 'data/…'))`; each split takes a prefix
//   of its permutation, so for a fixed seed a smaller size gives a subset of a larger size, and
//   changing trainSize never changes the validation or test examples.
// - Separate train and test sources (fashion-mnist, idx, csv): test = the first testSize of the
//   shuffled test source (default all); validation = the first validationSize of the shuffled
//   training source; train = the next trainSize (default: all the rest).
// - One pool (mnist): test = the first testSize of the shuffled pool (default round(testFraction · N));
//   validation = the next validationSize; train = the next trainSize (default: all the rest).
// - A size larger than what is available throws; nothing is silently truncated.
import { createRng, deriveSeed, permutation } from '../../core/random';
import type { NormalizeMethod, Normalization, Split } from './types';

export interface SizeConfig {
  trainSize?: number;
  validationSize?: number;
  testSize?: number;
}

export interface SplitPlan {
  /** Rows of the training source (or of the pool) for each split, in order. */
  train: Int32Array;
  validation: Int32Array;
  /** Rows of the test source (or of the pool). */
  test: Int32Array;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function checkSize(field: string, value: number | undefined, available: number, what: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0) throw new Error(`data.${field} must be a non-negative integer, got ${value}`);
  if (value > available) throw new Error(`data.${field} is ${fmt(value)} but only ${fmt(available)} ${what}`);
}

function carveTraining(perm: Int32Array, sizes: SizeConfig, what: string): { train: Int32Array; validation: Int32Array } {
  const validationSize = sizes.validationSize ?? 0;
  checkSize('validationSize', validationSize, perm.length, `examples are available for validation (${what})`);
  const rest = perm.length - validationSize;
  checkSize('trainSize', sizes.trainSize, rest, `examples are available for training (${what}${validationSize ? `, minus validationSize ${fmt(validationSize)}` : ''})`);
  const trainSize = sizes.trainSize ?? rest;
  if (trainSize < 1) throw new Error(`No examples are left for training (${what}${validationSize ? `, minus validationSize ${fmt(validationSize)}` : ''})`);
  return { validation: perm.slice(0, validationSize), train: perm.slice(validationSize, validationSize + trainSize) };
}

/** Splits for separate training and test sources. */
export function planSeparate(trainCount: number, testCount: number, sizes: SizeConfig, seed: number, label: string): SplitPlan {
  checkSize('testSize', sizes.testSize, testCount, `test examples are in ${label}`);
  const testPerm = permutation(testCount, createRng(deriveSeed(seed, 'data/test')));
  const test = testPerm.slice(0, sizes.testSize ?? testCount);
  if (test.length < 1) throw new Error(`${label} has no test examples`);
  const trainPerm = permutation(trainCount, createRng(deriveSeed(seed, 'data/train')));
  return { ...carveTraining(trainPerm, sizes, `${fmt(trainCount)} training examples in ${label}`), test };
}

/** Splits for one pool (mnist): test first, then validation, then train. */
export function planPool(count: number, sizes: SizeConfig & { testFraction?: number }, seed: number, label: string): SplitPlan {
  let testSize = sizes.testSize;
  if (testSize === undefined) {
    const f = sizes.testFraction ?? 0.2;
    testSize = Math.round(f * count);
    if (!(testSize >= 1 && testSize < count)) throw new Error(`data.testFraction ${f} gives ${testSize} test examples out of ${fmt(count)}; choose a fraction strictly between 0 and 1 that leaves at least one example on each side`);
  }
  checkSize('testSize', testSize, count, `examples are in ${label}`);
  const perm = permutation(count, createRng(deriveSeed(seed, 'data/pool')));
  const rest = perm.subarray(testSize);
  return { ...carveTraining(rest, sizes, `${fmt(count)} in ${label} minus testSize ${fmt(testSize)}`), test: perm.slice(0, testSize) };
}

type Rows = ArrayLike<number>;

/** Copies the chosen rows into a Float32 split (values not yet normalised). */
export function gather(x: Rows, y: Uint8Array | Int32Array, rowSize: number, rows: Int32Array): Split {
  const n = rows.length;
  const out = new Float32Array(n * rowSize);
  const labels = y instanceof Uint8Array ? new Uint8Array(n) : new Int32Array(n);
  const indices: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const src = r * rowSize;
    const dst = i * rowSize;
    if (ArrayBuffer.isView(x)) {
      out.set((x as unknown as Uint8Array).subarray(src, src + rowSize), dst);
    } else {
      for (let k = 0; k < rowSize; k++) out[dst + k] = x[src + k];
    }
    labels[i] = y[r];
    indices[i] = r;
  }
  return { x: out, y: labels, count: n, indices };
}

/**
 * Normalises the splits in place. `standard` statistics come from the training split only: one
 * global mean/std over all values for images (`perFeature` false), or one per feature column for
 * feature vectors (`perFeature` true). A zero standard deviation is replaced by 1.
 */
export function normalizeSplits(method: NormalizeMethod, splits: { train: Split; others: Split[] }, rowSize: number, perFeature: boolean): Normalization {
  const all = [splits.train, ...splits.others];
  if (method === 'none') return { method, mean: 0, std: 1 };
  if (method === 'unit') {
    for (const s of all) for (let i = 0; i < s.x.length; i++) s.x[i] /= 255;
    return { method, mean: 0, std: 255 };
  }
  const tx = splits.train.x;
  const n = splits.train.count;
  if (!perFeature) {
    let sum = 0;
    for (let i = 0; i < tx.length; i++) sum += tx[i];
    const mean = sum / tx.length;
    let sq = 0;
    for (let i = 0; i < tx.length; i++) sq += (tx[i] - mean) * (tx[i] - mean);
    let std = Math.sqrt(sq / tx.length);
    if (!(std > 1e-12)) std = 1;
    const inv = 1 / std;
    for (const s of all) for (let i = 0; i < s.x.length; i++) s.x[i] = (s.x[i] - mean) * inv;
    return { method, mean, std };
  }
  const mean = new Float64Array(rowSize);
  const sq = new Float64Array(rowSize);
  for (let r = 0; r < n; r++) for (let k = 0; k < rowSize; k++) mean[k] += tx[r * rowSize + k];
  for (let k = 0; k < rowSize; k++) mean[k] /= n;
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < rowSize; k++) {
      const d = tx[r * rowSize + k] - mean[k];
      sq[k] += d * d;
    }
  }
  const std = new Float64Array(rowSize);
  for (let k = 0; k < rowSize; k++) {
    const s = Math.sqrt(sq[k] / n);
    std[k] = s > 1e-12 ? s : 1;
  }
  for (const s of all) {
    for (let r = 0; r < s.count; r++) {
      for (let k = 0; k < rowSize; k++) s.x[r * rowSize + k] = (s.x[r * rowSize + k] - mean[k]) / std[k];
    }
  }
  return { method, mean: Array.from(mean), std: Array.from(std) };
}
