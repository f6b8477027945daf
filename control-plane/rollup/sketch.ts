/**
 * The latency sketch of a bucket: a DDSketch (@datadog/sketches-js) with 1 % relative accuracy — every
 * percentile it answers is within 1 % of the exact value at that rank — and a compact, stable byte encoding of
 * its bins for storage. The library's own `toProto` needs protobufjs and writes each bin count as an 8-byte
 * double; this encoding writes varints, hand-written because it is ten lines and owns no state of its own.
 *
 * Layout (all unsigned LEB128 varints unless said):
 *
 *   version (1 byte, = 1) · zeroCount · n (bins) · [if n > 0: firstKey (zigzag) · count × n]
 *
 * RTTs are never negative, so the sketch's negative store stays empty and is not written.
 */
import { DDSketch } from '@datadog/sketches-js';
import { readVarint, writeVarint } from './varint.js';

/** Relative accuracy of every sketch: percentiles are within this fraction of the exact value at their rank. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

const VERSION = 1;

/** A sketch as the library makes it, mergeable with every other sketch made here. */
export type Sketch = DDSketch;

// Ingest makes three sketches per (pair, minute) a batch touches and reads decode one per row, so their cost
// counts. The library's constructor builds a new mapping each time and its stores grow in chunks of 128 bins
// (1 KiB of mostly zeros for the ten-odd bins of a minute): sketches here share one mapping (it holds only
// constants) and use stores that grow 8 bins at a time. Same classes, same algorithm, same accuracy.
const TEMPLATE = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
const MAPPING = TEMPLATE.mapping;
type DenseStore = DDSketch['store'];
const DenseStoreClass = TEMPLATE.store.constructor as new (chunkSize?: number) => DenseStore;
const STORE_CHUNK = 8;

/** An empty sketch at {@link SKETCH_RELATIVE_ACCURACY}. */
export function newSketch(): Sketch {
  const sketch = Object.create(Object.getPrototypeOf(TEMPLATE) as object) as Sketch;
  sketch.mapping = MAPPING;
  sketch.store = new DenseStoreClass(STORE_CHUNK);
  sketch.negativeStore = new DenseStoreClass(STORE_CHUNK);
  sketch.zeroCount = 0;
  sketch.count = 0;
  sketch.min = Number.POSITIVE_INFINITY;
  sketch.max = Number.NEGATIVE_INFINITY;
  sketch.sum = 0;
  return sketch;
}

/** A sketch's bytes did not decode: a broken or foreign blob. */
export class SketchDecodeError extends Error {
  override name = 'SketchDecodeError';
}

const sketchError = (problem: 'cut short' | 'too long') =>
  new SketchDecodeError(
    problem === 'cut short'
      ? '[rollup:sketch] the sketch is cut short'
      : '[rollup:sketch] a varint is too long',
  );

/** Bytes of a sketch, see the module header. */
export function encodeSketch(sketch: Sketch): Uint8Array {
  const store = sketch.store;
  if (sketch.negativeStore.count > 0) throw new RangeError('[rollup:sketch] RTTs cannot be negative');
  const out: number[] = [VERSION];
  writeVarint(out, sketch.zeroCount);
  if (store.count === 0) {
    writeVarint(out, 0);
    return Uint8Array.from(out);
  }
  // The store's bins array may hold zero padding on both sides of [minKey, maxKey]: only that range is written.
  writeVarint(out, store.maxKey - store.minKey + 1);
  writeVarint(out, store.minKey >= 0 ? store.minKey * 2 : -store.minKey * 2 - 1);
  for (let key = store.minKey; key <= store.maxKey; key++)
    writeVarint(out, store.bins[key - store.offset] ?? 0);
  return Uint8Array.from(out);
}

/** The sketch {@link encodeSketch} wrote. */
export function decodeSketch(bytes: Uint8Array): Sketch {
  const reader = { at: 0 };
  if (bytes[reader.at++] !== VERSION) throw new SketchDecodeError('[rollup:sketch] unknown sketch encoding');
  const sketch = newSketch();
  const zeroCount = readVarint(bytes, reader, sketchError);
  const n = readVarint(bytes, reader, sketchError);
  if (n > 0) {
    const zigzag = readVarint(bytes, reader, sketchError);
    const first = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    // The store's own layout (bins from `offset`, the occupied range [minKey, maxKey]), filled at once rather
    // than by `add` per bin, which re-centres and copies its array as it grows.
    const bins = new Array<number>(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      bins[i] = readVarint(bytes, reader, sketchError);
      total += bins[i]!;
    }
    const store = sketch.store;
    store.bins = bins;
    store.offset = first;
    store.minKey = first;
    store.maxKey = first + n - 1;
    store.count = total;
  }
  if (reader.at !== bytes.length)
    throw new SketchDecodeError('[rollup:sketch] trailing bytes after the sketch');
  sketch.zeroCount = zeroCount;
  sketch.count = zeroCount + sketch.store.count;
  return sketch;
}

