// Shared set-up for the per-loss golden tests: run one configured term through the registry and
// the trainer's term runtime (the code under test) on fixed inputs, and plain-JS helpers to build
// those inputs. Expected values are never computed here: each test computes its own from the
// published formula.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm } from '../../../src/core/losses';
import type { Layer, LossInputs } from '../../../src/core/losses/types';
import { type ActiveTerm, activateTerms, disposeTerms, termValue } from '../../../src/trainer/losses';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** |actual − expected| ≤ tol · max(1, |expected|). */
export function close(actual: number, expected: number, tol = 1e-5, msg = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${msg} expected ${expected}, got ${actual}`);
}

/** Deterministic pseudo-random numbers in [-1, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** A flat array of n values in [-scale, scale). */
export function randArray(n: number, seed: number, scale = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => r() * scale);
}

export interface TapSpec {
  /** Per-example shape (no batch): [units] or [h, w, c]. */
  shape: number[];
  /** Row-major values for the whole batch: batch × prod(shape). */
  values: number[];
}

export interface Case {
  term: LossTerm;
  batch: number;
  student: Record<string, TapSpec>;
  teacher?: Record<string, TapSpec>;
  labels?: number[];
  indices?: number[];
  temperature?: number;
  epoch?: number;
  epochs?: number;
  numClasses?: number;
  trainCount?: number;
  seed?: number;
}

const layersOf = (taps: Record<string, TapSpec> | undefined): Layer[] | undefined =>
  taps && Object.entries(taps).map(([name, t]) => ({ name, shape: t.shape }));

/** Activates the case's term (creating its state) — dispose with `disposeTerms([active])`. */
export function activate(c: Case): ActiveTerm {
  return activateTerms([c.term], {
    studentLayers: layersOf(c.student)!,
    teacherLayers: layersOf(c.teacher),
    numClasses: c.numClasses ?? 10,
    trainCount: c.trainCount ?? 100,
    seed: c.seed ?? 1,
  })[0];
}

/** The tensors of a case: student taps as tf.variable-free tensors (wrap them yourself for gradients). */
export function inputsOf(c: Case, student?: Map<string, tf.Tensor>): LossInputs {
  const taps = (specs: Record<string, TapSpec>) => new Map(Object.entries(specs).map(([n, t]) => [n, tf.tensor(t.values, [c.batch, ...t.shape])]));
  return {
    tf,
    student: student ?? taps(c.student),
    teacher: c.teacher && taps(c.teacher),
    labels: c.labels && tf.tensor1d(c.labels, 'int32'),
    indices: c.indices && tf.tensor1d(c.indices, 'int32'),
    temperature: c.temperature ?? 4,
    epoch: c.epoch ?? 1,
    epochs: c.epochs ?? 1,
    training: true,
  };
}

/** The term's value on the case's inputs (state freshly created, then disposed). */
export function valueOf(c: Case): number {
  const active = activate(c);
  try {
    return tf.tidy(() => termValue(active, inputsOf(c)).dataSync()[0]);
  } finally {
    disposeTerms([active]);
  }
}

/**
 * Gradients of the term's value wrt every student tap (as variables), the teacher's taps (as
 * variables too: the loss must give them none) and the term's own variables.
 */
export function gradientsOf(c: Case, active = activate(c)): { student: Record<string, number[]>; teacher: Record<string, number[] | undefined>; state: number[][] } {
  const sv = Object.entries(c.student).map(([n, t]) => [n, tf.variable(tf.tensor(t.values, [c.batch, ...t.shape]), true, `test-s-${n}-${Math.random()}`)] as const);
  const tv = Object.entries(c.teacher ?? {}).map(([n, t]) => [n, tf.variable(tf.tensor(t.values, [c.batch, ...t.shape]), true, `test-t-${n}-${Math.random()}`)] as const);
  try {
    const stateVars = active.state?.variables ?? [];
    const { grads } = tf.variableGrads(() => {
      const inputs = inputsOf(c, new Map(sv.map(([n, v]) => [n, v as tf.Tensor])));
      if (tv.length) inputs.teacher = new Map(tv.map(([n, v]) => [n, v as tf.Tensor]));
      return termValue(active, inputs);
    }, [...sv.map(([, v]) => v), ...tv.map(([, v]) => v), ...stateVars]);
    const arr = (v: tf.Variable) => (grads[v.name] ? Array.from(grads[v.name].dataSync()) : undefined);
    const out = {
      student: Object.fromEntries(sv.map(([n, v]) => [n, arr(v) ?? []])),
      teacher: Object.fromEntries(tv.map(([n, v]) => [n, arr(v)])),
      state: stateVars.map((v) => arr(v) ?? []),
    };
    tf.dispose(Object.values(grads));
    return out;
  } finally {
    tf.dispose([...sv.map(([, v]) => v), ...tv.map(([, v]) => v)]);
    disposeTerms([active]);
  }
}

/** True when the teacher got no gradient (none at all, or all zeros). */
export const teacherUntouched = (g: Record<string, number[] | undefined>) => Object.values(g).every((v) => !v || v.every((x) => x === 0));

/** Central finite differences of the term's value wrt one student tap's entries (float64 not available: use h ≈ 1e-2). */
export function finiteDifference(c: Case, tapName: string, entries: number[], h = 1e-2): number[] {
  return entries.map((k) => {
    const at = (delta: number) => {
      const values = c.student[tapName].values.slice();
      values[k] += delta;
      return valueOf({ ...c, student: { ...c.student, [tapName]: { ...c.student[tapName], values } } });
    };
    return (at(h) - at(-h)) / (2 * h);
  });
}
