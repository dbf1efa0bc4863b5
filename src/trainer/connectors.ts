// Trainable connectors (FitNet's regressor) that map a student layer onto a teacher layer's shape
// for feature losses. Their variables train together with the student.
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../core/config/schema';
import { resolveConnector, type ConnectorKind } from '../core/models';
import { termId } from '../core/protocol';

export interface Connector {
  readonly kind: ConnectorKind;
  /** Maps a batch of student activations [B, ...studentShape] to [B, ...teacherShape]. */
  apply(x: tf.Tensor): tf.Tensor;
  /** Variables to hand to the optimiser with the student's (empty for `none`). */
  readonly trainableWeights: tf.Variable[];
  /** The same list as `trainableWeights`. */
  readonly trainableVariables: tf.Variable[];
  dispose(): void;
}

let created = 0;
const eqShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: number[]) => `[${s.join('×')}]`;

/**
 * `none`: identity (shapes must be equal). `linear`: x·W + b, student units → teacher units.
 * `conv1x1`: a 1×1 convolution (+ bias), student channels → teacher channels, same spatial size.
 * Shapes exclude the batch dimension. W is Glorot-uniform from `seed`, b starts at zero. The
 * variables are named `connector<n>/kernel` and `connector<n>/bias` (unique in the process), so a
 * weight-decay filter on /kernel/ treats them like the layers' kernels.
 */
export function createConnector(kind: ConnectorKind, studentShape: number[], teacherShape: number[], seed: number): Connector {
  if (kind === 'none') {
    if (!eqShape(studentShape, teacherShape)) throw new Error(`connector none needs equal shapes, got student ${fmt(studentShape)} and teacher ${fmt(teacherShape)}`);
    return { kind, apply: (x) => x, trainableWeights: [], trainableVariables: [], dispose() {} };
  }
  let kernel: tf.Variable;
  let bias: tf.Variable;
  let apply: (x: tf.Tensor) => tf.Tensor;
  if (kind === 'linear') {
    if (studentShape.length !== 1 || teacherShape.length !== 1)
      throw new Error(`a linear connector maps dense layers, got student ${fmt(studentShape)} and teacher ${fmt(teacherShape)}`);
    const [s] = studentShape;
    const [t] = teacherShape;
    const id = ++created;
    kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed }).apply([s, t]) as tf.Tensor2D), true, `connector${id}/kernel`);
    bias = tf.variable(tf.zeros([t]), true, `connector${id}/bias`);
    apply = (x) => tf.add(tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D), bias);
  } else if (kind === 'conv1x1') {
    if (studentShape.length !== 3 || teacherShape.length !== 3 || studentShape[0] !== teacherShape[0] || studentShape[1] !== teacherShape[1])
      throw new Error(`a conv1x1 connector needs conv maps of equal spatial size, got student ${fmt(studentShape)} and teacher ${fmt(teacherShape)}`);
    const cs = studentShape[2];
    const ct = teacherShape[2];
    const id = ++created;
    kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed }).apply([1, 1, cs, ct]) as tf.Tensor4D), true, `connector${id}/kernel`);
    bias = tf.variable(tf.zeros([ct]), true, `connector${id}/bias`);
    apply = (x) => tf.add(tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same'), bias);
  } else {
    throw new Error(`unknown connector kind ${String(kind)}`);
  }
  return {
    kind,
    apply,
    trainableWeights: [kernel, bias],
    trainableVariables: [kernel, bias],
    dispose() {
      kernel.dispose();
      bias.dispose();
    },
  };
}

/**
 * One connector per hint term, keyed by `termId(term)`, resolved (`auto` → none/linear/conv1x1) from
 * the two models' tap shapes. Throws with core's message when no connector fits.
 */
export function createConnectorsForTerms(
  terms: LossTerm[],
  studentTaps: { name: string; shape: number[] }[],
  teacherTaps: { name: string; shape: number[] }[],
  seed: number,
): Map<string, Connector> {
  const out = new Map<string, Connector>();
  terms.forEach((term, i) => {
    if (term.type !== 'hint') return;
    const s = studentTaps.find((l) => l.name === term.student);
    const t = teacherTaps.find((l) => l.name === term.teacher);
    if (!s) throw new Error(`hint: the student has no layer "${term.student}" (it has ${studentTaps.map((l) => l.name).join(', ')})`);
    if (!t) throw new Error(`hint: the teacher has no layer "${term.teacher}" (it has ${teacherTaps.map((l) => l.name).join(', ')})`);
    const r = resolveConnector(term.connector ?? 'auto', s, t);
    if ('error' in r) throw new Error(`hint ${termId(term)}: ${r.error}`);
    out.set(termId(term), createConnector(r.connector, s.shape, t.shape, seed + 7919 * (i + 1)));
  });
  return out;
}

/** All connector variables, for the optimiser's var list. */
export function connectorVariables(connectors: Map<string, Connector> | undefined): tf.Variable[] {
  return connectors ? [...connectors.values()].flatMap((c) => c.trainableWeights) : [];
}
