/**
 * Pure mappers between rollup rows (tables rollup_minute, rollup_tenmin, rollup_hour, rollup_sixhour,
 * rollup_day) and rollup buckets. Nothing else touches these column names or the sketch's blob.
 */
import type { Status } from '../../../contract/index.js';
import type { Bucket } from '../../rollup/bucket.js';
import { decodeSketch, encodeSketch } from '../../rollup/sketch.js';

/** A rollup row as better-sqlite3 returns it with safe integers off, plus the ids joined in by reads. */
export interface RollupRow {
  destination: number;
  source: number;
  t: number;
  sent: number;
  reply: number;
  timeout: number;
  ttl_exceeded: number;
  unreachable: number;
  reset: number;
  error: number;
  rtt_min: number | null;
  rtt_max: number | null;
  rtt_sum: number;
  rtt_sumsq: number;
  jitter_sum: number;
  jitter_count: number;
  /** rtimes as decimal text: ns do not fit a double (read with CAST … AS TEXT). */
  first_rtime: string | null;
  first_rtt: number | null;
  last_rtime: string | null;
  last_rtt: number | null;
  sketch: Uint8Array;
  last_result: string;
  last_status: Status;
  process_timed: number;
}

/** The columns in the order of {@link rowParams}. */
export const ROLLUP_COLUMNS = [
  'destination',
  'source',
  't',
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
  'first_rtime',
  'first_rtt',
  'last_rtime',
  'last_rtt',
  'sketch',
  'last_result',
  'last_status',
  'process_timed',
] as const;

/** The select list that reads a row as {@link RollupRow} (rtimes as text). */
export const ROLLUP_SELECT = ROLLUP_COLUMNS.map((c) =>
  c.endsWith('_rtime') || c === 'last_result' ? `CAST(r.${c} AS TEXT) AS ${c}` : `r.${c}`,
).join(', ');

export function toBucket(row: RollupRow): Bucket {
  return {
    sent: row.sent,
    statuses: [row.reply, row.timeout, row.ttl_exceeded, row.unreachable, row.reset, row.error],
    processTimed: row.process_timed,
    rttMin: row.rtt_min ?? Number.POSITIVE_INFINITY,
    rttMax: row.rtt_max ?? Number.NEGATIVE_INFINITY,
    rttSum: row.rtt_sum,
    rttSumSquares: row.rtt_sumsq,
    jitterSum: row.jitter_sum,
    jitterCount: row.jitter_count,
    firstReply: row.first_rtime === null ? null : { rtime: BigInt(row.first_rtime), rtt: row.first_rtt ?? 0 },
    lastReply: row.last_rtime === null ? null : { rtime: BigInt(row.last_rtime), rtt: row.last_rtt ?? 0 },
    sketch: decodeSketch(row.sketch),
    lastResult: { rtime: BigInt(row.last_result), status: row.last_status },
  };
}

/** Statement parameters of a bucket's row, in {@link ROLLUP_COLUMNS} order. */
export function rowParams(destination: number, source: number, t: number, b: Bucket): unknown[] {
  const [reply, timeout, ttlExceeded, unreachable, reset, error] = b.statuses;
  return [
    destination,
    source,
    t,
    b.sent,
    reply,
    timeout,
    ttlExceeded,
    unreachable,
    reset,
    error,
    Number.isFinite(b.rttMin) ? b.rttMin : null,
    Number.isFinite(b.rttMax) ? b.rttMax : null,
    b.rttSum,
    b.rttSumSquares,
    b.jitterSum,
    b.jitterCount,
    b.firstReply?.rtime ?? null,
    b.firstReply?.rtt ?? null,
    b.lastReply?.rtime ?? null,
    b.lastReply?.rtt ?? null,
    encodeSketch(b.sketch),
    b.lastResult!.rtime,
    b.lastResult!.status,
    b.processTimed,
  ];
}
