/**
 * The rollup tiers' writes in SQLite, always inside the caller's transaction. Two ways in:
 *
 * - {@link TierWriter.addClosed}: whole minutes nobody has counted yet (the open-minute cache flushing them,
 *   open-minutes.ts): one INSERT per minute row, and one additive upsert per 10-minute, hour, 6-hour and day
 *   row the flush touches
 *   (sums in SQL, sketches merged by `pinger_sketch_merge`), so no row is read into JS.
 * - {@link TierWriter.addLate}: results for a minute that is already stored (a late batch): the minute row is
 *   read, joined with the batch (jitter linked or recomputed from the raw rows) and written back; hour and day
 *   rows get the difference the minute gained.
 *
 * Both add what they count into the pair's running total (rollup_total, what /metrics' counters read), so a
 * stored result reaches the total exactly once: when its minute closes, or at once when it arrives late.
 * Results of minutes still open are in no total yet; StatsStore.totals() adds the cache to it.
 */
import type Database from 'better-sqlite3';
import { TIER_SECONDS } from '../../../contract/index.js';
import {
  type Bucket,
  combineMinute,
  emptyBucket,
  jitterOf,
  type MinuteBucket,
  mergeInto,
  REPLY,
} from '../../rollup/bucket.js';
import { mergeSketchBytes, SketchSum } from '../../rollup/sketch.js';
import { multiRowInsert } from './multi-row.js';
import { ROLLUP_COLUMNS, ROLLUP_SELECT, type RollupRow, rowParams, toBucket } from './rollup-rows.js';

export interface TierWriter {
  /** Stores minutes that have no row yet, and adds them into their hour and day rows. */
  addClosed(source: number, minutes: Iterable<MinuteBucket<number>>): void;
  /** Joins a late batch's buckets into minutes that may already be stored, and their hours and days. */
  addLate(source: number, minutes: Iterable<MinuteBucket<number>>): void;
  /** Jitter of a (pair, minute) recomputed from its raw replies in send order. */
  jitterFromRaw(destination: number, source: number, minute: number): { sum: number; count: number };
}

/** The tiers that merge minutes: the API's hour and day, and the summary's 10 minutes and 6 hours. */
export const MERGED_SECONDS = {
  tenmin: 600,
  hour: TIER_SECONDS.hour,
  sixhour: 21_600,
  day: TIER_SECONDS.day,
} as const;
type MergedTier = keyof typeof MERGED_SECONDS;
const MERGED_TIERS = Object.keys(MERGED_SECONDS) as MergedTier[];

/** Where t and the reply marks (NULL in the merged tiers) are in a row's parameters. */
const T = ROLLUP_COLUMNS.indexOf('t');
const MARKS = (['first_rtime', 'first_rtt', 'last_rtime', 'last_rtt'] as const).map((c) =>
  ROLLUP_COLUMNS.indexOf(c),
);

const VALUES = `VALUES (${ROLLUP_COLUMNS.map(() => '?').join(', ')})`;
/** Columns that add when rows of one slot merge. */
const SUMS = [
  'sent',
  'reply',
  'timeout',
  'ttl_exceeded',
  'unreachable',
  'reset',
  'error',
  'rtt_sum',
  'rtt_sumsq',
  'jitter_sum',
  'jitter_count',
  'process_timed',
];

/** A row being folded into the coarser tiers, and its statement parameters once made. */
interface FoldRow {
  destination: number;
  t: number;
  bucket: Bucket;
  params?: unknown[];
}

/**
 * Needs `pinger_sketch_merge` registered on `db` (openDatabase does).
 * @param counted told, per flush or late batch (never per result), what the tiers newly counted: the rolling
 *   summary's hook (rolling-summary.ts)
 */
