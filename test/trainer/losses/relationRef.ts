// Plain-JS building blocks for the response and relation losses' golden tests (DKD, DIST, SP, RKD,
// PKT, CC, CRD), written from the reference code (never calling the code under test), and the MLP
// config in which each example term must parse.
import { parseConfig } from '../../../src/core/config/parse';
import type { Problem } from '../../../src/core/config/problems';

/** A row-major [B, D] array as B rows. */
export const rows = (v: number[], B: number): number[][] => {
  const D = v.length / B;
  return Array.from({ length: B }, (_, b) => v.slice(b * D, (b + 1) * D));
};

export const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

export function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** x·W + b for each row x; W row-major [in, out] (tfjs's dense kernel layout). */
export function linear(x: number[][], W: number[], b: number[]): number[][] {
  const out = b.length;
  return x.map((r) => b.map((bj, j) => bj + r.reduce((s, xi, i) => s + xi * W[i * out + j], 0)));
}

/** Problems of an MLP-on-mnist config (hidden [64, 32] on both sides) whose losses are ce and `term`. */
export function mlpConfigProblems(term: Record<string, unknown>, trainSize = 5000): Problem[] {
  const sgd = { type: 'sgd', lr: 0.05 };
  const text = JSON.stringify({
    name: 'x',
    data: { dataset: 'mnist', trainSize },
    teacher: { model: { type: 'mlp', hidden: [64, 32] }, training: { epochs: 1, optimizer: sgd } },
    student: { model: { type: 'mlp', hidden: [64, 32] } },
    distillation: { temperature: 4, losses: [{ type: 'ce', weight: 1 }, term] },
    training: { epochs: 1, optimizer: sgd },
  });
  return parseConfig(text, '/cfg/x.distill.json', { fileExists: () => true }).problems;
}
