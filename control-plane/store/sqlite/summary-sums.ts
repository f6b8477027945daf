/**
 * A pair's summary sums: what the overview summary adds up from rollup rows (read as arrays, sketches straight
 * from their bytes) and from the open-minute cache's buckets, one accumulator per pair, no bucket or sketch
 * object per row. Shared by the summary's two ways of adding up a window (stats-read.ts, rolling-summary.ts).
 *
 * The RTT and jitter sums are compensated (Neumaier): the rolling window adds a minute and takes it away again
 * an hour or a day later, and plain float sums would drift by their rounding each time; counts and sketch bins
 * are integers and exact anyway.
 */
import { STATUSES, type Status } from '../../../contract/index.js';
import type { Bucket } from '../../rollup/bucket.js';
import { SketchSum } from '../../rollup/sketch.js';

/** Pair keys: destination × this + source (keys stay far below 2^26). */
export const PAIR_KEY = 2 ** 26;

/** The columns a summary reads from a tier row (alias `r`), in {@link SummaryColumns} order. */
export const SUMMARY_SELECT = [
  'destination',
  'source',
  'sent',
  'reply',
  'timeout',
  'ttl_exceeded',
  'unreachable',
  'reset',
  'error',
  'rtt_min',
  'rtt_max',
  'rtt_sum',
  'rtt_sumsq',
  'jitter_sum',
  'jitter_count',
  'sketch',
  'CAST(last_result AS TEXT)',
  'last_status',
  'process_timed',
]
  .map((c) => (c.startsWith('CAST') ? c : `r.${c}`))
  .join(', ');

/** A row of {@link SUMMARY_SELECT}, in its order. */
export type SummaryColumns = [
  destination: number,
  source: number,
  sent: number,
  reply: number,
  timeout: number,
  ttlExceeded: number,
  unreachable: number,
  reset: number,
  error: number,
  rttMin: number | null,
  rttMax: number | null,
  rttSum: number,
  rttSumSquares: number,
  jitterSum: number,
  jitterCount: number,
  sketch: Uint8Array,
  lastResult: string,
  lastStatus: Status,
  processTimed: number,
];

/** Index in {@link SummaryAccumulator.sums} of each compensated sum (its compensation is the next slot). */
const RTT_SUM = 0;
const RTT_SUMSQ = 2;
const JITTER_SUM = 4;

/** One pair's summary so far: a bucket's sums, with the sketch as a {@link SketchSum}. */
export interface SummaryAccumulator {
  destination: number;
  source: number;
  sent: number;
  statuses: number[];
  processTimed: number;
  rttMin: number;
  rttMax: number;
  /** rtt sum, rtt sum of squares, jitter sum: each a (sum, compensation) pair. */
  sums: Float64Array;
  jitterCount: number;
  sketch: SketchSum;
  /** Decimal ns: of equal length, strings order as numbers. */
  lastResult: string;
  lastStatus: Status;
}

export function newAccumulator(destination: number, source: number): SummaryAccumulator {
  return {
    destination,
    source,
    sent: 0,
    statuses: STATUSES.map(() => 0),
    processTimed: 0,
    rttMin: Number.POSITIVE_INFINITY,
    rttMax: Number.NEGATIVE_INFINITY,
    sums: new Float64Array(6),
    jitterCount: 0,
    sketch: new SketchSum(),
    lastResult: '',
    lastStatus: 'reply',
  };
}

/** A copy that can be added to without changing `acc`. */
export function copyAccumulator(acc: SummaryAccumulator): SummaryAccumulator {
  const sketch = new SketchSum();
  sketch.addSum(acc.sketch);
  return { ...acc, statuses: [...acc.statuses], sums: Float64Array.from(acc.sums), sketch };
}

/** Neumaier's step: adds x to the compensated sum at sums[i], sums[i + 1]. */
function addTo(sums: Float64Array, i: number, x: number) {
  const s = sums[i]!;
  const t = s + x;
  sums[i + 1]! += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
  sums[i] = t;
}

export function later(a: string, b: string): boolean {
  return a.length > b.length || (a.length === b.length && a >= b);
}

/**
 * Adds a tier row; with `sign` -1 takes away a row added before, all but min, max and the last result, which
 * do not subtract (the caller keeps them: rolling-summary.ts).
 */
export function addRow(acc: SummaryAccumulator, row: SummaryColumns, sign: 1 | -1 = 1) {
  acc.sent += sign * row[2];
  const statuses = acc.statuses;
  for (let i = 0; i < 6; i++) statuses[i]! += sign * (row[3 + i] as number);
  acc.processTimed += sign * row[18];
  addTo(acc.sums, RTT_SUM, sign * row[11]);
  addTo(acc.sums, RTT_SUMSQ, sign * row[12]);
  addTo(acc.sums, JITTER_SUM, sign * row[13]);
  acc.jitterCount += sign * row[14];
  acc.sketch.addBytes(row[15], sign);
  if (sign < 0) return;
  if (row[9] !== null && row[9] < acc.rttMin) acc.rttMin = row[9];
  if (row[10] !== null && row[10] > acc.rttMax) acc.rttMax = row[10];
  if (later(row[16], acc.lastResult)) {
    acc.lastResult = row[16];
    acc.lastStatus = row[17];
  }
}

/** Adds a bucket (an open minute, or what the tiers newly counted). */
export function addBucket(acc: SummaryAccumulator, b: Bucket) {
  acc.sent += b.sent;
  for (let i = 0; i < 6; i++) acc.statuses[i]! += b.statuses[i]!;
  acc.processTimed += b.processTimed;
  if (b.rttMin < acc.rttMin) acc.rttMin = b.rttMin;
  if (b.rttMax > acc.rttMax) acc.rttMax = b.rttMax;
  addTo(acc.sums, RTT_SUM, b.rttSum);
  addTo(acc.sums, RTT_SUMSQ, b.rttSumSquares);
  addTo(acc.sums, JITTER_SUM, b.jitterSum);
  acc.jitterCount += b.jitterCount;
  acc.sketch.addSketch(b.sketch);
  if (!b.lastResult) return;
  const last = `${b.lastResult.rtime}`;
  if (later(last, acc.lastResult)) {
    acc.lastResult = last;
    acc.lastStatus = b.lastResult.status;
  }
}

/** The accumulator as a bucket, for figuresOf. */
export function toBucketOf(acc: SummaryAccumulator): Bucket {
  const sums = acc.sums;
  return {
    sent: acc.sent,
    statuses: acc.statuses,
    processTimed: acc.processTimed,
    rttMin: acc.rttMin,
    rttMax: acc.rttMax,
    rttSum: sums[RTT_SUM]! + sums[RTT_SUM + 1]!,
    rttSumSquares: sums[RTT_SUMSQ]! + sums[RTT_SUMSQ + 1]!,
    jitterSum: sums[JITTER_SUM]! + sums[JITTER_SUM + 1]!,
    jitterCount: acc.jitterCount,
    firstReply: null,
    lastReply: null,
    sketch: acc.sketch.toSketch(),
    lastResult: null,
  };
}
