// A tiny image dataset for trainer tests: 8×8 grey images of 4 classes, the class being where the
// bright 4×4 square is, on uniform noise. Deterministic for a seed.
import type { Dataset } from '../../src/core/data/types';
import { createRng } from '../../src/core/random';

export function tinyImages(count: number, seed: number): Dataset['train'] {
  const rng = createRng(seed);
  const x = new Float32Array(count * 64);
  const y = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = Math.floor(rng() * 4);
    const [r0, c0] = [(y[i] >> 1) * 4, (y[i] & 1) * 4];
    for (let p = 0; p < 64; p++) {
      const [r, c] = [p >> 3, p & 7];
      x[i * 64 + p] = 0.2 * rng() + (r >= r0 && r < r0 + 4 && c >= c0 && c < c0 + 4 ? 0.8 : 0);
    }
  }
  return { x, y, count };
}

/** `train` and `test` examples of tinyImages (seeds 1 and 2), no validation split. */
export function tinyImageData(train: number, test: number): Dataset {
  return {
    name: 'tiny',
    inputShape: [8, 8, 1],
    numClasses: 4,
    train: tinyImages(train, 1),
    validation: { x: new Float32Array(0), y: new Uint8Array(0), count: 0 },
    test: tinyImages(test, 2),
    normalization: { method: 'none', mean: 0, std: 1 },
  };
}
