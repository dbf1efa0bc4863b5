// How good and how costly a trained network is: test errors, parameters, FLOPs, latency.
import * as tf from '@tensorflow/tfjs';
import type { ModelResult, RunResults } from '../core/protocol';
import type { Dataset, Split } from './data';
import { checkOutputsFinite } from './finiteCheck';
import type { TappedModel } from './models';
import { readAll } from './reads';

const EVAL_BATCH = 500;

/** Logits of the whole split, in batches, with dropout off. */
export async function predictLogits(net: TappedModel, split: Split, inputShape: number[]): Promise<Float32Array> {
  const classes = net.numClasses;
  const out = new Float32Array(split.count * classes);
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  for (let start = 0; start < split.count; start += EVAL_BATCH) {
    const end = Math.min(split.count, start + EVAL_BATCH);
    const logits = tf.tidy(() => net.predict(tf.tensor(split.x.subarray(start * rowSize, end * rowSize), [end - start, ...inputShape])));
    try {
      out.set((await readAll([logits]))[0], start * classes);
    } finally {
      logits.dispose();
    }
  }
  return out;
}

export function countCorrect(logits: Float32Array, labels: ArrayLike<number>, classes: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/** One split's evaluation: accuracy and errors, and each example's predicted class in split order. */
export interface Evaluation {
  accuracy: number;
  errors: number;
  count: number;
  predicted: Int32Array;
}

/** Each example's predicted class: the argmax of its logits, the first maximum on ties (as countCorrect). */
export function predictedClasses(logits: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(logits.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

export async function evaluate(net: TappedModel, split: Split, inputShape: number[]): Promise<Evaluation> {
  const logits = await predictLogits(net, split, inputShape);
  checkOutputsFinite(logits, net.numClasses); // argmax of NaN would still count as an answer
  const predicted = predictedClasses(logits, net.numClasses);
  let correct = 0;
  for (let i = 0; i < split.count; i++) if (predicted[i] === split.y[i]) correct++;
  return { accuracy: split.count ? correct / split.count : 0, errors: split.count - correct, count: split.count, predicted };
}

/** Median single-example inference latency in ms (until the logits are read back), after warm-up. */
export async function measureLatency(net: TappedModel, inputShape: number[], runs = 30): Promise<number> {
  const x = tf.zeros([1, ...inputShape]);
  const times: number[] = [];
  for (let i = 0; i < runs + 5; i++) {
    const t0 = performance.now();
    const y = tf.tidy(() => net.predict(x));
    await readAll([y]);
    y.dispose();
    if (i >= 5) times.push(performance.now() - t0);
  }
  x.dispose();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * A finished network's test result and cost: the one evaluation of the test set its weights get.
 * Params and FLOPs are those the model was built or loaded with. `predicted`: that evaluation's
 * class per test example (test-predictions.json), so the run folder's predictions are those the
 * result counts.
 */
export async function resultOf(net: TappedModel, data: Dataset): Promise<{ result: ModelResult; predicted: Int32Array }> {
  const test = await evaluate(net, data.test, data.inputShape);
  return {
    result: {
      testAccuracy: test.accuracy,
      testErrors: test.errors,
      testCount: test.count,
      params: net.paramCount,
      flops: net.flops,
      latencyMs: await measureLatency(net, data.inputShape),
    },
    predicted: test.predicted,
  };
}

/**
 * The headline ratios and the gap closed. `frozenTeacher`: whether the headline teacher taught the
 * student without learning from it (offline, born-again); online peers learn from each other, so
 * the baseline → teacher gap means nothing there.
 */
export function finishResults(r: RunResults, frozenTeacher = true): RunResults {
  const { teacher, student, baseline } = r;
  if (teacher && student) {
    r.ratios = { params: teacher.params / student.params, flops: teacher.flops / student.flops, latency: teacher.latencyMs / student.latencyMs };
  }
  if (frozenTeacher && teacher && student && baseline && baseline.testErrors !== teacher.testErrors) {
    r.gapRecovered = (baseline.testErrors - student.testErrors) / (baseline.testErrors - teacher.testErrors);
  }
  return r;
}
