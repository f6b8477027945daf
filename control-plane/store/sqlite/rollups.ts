/**
 * Rollups in SQLite, written at ingest: inside the transaction that inserts a batch, the results it actually
 * inserted are bucketed per (destination, minute) and folded into the minute, hour and day tiers — a read and
 * an upsert per row touched, with buckets of one batch coalesced per hour and day first. Writing all three
 * tiers at ingest keeps reads cheap (30 days of one pair is 720 hour rows, not 43,200 minute rows to merge)
 * for a cost that grows with the (pair, minute) slots a batch touches, not with its results. A running total
 * per pair (rollup_total) is added to as well: what /metrics' counters read.
 */
import type Database from 'better-sqlite3';
import { TIER_SECONDS, type Tier } from '../../../contract/index.js';
import {
  type Bucket,
  bucketResults,
  combineMinute,
  emptyBucket,
  jitterOf,
  mergeInto,
  type RollupResult,
} from '../../rollup/bucket.js';
import { decodeSketch, encodeSketch } from '../../rollup/sketch.js';
import type { PutOutcome } from './results.js';
import { ROLLUP_COLUMNS, ROLLUP_SELECT, type RollupRow, rowParams, toBucket } from './rollup-rows.js';

export interface RollupWriter {
  /** Folds the results a put inserted into every tier. Must run inside the put's transaction. */
  add(outcome: PutOutcome): void;
}

export function rollupWriter(db: Database.Database): RollupWriter {
  registerSketchMerge(db);
  const tiers = Object.fromEntries(
    (Object.keys(TIER_SECONDS) as Tier[]).map((tier) => [
      tier,
      {
        get: db.prepare<[number, number, number], RollupRow>(
          `SELECT ${ROLLUP_SELECT} FROM rollup_${tier} r WHERE destination = ? AND source = ? AND t = ?`,
        ),
        put: db.prepare(
          `INSERT INTO rollup_${tier} (${ROLLUP_COLUMNS.join(', ')}) VALUES (${ROLLUP_COLUMNS.map(() => '?').join(', ')})
           ON CONFLICT (t, destination, source) DO UPDATE SET ${ROLLUP_COLUMNS.slice(3)
             .map((c) => `${c} = excluded.${c}`)
             .join(', ')}`,
        ),
      },
    ]),
  ) as Record<
    Tier,
    { get: Database.Statement<[number, number, number], RollupRow>; put: Database.Statement }
  >;

  // Hour and day rows are added to in one statement, without reading them into JS first: every column adds
  // (or keeps its min / max / newest), and the sketches merge in pinger_sketch_merge, registered below.
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
  ];
  const addInto = (tier: 'hour' | 'day') =>
    db.prepare(
      `INSERT INTO rollup_${tier} (${ROLLUP_COLUMNS.join(', ')}) VALUES (${ROLLUP_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (t, destination, source) DO UPDATE SET
         ${SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
         rtt_min = coalesce(min(rtt_min, excluded.rtt_min), rtt_min, excluded.rtt_min),
         rtt_max = coalesce(max(rtt_max, excluded.rtt_max), rtt_max, excluded.rtt_max),
         sketch = pinger_sketch_merge(sketch, excluded.sketch),
         last_status = CASE WHEN excluded.last_result >= last_result THEN excluded.last_status ELSE last_status END,
         last_result = max(last_result, excluded.last_result)`,
    );
  const merged = { hour: addInto('hour'), day: addInto('day') };

  const addTotal = db.prepare(
    `INSERT INTO rollup_total (destination, source, sent, reply) VALUES (?, ?, ?, ?)
     ON CONFLICT (destination, source) DO UPDATE SET sent = sent + excluded.sent, reply = reply + excluded.reply`,
  );

  // The replies of one pair's minute in send order: to recompute its jitter when batches interleave. Through
  // the destination's index: left to itself the planner takes the source's, which for an agent probing 1,000
  // destinations a second walks 60,000 rows per minute recomputed instead of 60 (7 ms each, measured).
  const minuteReplies = db.prepare<[number, bigint, bigint, number], { rtt: number }>(
    `SELECT rtt FROM results INDEXED BY results_destination
     WHERE destination = ? AND rtime >= ? AND rtime < ? AND source = ? AND status = 'reply' ORDER BY rtime`,
  );

  /** Adds `delta` into the stored row of a merged tier (hour, day), or stores it as the first. */
  function foldInto(tier: 'hour' | 'day', source: number, deltas: Map<string, Bucket>) {
    const statement = merged[tier];
    for (const [key, delta] of deltas) {
      const [destination, t] = key.split('/').map(Number) as [number, number];
      statement.run(rowParams(destination, source, t, delta));
    }
  }

  return {
    add({ source, inserted }) {
      if (inserted.length === 0) return;
      const input: RollupResult<number>[] = inserted.map(({ destination, result }) => ({
        destination,
        rtime: result.rtime,
        status: result.status,
        rtt: result.rtt,
      }));
      const hours = new Map<string, Bucket>();
      const days = new Map<string, Bucket>();
      for (const { destination, minute, bucket } of bucketResults(input)) {
        const row = tiers.minute.get.get(destination, source, minute);
        // What the merged tiers must add: the batch's bucket, with the jitter the minute gained (a Δ joining
        // it to what was stored, or the minute recomputed).
        const delta = { ...bucket, firstReply: null, lastReply: null };
        let stored = bucket;
        if (row) {
          stored = toBucket(row);
          const before = { sum: stored.jitterSum, count: stored.jitterCount };
          if (!combineMinute(stored, bucket).exact) {
            const ns = BigInt(minute) * 1_000_000_000n;
            const rtts = minuteReplies.all(destination, ns, ns + 60_000_000_000n, source).map((r) => r.rtt);
            const j = jitterOf(rtts);
            stored.jitterSum = j.sum;
            stored.jitterCount = j.count;
          }
          delta.jitterSum = stored.jitterSum - before.sum;
          delta.jitterCount = stored.jitterCount - before.count;
        }
        tiers.minute.put.run(rowParams(destination, source, minute, stored));
        for (const [tier, into] of [
          ['hour', hours],
          ['day', days],
        ] as const) {
          const t = minute - (minute % TIER_SECONDS[tier]);
          const key = `${destination}/${t}`;
          const have = into.get(key);
          // A tier's delta is its own bucket: the minute's sketch object must not be shared and merged twice.
          if (have) mergeInto(have, delta);
          else into.set(key, mergeInto(emptyBucket(), delta));
        }
      }
      foldInto('hour', source, hours);
      foldInto('day', source, days);
      const totals = new Map<number, [sent: number, reply: number]>();
      for (const { destination, result } of inserted) {
        const total = totals.get(destination) ?? [0, 0];
        total[0]++;
        if (result.status === 'reply') total[1]++;
        totals.set(destination, total);
      }
      for (const [destination, [sent, reply]] of totals) addTotal.run(destination, source, sent, reply);
    },
  };
}

/** `pinger_sketch_merge(a, b)`: the encoded merge of two encoded sketches, for SQL that adds rollup rows. */
export function registerSketchMerge(db: Database.Database) {
  db.function('pinger_sketch_merge', { deterministic: true }, (a: unknown, b: unknown) => {
    const sketch = decodeSketch(a as Uint8Array);
    sketch.merge(decodeSketch(b as Uint8Array));
    return Buffer.from(encodeSketch(sketch));
  });
}
