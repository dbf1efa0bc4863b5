// Trainable connectors (FitNet's regressor, AB's connector) that map a student layer onto a
// teacher layer's shape. Their variables train with the student and are never exported with it.
import { resolveConnector, type ConnectorKind } from '../models';
import { createBatchNorm } from './batchNorm';
import type { Layer, LayerPair, Tensor, Tf, Variable } from './types';

export interface Connector {
  readonly kind: ConnectorKind;
  /** Maps a batch of student activations [B, ...studentShape] to [B, ...teacherShape]; `training` picks the batch norm's statistics. */
  apply(x: Tensor, training: boolean): Tensor;
  readonly variables: Variable[];
  dispose(): void;
}

let created = 0;
const fmt = (s: number[]) => `[${s.join('×')}]`;

/**
 * `none`: identity. `linear`: x·W + b, student units → teacher units. `conv1x1`: a 1×1 convolution
 * (+ bias), student channels → teacher channels, same spatial size. W is Glorot-uniform from
 * `seed`, b starts at zero. Variables are named `connector<n>/kernel` and `/bias` (unique in the
 * process), so the weight-decay filter on /kernel/ treats them like the layers' kernels. With
 * `batchNorm`, a batch norm follows the map (RepDistiller's ConvReg without its ReLU, as its
 * Connector uses it); `none` stays the identity, as there.
 */
export function createConnector(tf: Tf, kind: ConnectorKind, studentShape: number[], teacherShape: number[], seed: number, batchNorm = false): Connector {
  if (kind === 'none') {
    if (studentShape.join() !== teacherShape.join()) throw new Error(`connector none needs equal shapes, got student ${fmt(studentShape)} and teacher ${fmt(teacherShape)}`);
    return { kind, apply: (x) => x, variables: [], dispose() {} };
  }
  const id = ++created;
  let kernel: Variable;
  let bias: Variable;
  let apply: (x: Tensor) => Tensor;
  if (kind === 'linear') {
    if (studentShape.length !== 1 || teacherShape.length !== 1)
      throw new Error(`a linear connector maps dense layers, got student ${fmt(studentShape)} and teacher ${fmt(teacherShape)}`);
    kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed }).apply([studentShape[0], teacherShape[0]])), true, `connector${id}/kernel`);
    bias = tf.variable(tf.zeros([teacherShape[0]]), true, `connector${id}/bias`);
    apply = (x) => tf.add(tf.matMul(x as never, kernel as never), bias);
  } else if (kind === 'conv1x1') {
    if (studentShape.length !== 3 || teacherShape.length !== 3 || studentShape[0] !== teacherShape[0] || studentShape[1] !== teacherShape[1])
      throw new Error(`a conv1x1 connector needs conv maps of equal spatial size, got student ${fmt(studentShape)} and teacher ${fmt(teacherShape)}`);
    kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed }).apply([1, 1, studentShape[2], teacherShape[2]])), true, `connector${id}/kernel`);
    bias = tf.variable(tf.zeros([teacherShape[2]]), true, `connector${id}/bias`);
    apply = (x) => tf.add(tf.conv2d(x as never, kernel as never, 1, 'same'), bias);
  } else {
    throw new Error(`unknown connector kind ${String(kind)}`);
  }
  const norm = batchNorm ? createBatchNorm(tf, `connector${id}/bn`, teacherShape[teacherShape.length - 1]) : undefined;
  return {
    kind,
    apply: norm ? (x, training) => norm.apply(apply(x), training) : apply,
    variables: [kernel, bias, ...(norm?.variables ?? [])],
    dispose() {
      kernel.dispose();
      bias.dispose();
      norm?.dispose();
    },
  };
}

/** The connector a pair needs (`auto` resolved from the shapes), or throws core's message. */
export function connectorForPair(tf: Tf, requested: 'auto' | ConnectorKind, pair: LayerPair<Layer>, seed: number, batchNorm = false): Connector {
  const r = resolveConnector(requested, pair.student, pair.teacher);
  if ('error' in r) throw new Error(r.error);
  return createConnector(tf, r.connector, pair.student.shape, pair.teacher.shape, seed, batchNorm);
}
