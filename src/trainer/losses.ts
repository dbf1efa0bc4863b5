// Distillation losses, defined exactly as RepDistiller's distiller_zoo (KD.py, FitNet.py/HintLoss).
// Every function returns tensors; call them inside tf.tidy / tf.variableGrads.
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../core/config/schema';
import { termId } from '../core/protocol';
import type { Connector } from './connectors';

/** softmax(z / T) over the last axis. */
export function softmaxWithTemperature(logits: tf.Tensor, T: number): tf.Tensor {
  return tf.tidy(() => tf.softmax(T === 1 ? logits : tf.div(logits, T)));
}

/** Identity forward, zero gradient: teacher tensors are constants for the student's loss. */
const stopGradientOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/** Hard-label cross-entropy: mean over the batch of −log softmax(z)[y]. `labels` are int32 class ids. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const numClasses = logits.shape[logits.shape.length - 1];
    const logp = tf.logSoftmax(logits as tf.Tensor2D);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), numClasses).asType('float32');
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1))) as tf.Scalar;
  });
}

/**
 * Hinton's soft-target loss as RepDistiller KD.py:
 * `F.kl_div(log_softmax(y_s/T), softmax(y_t/T), size_average=False) * T**2 / batch`, i.e.
 * T²·Σ_c p_t(c)·(log p_t(c) − log p_s(c)) summed over classes and averaged over the batch.
 * The teacher's logits are constants (no gradient). Its gradient wrt the student logits is
 * T·(p_s − p_t)/batch.
 */
export function kdLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, T: number): tf.Scalar {
  return tf.tidy(() => {
    const batch = studentLogits.shape[0];
    const logPs = tf.logSoftmax(tf.div(studentLogits, T) as tf.Tensor2D);
    const logPt = tf.logSoftmax(tf.div(stopGradient(teacherLogits), T) as tf.Tensor2D);
    const pt = tf.exp(logPt); // p_t = 0 gives 0·(finite) = 0, as kl_div's convention
    const kl = tf.sum(tf.mul(pt, tf.sub(logPt, logPs)));
    return tf.mul(kl, (T * T) / batch) as tf.Scalar;
  });
}

/** FitNet hint (RepDistiller HintLoss = nn.MSELoss()): mean over all elements of (s − t)². */
export function hintLoss(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  if (student.shape.length !== teacher.shape.length || student.shape.some((d, i) => d !== teacher.shape[i]))
    throw new Error(`hint: shapes differ, student [${student.shape.join('×')}] vs teacher [${teacher.shape.join('×')}]`);
  return tf.tidy(() => tf.mean(tf.squaredDifference(student, stopGradient(teacher))) as tf.Scalar);
}

export interface LossContext {
  /** Student taps from `TappedModel.forward` (must include `logits`). */
  studentTaps: Map<string, tf.Tensor>;
  /** Teacher taps (needed by kd and hint terms). */
  teacherTaps?: Map<string, tf.Tensor>;
  /** True class ids, int32 [batch] (needed by ce). */
  labels?: tf.Tensor1D;
  /** Connectors of the hint terms by termId; a missing one means identity. */
  connectors?: Map<string, Connector>;
}

function tap(taps: Map<string, tf.Tensor> | undefined, name: string, who: string): tf.Tensor {
  if (!taps) throw new Error(`a loss term needs the ${who}'s outputs, but none were given`);
  const t = taps.get(name);
  if (!t) throw new Error(`the ${who} has no layer "${name}" (it has ${[...taps.keys()].join(', ')})`);
  return t;
}

/** A hint term's pair: the student's map after its connector, and the teacher's map. */
export function hintPair(term: Extract<LossTerm, { type: 'hint' }>, ctx: LossContext): { student: tf.Tensor; teacher: tf.Tensor } {
  const s = tap(ctx.studentTaps, term.student, 'student');
  const t = tap(ctx.teacherTaps, term.teacher, 'teacher');
  const connector = ctx.connectors?.get(termId(term));
  return { student: connector ? connector.apply(s) : s, teacher: t };
}

/** One term's raw (unweighted) value. `T` is the distillation temperature; a kd term's own wins. */
export function termLoss(term: LossTerm, T: number, ctx: LossContext): tf.Scalar {
  switch (term.type) {
    case 'ce': {
      if (!ctx.labels) throw new Error('a ce term needs the labels');
      return crossEntropy(tap(ctx.studentTaps, 'logits', 'student'), ctx.labels);
    }
    case 'kd':
      return kdLoss(tap(ctx.studentTaps, 'logits', 'student'), tap(ctx.teacherTaps, 'logits', 'teacher'), term.temperature ?? T);
    case 'hint':
      return tf.tidy(() => {
        const { student, teacher } = hintPair(term, ctx);
        return hintLoss(student, teacher);
      });
    default:
      throw new Error(`unknown loss term ${(term as { type: string }).type}`);
  }
}

/**
 * The student's loss: total = Σ weight·term, and each term's raw value under `termId(term)` for
 * logging. Terms with the same id (e.g. two kd terms) are logged summed under that id.
 */
export function studentLoss(terms: LossTerm[], T: number, ctx: LossContext): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  if (terms.length === 0) throw new Error('the student loss needs at least one term');
  const values = new Map<string, tf.Scalar[]>();
  const weighted: tf.Scalar[] = [];
  for (const term of terms) {
    const value = termLoss(term, T, ctx);
    const id = termId(term);
    values.set(id, [...(values.get(id) ?? []), value]);
    weighted.push(tf.mul(value, term.weight) as tf.Scalar);
  }
  // No intermediate is disposed here: the gradient tape may still need it. Run inside tf.tidy /
  // tf.variableGrads so the intermediates are freed.
  const parts: Record<string, tf.Scalar> = {};
  for (const [id, vs] of values) parts[id] = vs.length === 1 ? vs[0] : (tf.addN(vs) as tf.Scalar);
  const total = weighted.length === 1 ? weighted[0] : (tf.addN(weighted) as tf.Scalar);
  return { total, parts };
}

/**
 * Runs `f` (a forward pass plus `studentLoss`) under tf.variableGrads with an explicit var list and
 * returns the total, the raw parts and the gradients. All returned tensors are the caller's to
 * dispose (e.g. `tf.dispose([r.total, r.parts, r.grads])`); everything else is freed here.
 */
export function lossAndGradients(
  f: () => { total: tf.Scalar; parts: Record<string, tf.Scalar> },
  varList: tf.Variable[],
): { total: tf.Scalar; parts: Record<string, tf.Scalar>; grads: tf.NamedTensorMap } {
  let parts: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = f();
    parts = {};
    for (const [k, v] of Object.entries(r.parts)) parts[k] = tf.keep(v);
    return r.total;
  }, varList);
  return { total: value, parts, grads };
}