export function tierWriter(
  db: Database.Database,
  counted?: (source: number, minutes: readonly MinuteBucket<number>[]) => void,
): TierWriter {
  const minuteGet = db.prepare<[number, number, number], RollupRow>(
    `SELECT ${ROLLUP_SELECT} FROM rollup_minute r WHERE destination = ? AND source = ? AND t = ?`,
  );
  const minutePut = db.prepare(
    `INSERT INTO rollup_minute (${ROLLUP_COLUMNS.join(', ')}) ${VALUES}
     ON CONFLICT (t, destination, source) DO UPDATE SET ${ROLLUP_COLUMNS.slice(3)
       .map((c) => `${c} = excluded.${c}`)
       .join(', ')}`,
  );
  // A plain INSERT: a closed minute from the cache has no row by the cache's invariant, and a row there would
  // mean counting twice, which must fail loudly rather than add.
  const minuteInsert = multiRowInsert(
    db,
    `INSERT INTO rollup_minute (${ROLLUP_COLUMNS.join(', ')})`,
    ROLLUP_COLUMNS.length,
  );
  const addInto = (tier: MergedTier) =>
    multiRowInsert(
      db,
      `INSERT INTO rollup_${tier} (${ROLLUP_COLUMNS.join(', ')})`,
      ROLLUP_COLUMNS.length,
      `ON CONFLICT (t, destination, source) DO UPDATE SET
         ${SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
         rtt_min = coalesce(min(rtt_min, excluded.rtt_min), rtt_min, excluded.rtt_min),
         rtt_max = coalesce(max(rtt_max, excluded.rtt_max), rtt_max, excluded.rtt_max),
         sketch = pinger_sketch_merge(sketch, excluded.sketch),
         last_status = CASE WHEN excluded.last_result >= last_result THEN excluded.last_status ELSE last_status END,
         last_result = max(last_result, excluded.last_result)`,
    );
  const merged = Object.fromEntries(MERGED_TIERS.map((tier) => [tier, addInto(tier)])) as Record<
    MergedTier,
    ReturnType<typeof multiRowInsert>
  >;
  const addTotal = db.prepare(
    `INSERT INTO rollup_total (destination, source, sent, reply, process_timed) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (destination, source) DO UPDATE SET sent = sent + excluded.sent, reply = reply + excluded.reply,
       process_timed = process_timed + excluded.process_timed`,
  );
  // The replies of one pair's minute in send order: to recompute its jitter when batches interleave. Through
  // the destination's index: left to itself the planner takes the source's, which for an agent probing 1,000
  // destinations a second walks 60,000 rows per minute recomputed instead of 60 (7 ms each, measured).
  const minuteReplies = db.prepare<[number, bigint, bigint, number], { rtt: number }>(
    `SELECT rtt FROM results INDEXED BY results_destination
     WHERE destination = ? AND rtime >= ? AND rtime < ? AND source = ? AND status = 'reply' ORDER BY rtime`,
  );

  function jitterFromRaw(destination: number, source: number, minute: number) {
    const ns = BigInt(minute) * 1_000_000_000n;
    return jitterOf(minuteReplies.all(destination, ns, ns + 60_000_000_000n, source).map((r) => r.rtt));
  }

  /**
   * Adds what the minutes gained into their coarser rows, each tier's rows made from the tier below it (10
   * minutes from minutes, hours from 10 minutes, …: every width divides the next), so that a flush of many
   * minutes merges each bucket once per tier at most. A row made of one row below it (the usual flush: one
   * minute per pair) takes that row's parameters as they are, with its own t and no reply marks, instead of a
   * merged copy encoded again. `params` are the deltas' row parameters when the caller has them (the minute
   * rows it just wrote).
   */
  function foldUp(source: number, deltas: readonly MinuteBucket<number>[], params: unknown[][] = []) {
    let below: FoldRow[] = deltas.map(({ destination, minute, bucket }, i) => ({
      destination,
      t: minute,
      bucket,
      params: params[i],
    }));
    for (const tier of MERGED_TIERS) {
      const width = MERGED_SECONDS[tier];
      const groups = new Map<string, FoldRow[]>();
      for (const row of below) {
        const key = `${row.destination}/${row.t - (row.t % width)}`;
        const group = groups.get(key);
        if (group) group.push(row);
        else groups.set(key, [row]);
      }
      const rows: FoldRow[] = [];
      for (const group of groups.values()) {
        const { destination, t: first } = group[0]!;
        const t = first - (first % width);
        if (group.length === 1) {
          const only = group[0]!;
          only.params ??= rowParams(destination, source, only.t, only.bucket);
          const row = only.params.slice();
          row[T] = t;
          for (const at of MARKS) row[at] = null;
          rows.push({ destination, t, bucket: only.bucket, params: row });
        } else {
          // A new bucket: the rows below may be the cache's own minutes, never to be changed here.
          const bucket = emptyBucket();
          for (const row of group) mergeInto(bucket, row.bucket);
          rows.push({ destination, t, bucket, params: rowParams(destination, source, t, bucket) });
        }
      }
      merged[tier](rows.map((row) => row.params!));
      below = rows;
    }
  }

  /** Adds what the minutes newly count into their pairs' running totals, one upsert per pair. */
  function addTotals(source: number, minutes: Iterable<MinuteBucket<number>>) {
    const totals = new Map<number, [sent: number, reply: number, processTimed: number]>();
    for (const { destination, bucket } of minutes) {
      const total = totals.get(destination) ?? [0, 0, 0];
      total[0] += bucket.sent;
      total[1] += bucket.statuses[REPLY]!;
      total[2] += bucket.processTimed;
      totals.set(destination, total);
    }
    for (const [destination, [sent, reply, processTimed]] of totals)
      addTotal.run(destination, source, sent, reply, processTimed);
  }

  return {
    jitterFromRaw,

    addClosed(source, minutes) {
      const list = [...minutes];
      const params = list.map(({ destination, minute, bucket }) =>
        rowParams(destination, source, minute, bucket),
      );
      minuteInsert(params);
      foldUp(source, list, params);
      addTotals(source, list);
      counted?.(source, list);
    },

    addLate(source, minutes) {
      const deltas: MinuteBucket<number>[] = [];
      for (const { destination, minute, bucket } of minutes) {
        const row = minuteGet.get(destination, source, minute);
        // What the merged tiers must add: the batch's bucket, with the jitter the minute gained (a Δ joining
        // it to what was stored, or the minute recomputed).
        const delta = { ...bucket, firstReply: null, lastReply: null };
        let stored = bucket;
        if (row) {
          stored = toBucket(row);
          const before = { sum: stored.jitterSum, count: stored.jitterCount };
          if (!combineMinute(stored, bucket).exact) {
            const j = jitterFromRaw(destination, source, minute);
            stored.jitterSum = j.sum;
            stored.jitterCount = j.count;
          }
          delta.jitterSum = stored.jitterSum - before.sum;
          delta.jitterCount = stored.jitterCount - before.count;
        }
        minutePut.run(rowParams(destination, source, minute, stored));
        deltas.push({ destination, minute, bucket: delta });
      }
      foldUp(source, deltas);
      addTotals(source, deltas);
      counted?.(source, deltas);
    },
  };
}

/**
 * `pinger_sketch_merge(a, b)`: the encoded merge of two encoded sketches, for SQL that adds rollup rows; and
 * the aggregate `pinger_sketch_sum(sketch)`, their merge over a group (the migration that builds a tier).
 */
export function registerSketchMerge(db: Database.Database) {
  db.aggregate('pinger_sketch_sum', {
    start: () => new SketchSum(),
    step: (sum: SketchSum, bytes: unknown) => {
      sum.addBytes(bytes as Uint8Array);
    },
    result: (sum: SketchSum) => Buffer.from(sum.toBytes()),
  });
  db.function('pinger_sketch_merge', { deterministic: true }, (a: unknown, b: unknown) =>
    mergeSketchBytes(a as Uint8Array, b as Uint8Array),
  );
}
