// What a run on a transfer set with omitted classes reports (Hinton, Vinyals & Dean 2015, §3):
// each model's accuracy on the test examples of the omitted classes, and the distilled student
// with a logit bias added to those classes. Hinton raised the omitted 3's bias by 3.5, the value
// that did best on the *test* set; here the bias is chosen on the validation split, or without one
// on the training examples the transfer set left out — never on the test set (docs/transfer-sets.md).
import type { BiasCorrectedResult, ModelResult, OmittedClassResult } from '../core/protocol';
import type { Dataset, Split } from './data';
import type { TransferSet } from './data/transfer';
import { predictLogits } from './evaluate';
import type { TappedModel } from './models';

/** Each example's predicted class with `bias` added to the logits of `omitted` (argmax, first maximum wins). */
export function predictWithBias(logits: Float32Array, classes: number, omitted: ReadonlySet<number>, bias: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0; c < classes; c++) {
      const v = logits[i * classes + c] + (omitted.has(c) ? bias : 0);
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}

/** How many of the examples of the `omitted` classes are predicted right. */
export function omittedAccuracy(predicted: Int32Array, labels: ArrayLike<number>, omitted: number[]): OmittedClassResult {
  const set = new Set(omitted);
  let correct = 0;
  let count = 0;
  for (let i = 0; i < labels.length; i++) {
    if (!set.has(labels[i])) continue;
    count++;
    if (predicted[i] === labels[i]) correct++;
  }
  return { classes: omitted.slice(), correct, count };
}

/**
 * Per class, how much one example of the selection split counts: the class's share of `reference`
 * (the training split) over its share of the selection. The examples left out of a transfer set
 * hold every omitted-class example but only some of the others, so unweighted they would call for
 * too large a bias; weighted, each class counts as often as in the training data.
 */
export function classWeights(selection: ArrayLike<number>, reference: ArrayLike<number>, classes: number): Float64Array {
  const sel = new Float64Array(classes);
  const ref = new Float64Array(classes);
  for (let i = 0; i < selection.length; i++) sel[selection[i]]++;
  for (let i = 0; i < reference.length; i++) ref[reference[i]]++;
  const w = new Float64Array(classes);
  for (let c = 0; c < classes; c++) w[c] = sel[c] ? ref[c] / reference.length / (sel[c] / selection.length) : 0;
  return w;
}

/**
 * The bias to add to the omitted classes' logits that minimises the (weighted) errors on these
 * examples. The errors change only where an example's best omitted class and its best other class
 * swap: at b = (best other logit − best omitted logit). Between two such thresholds they are
 * constant, so every interval is tried once; the bias is 0 if the best interval contains 0, else
 * the middle of the best interval nearest 0 (1 beyond the last threshold for an unbounded one).
 */
