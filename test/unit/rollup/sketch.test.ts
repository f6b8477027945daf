/** The sketch's byte encoding: round trips bin for bin, stays small, refuses foreign bytes by name. */
import { describe, expect, it } from 'vitest';
import {
  decodeSketch,
  encodeSketch,
  mergeSketchBytes,
  newSketch,
  SketchDecodeError,
  SketchSum,
} from '../../../control-plane/rollup/sketch.js';
import { pareto, random } from '../../helpers/stats-oracle.js';

describe('sketch encoding', () => {
  it('round-trips: same bins, same count, same percentiles', () => {
    const rand = random(3);
    for (const values of [
      [],
      [0],
      [0, 0, 5],
      [0.3, 1, 1e9],
      Array.from({ length: 5000 }, () => pareto(rand, 100, 1.1)),
    ]) {
      const sketch = newSketch();
      for (const x of values) sketch.accept(x);
      const bytes = encodeSketch(sketch);
      const back = decodeSketch(bytes);
      expect(back.count).toBe(values.length);
      expect(encodeSketch(back)).toEqual(bytes);
      for (const q of [0, 0.5, 0.9, 0.99, 1]) {
        if (values.length === 0) expect(back.getValueAtQuantile(q)).toBeNaN();
        else expect(back.getValueAtQuantile(q)).toBe(sketch.getValueAtQuantile(q));
      }
    }
  });

  it('stays small: a minute of steady RTTs in a few bytes', () => {
    const rand = random(4);
    const sketch = newSketch();
    for (let i = 0; i < 60; i++) sketch.accept(1000 + rand() * 50);
    expect(encodeSketch(sketch).length).toBeLessThan(16);
  });

  it('refuses a foreign version, a cut-short blob and trailing bytes', () => {
    const sketch = newSketch();
    sketch.accept(1234);
    const bytes = encodeSketch(sketch);
    expect(() => decodeSketch(Uint8Array.of(9, ...bytes.slice(1)))).toThrow(SketchDecodeError);
    expect(() => decodeSketch(bytes.slice(0, -1))).toThrow(/cut short/);
    expect(() => decodeSketch(Uint8Array.of(...bytes, 0))).toThrow(/trailing/);
  });

  it('sums sketches from their bytes and as objects into the sketch the library merge gives', () => {
    const rand = random(9);
    // Ranges that do not overlap, overlap, and lie below and above each other; zeros; an empty sketch.
    const sets = [
      Array.from({ length: 300 }, () => 200 + rand() * 50),
      Array.from({ length: 300 }, () => pareto(rand, 100, 1.2)),
      [0, 0, 3],
      [],
      Array.from({ length: 50 }, () => 5 + rand()),
      Array.from({ length: 50 }, () => 1e6 + rand() * 1e5),
    ];
    const merged = newSketch();
    const sum = new SketchSum();
    sets.forEach((values, i) => {
      const sketch = newSketch();
      for (const x of values) sketch.accept(x);
      merged.merge(sketch);
      if (i % 2 === 0) sum.addBytes(encodeSketch(sketch));
      else sum.addSketch(sketch);
    });
    const got = sum.toSketch();
    expect(got.count).toBe(merged.count);
    expect(encodeSketch(got)).toEqual(encodeSketch(merged));
    for (const q of [0, 0.01, 0.5, 0.9, 0.99, 1])
      expect(got.getValueAtQuantile(q)).toBe(merged.getValueAtQuantile(q));
    expect(new SketchSum().toSketch().count).toBe(0);
  });

  it('merges two encoded sketches into the bytes the library merge gives, pair by pair', () => {
    const rand = random(11);
    const sets = [
      [],
      [0, 0],
      Array.from({ length: 60 }, () => 250 + rand() * 150),
      Array.from({ length: 60 }, () => 1 + rand()),
      Array.from({ length: 200 }, () => pareto(rand, 100, 1.2)),
      Array.from({ length: 30 }, () => 5e5 + rand() * 1e5),
    ];
    const sketches = sets.map((values) => {
      const sketch = newSketch();
      for (const x of values) sketch.accept(x);
      return sketch;
    });
    for (const a of sketches) {
      for (const b of sketches) {
        const merged = decodeSketch(encodeSketch(a));
        merged.merge(b);
        const bytes = mergeSketchBytes(encodeSketch(a), encodeSketch(b));
        expect(bytes).toEqual(encodeSketch(merged));
        expect(new SketchSum().toBytes()).toEqual(encodeSketch(newSketch()));
      }
    }
  });
});
