/**
 * Unsigned LEB128 varints, the integer encoding of the sketches and fragments the stores keep as bytes. Counts,
 * keys and offsets stay far below 2^53; division instead of shifts keeps values above 2^31 right.
 */

/** Appends `value` (a non-negative safe integer) to `out`. */
export function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/**
 * Reads one varint at `reader.at` and moves past it. `fail` makes the caller's named error for bytes that end
 * mid-varint or hold one longer than a safe integer.
 */
export function readVarint(
  bytes: Uint8Array,
  reader: { at: number },
  fail: (problem: 'cut short' | 'too long') => Error,
): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[reader.at++];
    if (byte === undefined) throw fail('cut short');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
    if (scale > 2 ** 56) throw fail('too long');
  }
}
