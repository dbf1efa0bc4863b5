// Small seedable randomness shared by the data loader and the trainer (data order, jitter,
// dropout seeds). `Math.random` is never used where results must be reproducible.
//
// The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state,
// passes PractRand), seeded through splitmix32 so that nearby seeds (1, 2, 3…) give unrelated
// streams. Numbers are exact doubles k / 2^32 in [0, 1).

/** A stream of uniform numbers in [0, 1). */
export type Rng = () => number;

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A deterministic generator of uniform numbers in [0, 1): the same seed always gives the same
 * sequence. Any finite integer seed works (values beyond 2^32 are folded in, not truncated).
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
  const n = Math.trunc(Math.abs(seed));
  const hi = Math.floor(n / 0x100000000) >>> 0;
  const init = splitmix32((n >>> 0) ^ Math.imul(hi, 0x27d4eb2f) ^ (seed < 0 ? 0x5bd1e995 : 0));
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next(); // warm up as the reference implementation does
  return () => next() / 0x100000000;
}

/**
 * A seed for an independent stream named `label`, derived from the experiment seed, e.g.
 * `createRng(deriveSeed(seed, 'data/train'))`. Different labels give unrelated streams, so adding a
 * use of randomness in one place does not shift the numbers drawn in another.
 */
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the label, then mixed with the seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const n = Math.trunc(Math.abs(seed));
  h ^= n >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= Math.floor(n / 0x100000000) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

/** An integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

interface Shufflable {
  length: number;
  [i: number]: unknown;
}

/** Fisher–Yates shuffle of an array or typed array in place; returns the same array. */
export function shuffleInPlace<A extends Shufflable>(array: A, rng: Rng): A {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}

/** The numbers 0 … n−1 in a seeded random order. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, rng);
}
