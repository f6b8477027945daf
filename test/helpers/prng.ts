/** A seeded pseudo-random generator for tests that must replay: the same seed gives the same run. */

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; deterministic for a seed. Yields numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
