// Plain-JS building blocks for the feature-map losses' golden tests (AT, NST, FSP, VID, FT), written
// from the PyTorch reference (never calling the code under test), and the CNN config in which each
// example term must parse.
import { parseConfig } from '../../../src/core/config/parse';
import type { Problem } from '../../../src/core/config/problems';

/** torch's F.adaptive_avg_pool2d on a row-major channels-last [B, H, W, C] map, to [B, h, w, C]. */
export function pool(v: number[], B: number, [H, W, C]: number[], h: number, w: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let c = 0; c < C; c++) {
          const [y0, y1] = [Math.floor((i * H) / h), Math.ceil(((i + 1) * H) / h)];
          const [x0, x1] = [Math.floor((j * W) / w), Math.ceil(((j + 1) * W) / w)];
          let s = 0;
          for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += v[((b * H + y) * W + x) * C + c];
          out.push(s / ((y1 - y0) * (x1 - x0)));
        }
  return out;
}

/** Entry [b][q][c] of a row-major [B, P, C] array. */
export const at3 = (v: number[], P: number, C: number) => (b: number, q: number, c: number) => v[(b * P + q) * C + c];

/** A vector scaled to unit L2 norm (F.normalize, eps 1e-12). */
export function normalize(a: number[]): number[] {
  const n = Math.max(Math.sqrt(a.reduce((x, y) => x + y * y, 0)), 1e-12);
  return a.map((x) => x / n);
}

/** Problems of a CNN-on-mnist config whose losses are ce, kd and `term` (student conv 8, 16 channels; teacher 16, 32 unless given). */
/** Per channel of a row-major [..., C] array: the mean and the biased variance over every other axis. */
export function channelMoments(x: number[], C: number): { mean: number[]; variance: number[] } {
  const n = x.length / C;
  const mean = Array.from({ length: C }, (_, c) => x.filter((_, i) => i % C === c).reduce((a, v) => a + v, 0) / n);
  const variance = Array.from({ length: C }, (_, c) => x.filter((_, i) => i % C === c).reduce((a, v) => a + (v - mean[c]) ** 2, 0) / n);
  return { mean, variance };
}

/** torch's BatchNorm (eps 1e-5) over the last axis with the given statistics: (x − mean)/√(var + ε)·γ + β. */
export function batchNormWith(x: number[], C: number, mean: number[], variance: number[], gamma: number[], beta: number[]): number[] {
  return x.map((v, i) => ((v - mean[i % C]) / Math.sqrt(variance[i % C] + 1e-5)) * gamma[i % C] + beta[i % C]);
}

/** torch's BatchNorm in training mode: normalised by the batch's own per-channel mean and biased variance. */
export function batchNormTrain(x: number[], C: number, gamma: number[], beta: number[]): number[] {
  const { mean, variance } = channelMoments(x, C);
  return batchNormWith(x, C, mean, variance, gamma, beta);
}

export function cnnConfigProblems(term: Record<string, unknown>, teacherFilters = [16, 32]): Problem[] {
  const sgd = { type: 'sgd', lr: 0.05 };
  const text = JSON.stringify({
    name: 'x',
    data: { dataset: 'mnist' },
    teacher: { model: { type: 'cnn', conv: teacherFilters.map((filters) => ({ filters })), hidden: [64] }, training: { epochs: 1, optimizer: sgd } },
    student: { model: { type: 'cnn', conv: [{ filters: 8 }, { filters: 16 }], hidden: [32] } },
    distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }, term] },
    training: { epochs: 1, optimizer: sgd },
  });
  return parseConfig(text, '/cfg/x.distill.json', { fileExists: () => true }).problems;
}
