// NaN and Infinity caught where they start, with their cause named. A float32 network fed one
// value outside ±3.4e38 (a CSV cell of 1e39), or trained at a learning rate that throws its
// weights to infinity, computes NaN from then on; argmax of NaN still "classifies", so without
// these checks such a run ends `done` with made-up test errors and saves a broken model.
// Checked: the loaded data (before anything trains), every parameter after each epoch's last step,
// and the outputs at each evaluation.
import * as fs from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import type { DataConfig } from '../core/config/schema';
import type { Dataset, Split } from './data';
import { resolveDataPath } from './data';
import { readAll } from './reads';

/** The run cannot go on: numbers stopped being numbers. The message names the cause. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    /** The first value that is not a number (NaN, Infinity, -Infinity). */
    readonly value?: number,
  ) {
    super(message);
  }
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Index of the first NaN or ±Infinity in `values`, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) return i; // NaN − NaN and ∞ − ∞ are NaN; any finite v − v is 0
  }
  return -1;
}

/**
 * The first cell of a CSV file that is a number but not a float32 one (|x| > 3.4e38), as
 * `file:line: column c is "1e39"`; undefined if there is none. Only read once a problem is known.
 */
export function findNonFloat32Cell(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const cells = lines[i].split(',');
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c].trim().replace(/^"(.*)"$/, '$1');
      const v = Number(cell);
      if (cell && Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX) {
        return `${file}:${i + 1}: column ${c} (zero-based) is ${cell}, beyond the float32 range (±3.4e38)`;
      }
    }
  }
  return undefined;
}

/** Data files a config names that may hold such a cell (CSV only: IDX values are bytes or floats already). */
function csvFiles(config: DataConfig, configDir: string): string[] {
  return config.dataset === 'csv' ? [resolveDataPath(configDir, config.trainFile), resolveDataPath(configDir, config.testFile)] : [];
}

/** Throws a NonFiniteError naming the data cell when any split holds NaN or Infinity after loading. */
export function checkDataFinite(data: Dataset, config: DataConfig, configDir: string): void {
  const rowSize = data.inputShape.reduce((a, b) => a * b, 1);
  for (const [name, split] of [['training', data.train], ['validation', data.validation], ['test', data.test]] as [string, Split][]) {
    const i = firstNonFinite(split.x);
    if (i < 0) continue;
    const cell = csvFiles(config, configDir).map(findNonFloat32Cell).find(Boolean);
    throw new NonFiniteError(
      cell ??
        `the ${name} data holds ${split.x[i]} (example ${Math.floor(i / rowSize)}, feature ${i % rowSize}${data.normalization.method !== 'none' ? ', after normalisation' : ''}): ` +
          `every value must be a finite float32`,
    );
  }
}

/**
 * After an epoch's last step, its evaluation: throws a NonFiniteError when a parameter became NaN
 * or Infinity, or the outputs did (weights finite but so large they overflow). The data was
 * checked before training, so what is left to blame is the step size.
 */
export async function evaluateTrained<T>(at: { stage: string; epoch: number; lr: number }, variables: tf.Variable[], evaluate: () => Promise<T>): Promise<T> {
  const blame = `the learning rate ${at.lr} is too high for this model; lower it`;
  const all = await readAll(variables);
  variables.forEach((v, k) => {
    const i = firstNonFinite(all[k]);
    if (i >= 0) throw new NonFiniteError(`${at.stage}: the parameters became ${all[k][i]} in epoch ${at.epoch} (${v.name}): ${blame}`);
  });
  try {
    return await evaluate();
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    throw new NonFiniteError(`${at.stage}: the outputs became ${e.value} in epoch ${at.epoch}: ${blame}`);
  }
}

/** At an evaluation: throws a NonFiniteError when the outputs are NaN or Infinity (a loaded model with broken weights, overflow). */
export function checkOutputsFinite(logits: Float32Array, classes: number): void {
  const i = firstNonFinite(logits);
  if (i >= 0) {
    throw new NonFiniteError(
      `the network's outputs are ${logits[i]} on test example ${Math.floor(i / classes)}: its weights are not finite, or so large they overflow`,
      logits[i],
    );
  }
}
