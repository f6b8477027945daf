/**
 * A destination's payload text as bytes, cached: every probe of a destination carries the same data, and
 * encoding it afresh per probe is wasted work at tens of thousands of probes a second.
 */
const cache = new Map<string, Uint8Array>();
const MAX_ENTRIES = 4096;

/** UTF-8 bytes of `data` (shared: never mutate). */
export function dataBytes(data: string): Uint8Array {
  let bytes = cache.get(data);
  if (bytes === undefined) {
    bytes = Buffer.from(data, 'utf8');
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(data, bytes);
  }
  return bytes;
}
