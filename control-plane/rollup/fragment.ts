/**
 * Fragments: what one batch contributed to one (destination, source, minute), kept as the results themselves in
 * a compact byte form — send time, sequence number, status, RTT and whether that RTT is process-timed, nothing
 * else — rather than as sums. A store that cannot read-modify-write a rollup row inside the batch's write
 * (DynamoDB) writes one fragment per (pair, minute, batch) and merges the fragments of a minute when it reads or
 * compacts it. Keeping the results (8–14 bytes each) instead of a bucket is what makes that merge exact
 * whatever the batching: a result that two fragments hold (a batch posted twice, or two batches that overlap)
 * is taken once, by its identity (rtime, rseq), and the minute's jitter is computed over all its replies in
 * send order — the rule of bucket.ts, with no interleaving case left over.
 *
 * Layout (unsigned LEB128 varints unless said), results in rtime order:
 *
 *   version (1 byte, = 1) · count · [ Δrtime (ns after the previous result; the first: after the minute's
 *   start) · rseq · kind (1 byte: 128 if the RTT is process-timed + status index × 4 + rtt form) · rtt
 *   (form 1: varint µs; form 2: float64 LE) ]
 *
 * The process-timed bit (Bucket.processTimed) came after version 1 without a new version: fragments written
 * before it read as counting none, like the SQLite rows made before migration 7.
 *
 * Hand-written like sketch.ts: a dozen lines over a byte array, no state of its own.
 */
import { kernelTimed, STATUSES, type Status, type Timing } from '../../contract/index.js';
import { type Bucket, bucketResults, type RollupResult } from './bucket.js';
import { readVarint, writeVarint } from './varint.js';

const VERSION = 1;
const NS = 1_000_000_000n;
/** The kind byte's bit for a result counted in Bucket.processTimed. */
const PROCESS_TIMED = 0x80;
/** What a result decoded without the bit is given as its timing: one that is not counted. */
const KERNEL_TIMING: Timing = { send: 'kernel', receive: 'kernel', lateness: 0 };

/** One result as a fragment keeps it: its offset in the minute (ns) and what a bucket needs. */
export interface FragmentResult {
  /** ns after the start of the minute (below 6·10¹⁰: exact as a double). */
  offset: number;
  rseq: number;
  status: Status;
  rtt: number | null;
  /** Whether it counts in Bucket.processTimed: an RTT not timed by the kernel on both ends. */
  processTimed: boolean;
}

/** A fragment's bytes did not decode. */
export class FragmentDecodeError extends Error {
  override name = 'FragmentDecodeError';
}

const fragmentError = (problem: 'cut short' | 'too long') =>
  new FragmentDecodeError(
    problem === 'cut short' ? '[rollup:fragment] cut short' : '[rollup:fragment] a varint is too long',
  );

/** The fragment of `results`, which must all fall in `minute` (seconds since the epoch). */
export function encodeFragment(
  minute: number,
  results: readonly {
    rtime: string;
    rseq: number;
    status: Status;
    rtt: number | null;
    timing?: Timing | undefined;
  }[],
): Uint8Array {
  const start = BigInt(minute) * NS;
  const rows = results
    .map((r) => ({
      offset: Number(BigInt(r.rtime) - start),
      rseq: r.rseq,
      status: r.status,
      rtt: r.rtt,
      processTimed: r.rtt !== null && !kernelTimed(r),
    }))
    .sort((a, b) => a.offset - b.offset || a.rseq - b.rseq);
  const out: number[] = [VERSION];
  writeVarint(out, rows.length);
  let previous = 0;
  const float = new DataView(new ArrayBuffer(8));
  for (const r of rows) {
    if (r.offset < 0 || r.offset >= 60e9)
      throw new RangeError('[rollup:fragment] a result outside its minute');
    writeVarint(out, r.offset - previous);
    previous = r.offset;
    writeVarint(out, r.rseq);
    const form = r.rtt === null ? 0 : Number.isInteger(r.rtt) ? 1 : 2;
    out.push((r.processTimed ? PROCESS_TIMED : 0) + STATUSES.indexOf(r.status) * 4 + form);
    if (form === 1) writeVarint(out, r.rtt!);
    else if (form === 2) {
      float.setFloat64(0, r.rtt!, true);
      for (let i = 0; i < 8; i++) out.push(float.getUint8(i));
    }
  }
  return Uint8Array.from(out);
}

/** The results {@link encodeFragment} wrote. */
export function decodeFragment(bytes: Uint8Array): FragmentResult[] {
  const reader = { at: 0 };
  if (bytes[reader.at++] !== VERSION) throw new FragmentDecodeError('[rollup:fragment] unknown encoding');
  const n = readVarint(bytes, reader, fragmentError);
  const out: FragmentResult[] = [];
  const float = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    offset += readVarint(bytes, reader, fragmentError);
    const rseq = readVarint(bytes, reader, fragmentError);
    const kind = bytes[reader.at++];
    const status = kind === undefined ? undefined : STATUSES[(kind & 0x7f) >> 2];
    if (status === undefined) throw new FragmentDecodeError('[rollup:fragment] a bad status');
    let rtt: number | null = null;
    if ((kind! & 3) === 1) rtt = readVarint(bytes, reader, fragmentError);
    else if ((kind! & 3) === 2) {
      if (reader.at + 8 > bytes.length) throw new FragmentDecodeError('[rollup:fragment] cut short');
      rtt = float.getFloat64(reader.at, true);
      reader.at += 8;
    }
    out.push({ offset, rseq, status, rtt, processTimed: (kind! & PROCESS_TIMED) !== 0 });
  }
  if (reader.at !== bytes.length) throw new FragmentDecodeError('[rollup:fragment] trailing bytes');
  return out;
}

/**
 * The bucket of one (pair, minute) from all its fragments, each result taken once by (rtime, rseq): the copy in
 * the first fragment given wins, so callers pass fragments in a fixed order (their keys) to get the same bucket
 * every time.
 */
export function minuteFromFragments(minute: number, fragments: readonly Uint8Array[]): Bucket | undefined {
  const seen = new Map<string, FragmentResult>();
  for (const f of fragments) {
    for (const r of decodeFragment(f)) {
      const id = `${r.offset}/${r.rseq}`;
      if (!seen.has(id)) seen.set(id, r);
    }
  }
  if (seen.size === 0) return undefined;
  const start = BigInt(minute) * NS;
  const results: RollupResult<0>[] = [...seen.values()].map((r) => ({
    destination: 0,
    rtime: String(start + BigInt(r.offset)),
    status: r.status,
    rtt: r.rtt,
    timing: r.processTimed ? undefined : KERNEL_TIMING,
  }));
  return bucketResults(results)[0]!.bucket;
}