/** The bytes of the merge of two encoded sketches, worked on the bytes (no sketch objects): for SQL upserts. */
export function mergeSketchBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const sum = new SketchSum();
  sum.addBytes(a);
  sum.addBytes(b);
  return sum.toBytes();
}

/**
 * Sums many sketches' bins straight from their bytes, for reads that merge thousands of rows: no sketch object
 * per row, one growing array of counts. {@link toSketch} gives the merged sketch (the same bins `merge` gives).
 */
export class SketchSum {
  private zeroCount = 0;
  /** Counts of keys offset, offset + 1, … */
  private bins: number[] = [];
  private offset = 0;

  /**
   * Adds the sketch {@link encodeSketch} wrote; with `sign` -1, takes away one that was added before (counts
   * are integers: adding and taking away are exact, which a rolling window needs).
   */
  addBytes(bytes: Uint8Array, sign: 1 | -1 = 1): void {
    const reader = { at: 0 };
    if (bytes[reader.at++] !== VERSION)
      throw new SketchDecodeError('[rollup:sketch] unknown sketch encoding');
    this.zeroCount += sign * readVarint(bytes, reader, sketchError);
    const n = readVarint(bytes, reader, sketchError);
    if (n === 0) return;
    const zigzag = readVarint(bytes, reader, sketchError);
    const first = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    this.cover(first, first + n - 1);
    const bins = this.bins;
    let at = first - this.offset;
    for (let i = 0; i < n; i++) bins[at++]! += sign * readVarint(bytes, reader, sketchError);
  }

  /** Adds a sketch object's bins. */
  addSketch(sketch: Sketch): void {
    this.zeroCount += sketch.zeroCount;
    const store = sketch.store;
    if (store.count === 0) return;
    this.cover(store.minKey, store.maxKey);
    for (let key = store.minKey; key <= store.maxKey; key++)
      this.bins[key - this.offset]! += store.bins[key - store.offset] ?? 0;
  }

  /** Adds another sum's bins. */
  addSum(other: SketchSum): void {
    this.zeroCount += other.zeroCount;
    if (other.bins.length === 0) return;
    this.cover(other.offset, other.offset + other.bins.length - 1);
    let at = other.offset - this.offset;
    for (const count of other.bins) this.bins[at++]! += count;
  }

  /** The merged sketch. */
  toSketch(): Sketch {
    const sketch = newSketch();
    let lo = 0;
    let hi = this.bins.length - 1;
    while (lo <= hi && this.bins[lo] === 0) lo++;
    while (hi >= lo && this.bins[hi] === 0) hi--;
    if (lo <= hi) {
      const store = sketch.store;
      store.bins = this.bins.slice(lo, hi + 1);
      store.offset = this.offset + lo;
      store.minKey = store.offset;
      store.maxKey = this.offset + hi;
      store.count = store.bins.reduce((s, c) => s + c, 0);
    }
    sketch.zeroCount = this.zeroCount;
    sketch.count = this.zeroCount + sketch.store.count;
    return sketch;
  }

  /** The bytes of the merged sketch: what {@link encodeSketch} writes of {@link toSketch}, without making it. */
  toBytes(): Uint8Array {
    const bins = this.bins;
    let lo = 0;
    let hi = bins.length - 1;
    while (lo <= hi && bins[lo] === 0) lo++;
    while (hi >= lo && bins[hi] === 0) hi--;
    const out: number[] = [VERSION];
    writeVarint(out, this.zeroCount);
    writeVarint(out, hi - lo + 1);
    if (lo <= hi) {
      const first = this.offset + lo;
      writeVarint(out, first >= 0 ? first * 2 : -first * 2 - 1);
      for (let i = lo; i <= hi; i++) writeVarint(out, bins[i]!);
    }
    return Uint8Array.from(out);
  }

  /** Grows the bins to hold keys [from, to]. */
  private cover(from: number, to: number) {
    if (this.bins.length === 0) {
      this.offset = from;
      this.bins = new Array<number>(to - from + 1).fill(0);
      return;
    }
    if (from < this.offset) {
      this.bins = [...new Array<number>(this.offset - from).fill(0), ...this.bins];
      this.offset = from;
    }
    const end = this.offset + this.bins.length - 1;
    for (let k = end; k < to; k++) this.bins.push(0);
  }
}
