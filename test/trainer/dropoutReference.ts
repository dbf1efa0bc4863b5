// The dropout mask's definition, written here as its author writes it, for the tests of every
// implementation (JS, SIMD module, native addon, the dropout layer's kernel).

/** mulberry32 seeded with `seed`, value i kept (1/(1 − rate)) when u / 2^32 ≥ rate, else 0. */
export function referenceMask(n: number, rate: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = Math.floor(seed) % 4294967296 | 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 >= rate ? 1 / (1 - rate) : 0;
  }
  return out;
}
