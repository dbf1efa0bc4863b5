// The student's loss at run time: each configured term with its registered definition and its
// trainable state, summed by weight. Generic over the registry (src/core/losses): no loss is
// named here.
import * as tf from '@tensorflow/tfjs';
import { type AnyLoss, lossDefinition, type LossTerm, termId, termPairs } from '../core/losses';
import type { Layer, LossInputs, LossState } from '../core/losses/types';

/** One configured term, ready to compute. */
export interface ActiveTerm {
  term: LossTerm;
  id: string;
  def: AnyLoss;
  state: LossState | undefined;
}

export interface TermSetup {
  studentLayers: Layer[];
  teacherLayers?: Layer[];
  numClasses: number;
  trainCount: number;
  seed: number;
}

function layer(layers: Layer[] | undefined, name: string, who: string): Layer {
  const l = layers?.find((x) => x.name === name);
  if (!l) throw new Error(`the ${who} has no layer "${name}" (it has ${(layers ?? []).map((x) => x.name).join(', ')})`);
  return l;
}

/** Resolves each term's layers and creates its state (connectors, embeddings, memory banks). */
export function activateTerms(terms: LossTerm[], setup: TermSetup): ActiveTerm[] {
  const active: ActiveTerm[] = [];
  try {
    terms.forEach((term, i) => {
      const def = lossDefinition(term.type);
      const id = termId(term);
      const pairs = termPairs(term).map((p) => ({ student: layer(setup.studentLayers, p.student, 'student'), teacher: layer(setup.teacherLayers, p.teacher, 'teacher') }));
      // The validator runs these checks when it knows the teacher's shapes; a teacher loaded from a
      // file or an earlier run is only known now.
      const problems = def.check?.(term, { pairs, trainCount: setup.trainCount, numClasses: setup.numClasses }) ?? [];
      if (problems.length) throw new Error(`${id}: ${problems.map((p) => p.message).join('; ')}`);
      let state: LossState | undefined;
      try {
        state = def.createState?.(term, { tf, pairs, numClasses: setup.numClasses, trainCount: setup.trainCount, seed: setup.seed + 7919 * (i + 1) });
      } catch (e) {
        throw new Error(`${id}: ${(e as Error).message}`);
      }
      active.push({ term, id, def, state });
    });
  } catch (e) {
    disposeTerms(active);
    throw e;
  }
  return active;
}

/** Every term's trainable variables, for the optimiser's var list. */
export const termVariables = (active: ActiveTerm[]): tf.Variable[] => active.flatMap((a) => a.state?.variables ?? []);

export function disposeTerms(active: ActiveTerm[]): void {
  for (const a of active) a.state?.dispose();
}

/** One term's raw (unweighted) value. */
export function termValue(a: ActiveTerm, inputs: LossInputs): tf.Scalar {
  const v = a.def.compute(a.term, inputs, a.state);
  if (v.rank !== 0) throw new Error(`${a.id}: the loss must be a scalar, got shape [${v.shape.join(', ')}]`);
  return v as tf.Scalar;
}

/**
 * The student's loss: total = Σ weight·term, and each term's raw value under its id for logging.
 * Nothing is disposed here (the gradient tape may still need it): run inside tf.tidy or
 * tf.variableGrads.
 */
export function studentLoss(active: ActiveTerm[], inputs: LossInputs): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  if (active.length === 0) throw new Error('the student loss needs at least one term');
  const parts: Record<string, tf.Scalar> = {};
  const weighted: tf.Scalar[] = [];
  for (const a of active) {
    const value = termValue(a, inputs);
    parts[a.id] = value;
    weighted.push(tf.mul(value, a.term.weight));
  }
  return { total: weighted.length === 1 ? weighted[0] : tf.addN(weighted), parts };
}
