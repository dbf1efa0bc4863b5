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
// - validationSize defaults to 10 % of the training pool (at most 5,000; no more than trainSize
//   leaves), so that what a run chooses is chosen on held-out examples, never on the test set.
// - A size larger than what is available throws; nothing is silently truncated.
import { createRng, deriveSeed, permutation } from '../random';
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

export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

/** The validation split when validationSize is not given: 10 % of the training pool, at most 5,000, and no more than trainSize leaves. */
export function defaultValidationSize(pool: number, trainSize: number | undefined): number {
  const tenth = Math.min(Math.round(pool / 10), 5_000);
  return Math.max(0, trainSize === undefined ? tenth : Math.min(tenth, pool - trainSize));
}

function carveSizes(available: number, sizes: SizeConfig, what: string): { train: number; validation: number } {
  const validation = sizes.validationSize ?? defaultValidationSize(available, sizes.trainSize);
  checkSize('validationSize', validation, available, `examples are available for validation (${what})`);
  const rest = available - validation;
  const minus = validation ? `, minus validationSize ${fmt(validation)}` : '';
  checkSize('trainSize', sizes.trainSize, rest, `examples are available for training (${what}${minus})`);
  const train = sizes.trainSize ?? rest;
  if (train < 1) throw new Error(`No examples are left for training (${what}${minus})`);
  return { train, validation };
}

/**
 * The number of examples in each split, or an Error naming the field and the available count.
 * Pure (no data needed): the config validator can call it with describeDataSource's counts.
 * `pool` (mnist): train, validation and test all come from `trainCount` examples.
 */
export function resolveSplitSizes(
  source: { trainCount: number; testCount: number; pool?: boolean; label: string },
  sizes: SizeConfig & { testFraction?: number },
): SplitSizes {
  const { trainCount, testCount, label } = source;
  if (source.pool) {
    let test = sizes.testSize;
    if (test === undefined) {
      const f = sizes.testFraction ?? 0.2;
      test = Math.round(f * trainCount);
      if (!(test >= 1 && test < trainCount)) {
        throw new Error(`data.testFraction ${f} gives ${test} test examples out of ${fmt(trainCount)}; choose a fraction strictly between 0 and 1 that leaves at least one example on each side`);
      }
    }
    checkSize('testSize', test, trainCount, `examples are in ${label}`);
    return { ...carveSizes(trainCount - test, sizes, `${fmt(trainCount)} in ${label} minus testSize ${fmt(test)}`), test };
  }
  checkSize('testSize', sizes.testSize, testCount, `test examples are in ${label}`);
  const test = sizes.testSize ?? testCount;
  if (test < 1) throw new Error(`${label} has no test examples`);
  return { ...carveSizes(trainCount, sizes, `${fmt(trainCount)} training examples in ${label}`), test };
}

/** Splits for separate training and test sources. */
export function planSeparate(trainCount: number, testCount: number, sizes: SizeConfig, seed: number, label: string): SplitPlan {
  const n = resolveSplitSizes({ trainCount, testCount, label }, sizes);
  const testPerm = permutation(testCount, createRng(deriveSeed(seed, 'data/test')));
  const trainPerm = permutation(trainCount, createRng(deriveSeed(seed, 'data/train')));
  return {
    test: testPerm.slice(0, n.test),
    validation: trainPerm.slice(0, n.validation),
    train: trainPerm.slice(n.validation, n.validation + n.train),
  };
}

/** Splits for one pool (mnist): test first, then validation, then train. */
export function planPool(count: number, sizes: SizeConfig & { testFraction?: number }, seed: number, label: string): SplitPlan {
  const n = resolveSplitSizes({ trainCount: count, testCount: count, pool: true, label }, sizes);
  const perm = permutation(count, createRng(deriveSeed(seed, 'data/pool')));
  return {
    test: perm.slice(0, n.test),
    validation: perm.slice(n.test, n.test + n.validation),
    train: perm.slice(n.test + n.validation, n.test + n.validation + n.train),
  };
}

type Rows = ArrayLike<number>;

/** Copies the chosen rows into a Float32 split (values not yet normalised). */
export function gather(x: Rows, y: Uint8Array | Int32Array, rowSize: number, rows: Int32Array): Split {
  const n = rows.length;
  const out = new Float32Array(n * rowSize);
  const labels = y instanceof Uint8Array ? new Uint8Array(n) : new Int32Array(n);
  const indices: number[] = new Array(n);
  // Separate monomorphic loops: TypedArray.set across element types is ~6× slower here.
  if (x instanceof Uint8Array) copyRowsU8(x, out, rowSize, rows);
  else if (x instanceof Float32Array) for (let i = 0; i < n; i++) out.set(x.subarray(rows[i] * rowSize, (rows[i] + 1) * rowSize), i * rowSize);
  else copyRowsAny(x, out, rowSize, rows);
  for (let i = 0; i < n; i++) {
    labels[i] = y[rows[i]];
    indices[i] = rows[i];
  }
  return { x: out, y: labels, count: n, indices };
}

function copyRowsU8(x: Uint8Array, out: Float32Array, rowSize: number, rows: Int32Array): void {
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i] * rowSize;
    const dst = i * rowSize;
    for (let k = 0; k < rowSize; k++) out[dst + k] = x[src + k];
  }
}

function copyRowsAny(x: Rows, out: Float32Array, rowSize: number, rows: Int32Array): void {
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i] * rowSize;
    const dst = i * rowSize;
    for (let k = 0; k < rowSize; k++) out[dst + k] = x[src + k];
  }
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
