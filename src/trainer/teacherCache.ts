// The frozen teacher's outputs on the training split, computed once per stage instead of once per
// student step.
//
// Why: the distilled student's loss needs the teacher's logits (and, for feature terms, its tapped
// maps) for every batch. The teacher does not change during that stage and runs with dropout off,
// so when the student's inputs are not augmented (no jitter) its outputs for an example are the
// same at every epoch: one forward pass over the training split replaces one per step and epoch.
// In the Hinton example that forward pass is ~38 % of a distilled step's FLOPs.
//
// The outputs live in plain Float32Arrays (not tensors): a batch's rows are gathered in the
// training order and made into tensors like the input batch is. Memory: examples × the summed
// sizes of the cached taps × 4 bytes (Hinton, logits only: 8,000 × 10 × 4 = 320 kB; a 1,200-wide
// hint tap adds 38 MB); above MAX_TEACHER_CACHE_BYTES the teacher runs per step as before.

import * as tf from '@tensorflow/tfjs';
import { gatherRows } from './batches';
import type { Split } from './data';
import { termPairs } from '../core/losses';
import type { ActiveTerm } from './losses';
import type { TappedModel } from './models';
import { readAll } from './reads';

/** The most memory a cache may take (256 MiB); a larger one is not built. */
export const MAX_TEACHER_CACHE_BYTES = 256 * 1024 * 1024;
const BATCH = 500;

/**
 * The teacher taps a list of loss terms reads: `logits` for any term that uses the teacher, and
 * every teacher layer a layer-pair term names.
 */
export function teacherTapsUsed(terms: readonly ActiveTerm[]): string[] {
  const names = new Set<string>();
  for (const a of terms) {
    if (!a.def.uses.teacher) continue;
    names.add('logits');
    for (const p of termPairs(a.term)) names.add(p.teacher);
  }
  return [...names];
}

/** Bytes a cache of these taps over `count` examples takes. */
export function teacherCacheBytes(teacher: TappedModel, tapNames: readonly string[], count: number): number {
  return tapNames.reduce((sum, name) => {
    const shape = teacher.tapShapes.get(name);
    if (!shape) throw new Error(`teacher has no layer ${name}`);
    return sum + count * shape.reduce((a, b) => a * b, 1) * 4;
  }, 0);
}

export interface TeacherCache {
  readonly tapNames: readonly string[];
  readonly bytes: number;
  /**
   * The cached taps for the training examples `order[start..end)`, as new tensors (inside a
   * tf.tidy they are freed with the step's other tensors).
   */
  taps(order: ArrayLike<number>, start: number, end: number): Map<string, tf.Tensor>;
}

/**
 * Runs `teacher` (inference mode) over every example of `split` once and keeps `tapNames`' values.
 * Returns undefined when they would take more than `maxBytes`.
 */
export async function buildTeacherCache(
  teacher: TappedModel,
  split: Split,
  inputShape: readonly number[],
  tapNames: readonly string[],
  maxBytes = MAX_TEACHER_CACHE_BYTES,
): Promise<TeacherCache | undefined> {
  const bytes = teacherCacheBytes(teacher, tapNames, split.count);
  if (bytes > maxBytes) return undefined;
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  const shapes = tapNames.map((name) => teacher.tapShapes.get(name)!);
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const values = sizes.map((size) => new Float32Array(split.count * size));
  for (let start = 0; start < split.count; start += BATCH) {
    const end = Math.min(split.count, start + BATCH);
    const outs = tf.tidy(() => {
      const taps = teacher.forward(tf.tensor(split.x.subarray(start * rowSize, end * rowSize), [end - start, ...inputShape]), false);
      return tapNames.map((name) => taps.get(name)!);
    });
    (await readAll(outs)).forEach((v, i) => values[i].set(v, start * sizes[i]));
    tf.dispose(outs);
  }
  return {
    tapNames,
    bytes,
    taps(order, start, end) {
      return new Map(tapNames.map((name, i) => [name, tf.tensor(gatherRows(values[i], sizes[i], order, start, end), [end - start, ...shapes[i]])]));
    },
  };
}
