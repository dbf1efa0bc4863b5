// torch.nn.BatchNorm1d / BatchNorm2d as RepDistiller's helper modules use them (AB's ConvReg
// connector, FT's Translator), over the last axis: a channels-last map's channels, or a dense
// layer's units. Training: each channel normalised by its batch mean and biased variance over
// every other axis, and the running averages moved towards them (momentum 0.1; the running
// variance from the unbiased batch variance, as torch). Otherwise (probes, evaluation):
// normalised by the running averages. γ starts at 1, β at 0; ε = 1e-5 (torch's defaults).
import { stopGradient } from './util';
import type { Tensor, Tf, Variable } from './types';

const EPSILON = 1e-5;
const MOMENTUM = 0.1;

export interface BatchNorm {
  apply(x: Tensor, training: boolean): Tensor;
  /** γ and β (trainable); the running averages are state, not variables. */
  readonly variables: Variable[];
  dispose(): void;
}

/** A batch norm over `channels` channels; variables named `<name>/gamma`, `/beta`, `/running_mean`, `/running_var`. */
export function createBatchNorm(tf: Tf, name: string, channels: number): BatchNorm {
  const gamma = tf.variable(tf.ones([channels]), true, `${name}/gamma`);
  const beta = tf.variable(tf.zeros([channels]), true, `${name}/beta`);
  const runningMean = tf.variable(tf.zeros([channels]), false, `${name}/running_mean`);
  const runningVar = tf.variable(tf.ones([channels]), false, `${name}/running_var`);
  const normalise = (x: Tensor, mean: Tensor, variance: Tensor) => tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPSILON))), gamma), beta);
  return {
    apply(x, training) {
      if (!training) return normalise(x, runningMean, runningVar);
      const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
      const { mean, variance } = tf.moments(x, axes);
      const n = x.size / channels;
      const [m, v] = [stopGradient(tf, mean), stopGradient(tf, variance)];
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - MOMENTUM), tf.mul(m, MOMENTUM)));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - MOMENTUM), tf.mul(v, (MOMENTUM * n) / Math.max(n - 1, 1))));
      return normalise(x, mean, variance);
    },
    variables: [gamma, beta],
    dispose() {
      for (const v of [gamma, beta, runningMean, runningVar]) v.dispose();
    },
  };
}
