// torch's nn.Linear as loss terms use it for their embedding heads (CC's LinearEmbed, CRD's
// Embed): a trainable x·W + b on flattened features, with torch's default initialisation.
import type { Tensor, Tf, Variable } from './types';
import { flatten } from './util';

export interface Linear {
  kernel: Variable;
  bias: Variable;
}

/** nn.Linear(inDim, outDim) with its default init: kernel and bias U(±1/√inDim), seeded. */
export function linear(tf: Tf, name: string, inDim: number, outDim: number, seed: number): Linear {
  const bound = 1 / Math.sqrt(inDim);
  const uniform = (shape: number[], s: number) => tf.tidy(() => tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: s }).apply(shape));
  return {
    kernel: tf.variable(uniform([inDim, outDim], seed), true, `${name}/kernel`),
    bias: tf.variable(uniform([outDim], seed + 1), true, `${name}/bias`),
  };
}

/** [B, ...] → [B, outDim]: the features flattened, then x·W + b. */
export const applyLinear = (tf: Tf, l: Linear, x: Tensor): Tensor => tf.add(tf.matMul(flatten(tf, x) as never, l.kernel as never), l.bias);