export function chooseBias(logits: Float32Array, labels: ArrayLike<number>, classes: number, omitted: number[], weights?: ArrayLike<number>): number {
  const inO = new Set(omitted);
  // Each example that some bias gets right: right above its threshold (an omitted class) or below it.
  const above: { t: number; w: number }[] = [];
  const below: { t: number; w: number }[] = [];
  for (let i = 0; i < labels.length; i++) {
    let bestIn = -1;
    let bestOut = -1;
    for (let c = 0; c < classes; c++) {
      const v = logits[i * classes + c];
      if (inO.has(c)) {
        if (bestIn < 0 || v > logits[i * classes + bestIn]) bestIn = c;
      } else if (bestOut < 0 || v > logits[i * classes + bestOut]) bestOut = c;
    }
    const t = logits[i * classes + bestOut] - logits[i * classes + bestIn];
    const w = weights ? weights[labels[i]] : 1;
    if (labels[i] === bestIn) above.push({ t, w });
    else if (labels[i] === bestOut) below.push({ t, w });
  }
  // One sweep over the thresholds in order: in the interval after thresholds[k−1], the examples
  // right above their threshold are those with t ≤ thresholds[k−1], those right below it the rest.
  const events = new Map<number, { above: number; below: number }>();
  for (const [list, key] of [
    [above, 'above'],
    [below, 'below'],
  ] as const) {
    for (const e of list) {
      const at = events.get(e.t) ?? { above: 0, below: 0 };
      at[key] += e.w;
      events.set(e.t, at);
    }
  }
  const thresholds = [...events.keys()].sort((a, b) => a - b);
  if (thresholds.length === 0) return 0;
  let aboveSoFar = 0;
  let belowLeft = below.reduce((sum, e) => sum + e.w, 0);
  let best = { bias: 0, right: -Infinity };
  for (let k = 0; k <= thresholds.length; k++) {
    if (k > 0) {
      const at = events.get(thresholds[k - 1])!;
      aboveSoFar += at.above;
      belowLeft -= at.below;
    }
    const lo = k > 0 ? thresholds[k - 1] : -Infinity;
    const hi = k < thresholds.length ? thresholds[k] : Infinity;
    const bias = lo < 0 && 0 < hi ? 0 : lo === -Infinity ? hi - 1 : hi === Infinity ? lo + 1 : (lo + hi) / 2;
    const right = aboveSoFar + belowLeft;
    const tie = Math.abs(right - best.right) <= 1e-9 * Math.max(1, right);
    if ((right > best.right && !tie) || (tie && Math.abs(bias) < Math.abs(best.bias))) best = { bias, right };
  }
  return best.bias;
}

export interface TransferResultsContext {
  set: TransferSet;
  /** The run's data: the training split the teacher learned on, and the shared validation and test splits. */
  data: Dataset;
  biasCorrection: boolean;
  log(message: string): void;
}

/** Where the bias is chosen: the validation split when there is one, else the left-out training examples. */
function selectionSplit(ctx: TransferResultsContext): { split: Split; chosenOn: BiasCorrectedResult['chosenOn'] } {
  return ctx.data.validation.count ? { split: ctx.data.validation, chosenOn: 'validation' } : { split: ctx.set.leftOut, chosenOn: 'left-out' };
}

/**
 * `result` with the omitted-class accuracy (runs with omitted classes), and for the distilled
 * student (`correct`) with biasCorrection also the bias-corrected result.
 */
export async function withTransferResults(net: TappedModel, result: ModelResult, ctx: TransferResultsContext, correct = false): Promise<ModelResult> {
  const omitted = ctx.set.summary.omitClasses;
  if (!omitted.length) return result;
  const { data } = ctx;
  const classes = net.numClasses;
  const testLogits = await predictLogits(net, data.test, data.inputShape);
  const out: ModelResult = { ...result, omitted: omittedAccuracy(predictWithBias(testLogits, classes, new Set(), 0), data.test.y, omitted) };
  if (!correct || !ctx.biasCorrection) return out;
  const { split, chosenOn } = selectionSplit(ctx);
  const labels = Array.from(split.y);
  const has = (inOmitted: boolean) => labels.some((y) => omitted.includes(y) === inOmitted);
  if (!has(true) || !has(false)) {
    ctx.log(`bias correction skipped: the ${chosenOn === 'validation' ? 'validation split' : 'left-out training examples'} must hold examples of the omitted and of the other classes`);
    return out;
  }
  const selectionLogits = await predictLogits(net, split, data.inputShape);
  const bias = chooseBias(selectionLogits, split.y, classes, omitted, classWeights(split.y, data.train.y, classes));
  const predicted = predictWithBias(testLogits, classes, new Set(omitted), bias);
  let right = 0;
  for (let i = 0; i < data.test.count; i++) if (predicted[i] === data.test.y[i]) right++;
  out.biasCorrected = {
    bias,
    chosenOn,
    testErrors: data.test.count - right,
    testAccuracy: data.test.count ? right / data.test.count : 0,
    omitted: omittedAccuracy(predicted, data.test.y, omitted),
  };
  return out;
}
