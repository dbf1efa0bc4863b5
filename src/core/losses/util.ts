// Small tensor helpers shared by the loss files (the tfjs namespace comes in as an argument).
import type { LossInputs, Tensor, Tf } from './types';

/** A tap by name, with the names there are when it is missing. */
export function tap(taps: Map<string, Tensor> | undefined, name: string, who: 'student' | 'teacher'): Tensor {
  if (!taps) throw new Error(`this term needs the ${who}'s outputs, but none were given`);
  const t = taps.get(name);
  if (!t) throw new Error(`the ${who} has no layer "${name}" (it has ${[...taps.keys()].join(', ')})`);
  return t;
}

/** The student's and the teacher's taps of one pair. */
export function pairTaps(inputs: LossInputs, pair: { student: string; teacher: string }): { student: Tensor; teacher: Tensor } {
  return { student: tap(inputs.student, pair.student, 'student'), teacher: tap(inputs.teacher, pair.teacher, 'teacher') };
}

/** [B, ...] → [B, prod(...)]. */
export function flatten(tf: Tf, x: Tensor): Tensor {
  return tf.reshape(x, [x.shape[0], -1]);
}

/**
 * Rows scaled to unit L2 norm, as torch's F.normalize(x, dim=1) (eps 1e-12 on the norm). The floor
 * is taken under the square root, sqrt(max(Σx², eps²)) = max(‖x‖, eps): an all-zero row (a dead
 * ReLU channel) then gets a zero gradient, where sqrt's gradient at 0 would give 0·∞ = NaN.
 */
export function normalizeRows(tf: Tf, x: Tensor, eps = 1e-12): Tensor {
  return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), eps * eps)));
}

/** The batch Gram matrix x·xᵀ of [B, D] rows. */
export function gram(tf: Tf, x: Tensor): Tensor {
  return tf.matMul(x as never, x as never, false, true);
}

/**
 * A conv map [B, H, W, C] average-pooled to [B, h, w, C] when its spatial size is larger
 * (RepDistiller's F.adaptive_avg_pool2d for integer ratios): used where two maps must align.
 */
export function poolTo(tf: Tf, x: Tensor, h: number, w: number): Tensor {
  const [, H, W] = x.shape;
  if (H === h && W === w) return x;
  if (H % h !== 0 || W % w !== 0) throw new Error(`cannot pool a ${H}×${W} map to ${h}×${w} (not an integer ratio)`);
  return tf.avgPool(x as never, [H / h, W / w], [H / h, W / w], 'valid');
}

/** Identity forward, zero gradient: a constant for the tape, whatever produced it. */
export function stopGradient(tf: Tf, x: Tensor): Tensor {
  const op = tf.customGrad((...args: unknown[]) => ({
    value: tf.clone(args[0] as Tensor),
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  }));
  return op(x) as Tensor;
}
