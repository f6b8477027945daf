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

/** Relative accuracy of every sketch: percentiles are within this fraction of the exact value at their rank. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

const VERSION = 1;

/** A sketch as the library makes it, mergeable with every other sketch made here. */
export type Sketch = DDSketch;

/** An empty sketch at {@link SKETCH_RELATIVE_ACCURACY}. */
export function newSketch(): Sketch {
  return new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
}

/** A sketch's bytes did not decode: a broken or foreign blob. */
export class SketchDecodeError extends Error {
  override name = 'SketchDecodeError';
}

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
  const zeroCount = readVarint(bytes, reader);
  const n = readVarint(bytes, reader);
  if (n > 0) {
    const zigzag = readVarint(bytes, reader);
    const first = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    for (let i = 0; i < n; i++) {
      const count = readVarint(bytes, reader);
      if (count > 0) sketch.store.add(first + i, count);
    }
  }
  if (reader.at !== bytes.length)
    throw new SketchDecodeError('[rollup:sketch] trailing bytes after the sketch');
  sketch.zeroCount = zeroCount;
  sketch.count = zeroCount + sketch.store.count;
  return sketch;
}

function writeVarint(out: number[], value: number) {
  // Counts and keys stay far below 2^53; division instead of shifts keeps values above 2^31 right.
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(bytes: Uint8Array, reader: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[reader.at++];
    if (byte === undefined) throw new SketchDecodeError('[rollup:sketch] the sketch is cut short');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
    if (scale > 2 ** 56) throw new SketchDecodeError('[rollup:sketch] a varint is too long');
  }
}
