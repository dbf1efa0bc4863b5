// Several trained networks as one teacher (Hinton et al. 2015 §1: an ensemble's knowledge
// compressed into one model), or as one predictor (born-again generations' ensemble).
//
// Its only tap is `logits`, so every loss that reads the teacher's predictions works on it
// unchanged. Averaging probabilities is made exact for those losses by the tap itself: with
// z_ens = T·log(1/K Σ_k softmax(z_k/T)), softmax(z_ens/T) is the members' mean soft target at the
// distillation temperature T. Its predictions (accuracy, latency) average at T = 1.
import * as tf from '@tensorflow/tfjs';
import type { TappedModel } from './models';

export type EnsembleAverage = 'probabilities' | 'logits';

/** z_ens such that softmax(z_ens / t) is the mean of softmax(z_k / t), or the mean logits. */
function combine(logits: tf.Tensor2D[], how: EnsembleAverage, t: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (how === 'logits') return tf.div(tf.addN(logits), logits.length) as tf.Tensor2D;
    // log of the mean of softmaxes, from log-softmaxes: logsumexp over members − log K (no underflow).
    const logProbs = tf.stack(logits.map((z) => tf.logSoftmax(tf.div(z, t))));
    return tf.mul(tf.sub(tf.logSumExp(logProbs, 0), Math.log(logits.length)), t) as tf.Tensor2D;
  });
}

/**
 * The ensemble of `members` (which it does not own: dispose them yourself). `temperature` is the
 * one its training-time `forward` averages at (the distillation T).
 */
export function ensembleModel(members: TappedModel[], how: EnsembleAverage, temperature: number): TappedModel {
  const first = members[0];
  const notOneModel = (): never => {
    throw new Error('an ensemble is not one tfjs model: it cannot be saved or trained');
  };
  const at = (x: tf.Tensor, t: number) => tf.tidy(() => combine(members.map((m) => m.predict(x)), how, t));
  return {
    get model() {
      return notOneModel();
    },
    get logitsModel() {
      return notOneModel();
    },
    taps: [{ name: 'logits', kind: 'logits', shape: [first.numClasses] }],
    tapShapes: new Map([['logits', [first.numClasses]]]),
    inputShape: first.inputShape,
    numClasses: first.numClasses,
    paramCount: members.reduce((a, m) => a + m.paramCount, 0),
    flops: members.reduce((a, m) => a + m.flops, 0),
    forward: (x) => new Map([['logits', at(x, temperature)]]),
    logits: (x) => at(x, 1),
    predict: (x) => at(x, 1),
    trainableVariables: [],
    dispose: () => {},
  };
}
