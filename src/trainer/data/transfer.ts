// The transfer set (Hinton, Vinyals & Dean 2015, §3): what the baseline and the distilled student
// learn on when it is not the teacher's whole training split — a seeded subset, some classes left
// out, or no labels. The teacher keeps the whole split; validation and test are shared, and so is
// the normalisation (the teacher's inputs and the student's must be scaled alike).
import type { TransferConfig } from '../../core/config/schema';
import type { TransferSummary } from '../../core/protocol';
import { createRng, deriveSeed, permutation } from '../../core/random';
import type { Dataset, Split } from '../../core/data/types';

export interface TransferSet {
  /** The student's dataset: `train` is the transfer set, the other splits are the run's. */
  data: Dataset;
  /** The training examples the transfer set left out (in training order). */
  leftOut: Split;
  summary: TransferSummary;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The rows `rows` of a split (in that order), as a split of their own. */
export function subsetSplit(split: Split, rows: ArrayLike<number>): Split {
  const rowSize = split.count ? split.x.length / split.count : 0;
  const x = new Float32Array(rows.length * rowSize);
  const y = split.y instanceof Uint8Array ? new Uint8Array(rows.length) : new Int32Array(rows.length);
  const indices: number[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    x.set(split.x.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
    y[i] = split.y[r];
    indices[i] = split.indices ? split.indices[r] : r;
  }
  return { x, y, count: rows.length, indices };
}

/**
 * The transfer set of `data` as `transfer` asks: the training examples of the classes not in
 * omitClasses, then `size` of them taken by a seeded shuffle (a prefix of it, so a smaller size
 * gives a subset of a larger one), kept in training order. Without `transfer` the student's data
 * is the run's. Throws a one-line Error when the set would be empty or smaller than `size`.
 */
export function buildTransferSet(data: Dataset, transfer: TransferConfig | undefined, seed: number): TransferSet {
  const train = data.train;
  const omit = [...new Set(transfer?.omitClasses ?? [])].sort((a, b) => a - b);
  const labels = transfer?.labels ?? true;
  for (const c of omit) {
    if (c >= data.numClasses) throw new Error(`distillation.transfer.omitClasses: class ${c} does not exist (the data has classes 0 … ${data.numClasses - 1})`);
  }
  const omitted = new Set(omit);
  const kept: number[] = [];
  for (let i = 0; i < train.count; i++) if (!omitted.has(train.y[i])) kept.push(i);
  const without = omit.length ? ` without class${omit.length > 1 ? 'es' : ''} ${omit.join(', ')}` : '';
  if (kept.length === 0) throw new Error(`distillation.transfer: the transfer set is empty: all ${fmt(train.count)} training examples are of the omitted classes`);
  const size = transfer?.size ?? kept.length;
  if (size > kept.length) {
    throw new Error(`distillation.transfer.size: ${fmt(size)} is more than the ${fmt(kept.length)} training examples${without} available`);
  }
  let chosen = kept;
  if (size < kept.length) {
    const order = permutation(kept.length, createRng(deriveSeed(seed, 'data/transfer')));
    chosen = Array.from(order.subarray(0, size), (k) => kept[k]).sort((a, b) => a - b);
  }
  const inSet = new Uint8Array(train.count);
  for (const i of chosen) inSet[i] = 1;
  const left: number[] = [];
  for (let i = 0; i < train.count; i++) if (!inSet[i]) left.push(i);
  return {
    data: chosen.length === train.count ? data : { ...data, train: subsetSplit(train, chosen) },
    leftOut: subsetSplit(train, left),
    summary: { count: chosen.length, trainCount: train.count, omitClasses: omit, labels, notes: [] },
  };
}
