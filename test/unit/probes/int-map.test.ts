/**
 * IntMap (the in-flight table's buckets) against a Map under random churn: runs that wrap around the end of the
 * array, deletions from the middle of runs (the back-shift), growth while full of collisions.
 */
import { describe, expect, it } from 'vitest';
import { IntMap } from '../../../agent/probes/int-map.js';

/** A small deterministic generator (xorshift32), so that a failure replays. */
function rng(seed: number) {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('IntMap', () => {
  it.each([
    ['few keys, heavy collisions', 40, 1],
    ['keys of one probe stream', 5000, 2],
    ['the whole key range', 2 ** 31 - 1, 3],
  ])('agrees with a Map over 200,000 random sets, gets and deletes (%s)', (_name, range, seed) => {
    const random = rng(seed);
    const ours = new IntMap<number>(16);
    const reference = new Map<number, number>();
    for (let op = 0; op < 200_000; op++) {
      const key = Math.floor(random() * range);
      const r = random();
      if (r < 0.45) {
        ours.set(key, op);
        reference.set(key, op);
      } else if (r < 0.9) {
        ours.delete(key);
        reference.delete(key);
      } else {
        expect(ours.get(key)).toBe(reference.get(key));
      }
      if (op % 10_000 === 0) {
        expect(ours.size).toBe(reference.size);
        let wrong = 0;
        for (const [k, v] of reference) if (ours.get(k) !== v) wrong++;
        expect(wrong).toBe(0);
      }
    }
    expect(ours.size).toBe(reference.size);
    expect(ours.values().sort((a, b) => a - b)).toEqual([...reference.values()].sort((a, b) => a - b));
  });

  it('empties out: every key deleted leaves nothing to find', () => {
    const map = new IntMap<string>(16);
    const keys = Array.from({ length: 10_000 }, (_, i) => (i * 2_654_435_761) >>> 1);
    for (const k of keys) map.set(k, `v${k}`);
    expect(map.size).toBe(10_000);
    for (const k of keys.reverse()) map.delete(k);
    expect(map.size).toBe(0);
    expect(map.values()).toEqual([]);
    for (const k of keys) expect(map.get(k)).toBeUndefined();
  });

  it('refuses a key it cannot hold, naming the rule', () => {
    const map = new IntMap<number>();
    for (const bad of [-1, 2 ** 31, 1.5, Number.NaN]) {
      expect(() => map.set(bad, 0)).toThrow(/IntMap key must be an integer 0 … 2\^31 − 1/);
    }
  });

  it('finds and deletes nothing under a negative key (the empty-slot marker is −1)', () => {
    const map = new IntMap<number>(16);
    map.set(7, 70);
    expect(map.get(-1)).toBeUndefined();
    map.delete(-1);
    expect(map.size).toBe(1);
    expect(map.get(7)).toBe(70);
  });
});
