/**
 * Rollups at ingest, written behind: the minutes still open are kept in memory and written to the tiers once
 * closed, and the raw results table is their durable log.
 *
 * Why: a batch from an agent with 10,000 destinations touches ~1,000 (pair, minute) slots and adds about one
 * result to each. Writing each slot's minute, hour and day row per batch costs three row writes per result —
 * several times the cost of storing the result. Kept open in memory until the minute closes, a slot is
 * written once for its ~60 results instead.
 *
 * The invariant, per source, with W its watermark (a minute, in table rollup_watermark):
 *
 *   the tiers hold exactly the raw results of the source's minutes ≤ W, and nothing of its minutes > W;
 *   the cache holds exactly the raw results of its minutes > W.
 *
 * - A batch's inserted results (results.ts: a retry's repeats are never seen here) of minutes ≤ W are written
 *   to the tiers at once, in the batch's transaction (addLate); those of minutes > W join the cache: each
 *   appended to its cached minute when it comes after the minute's newest result (the usual case; no bucket
 *   per batch), the others bucketed and joined (combineMinute), their minute's jitter recomputed from the raw
 *   rows when they interleave.
 * - When the source's newest minute is {@link GRACE_SECONDS} past a cached minute, that minute may close: the
 *   same transaction writes every cached minute ≤ the new W to the tiers and moves W, so tiers and watermark
 *   move together or not at all. Minutes close in whole 10-minute slots ({@link CLOSE_SECONDS}: W moves to the
 *   last minute of a slot) while the cache holds at most {@link MAX_ALIGNED_SLOTS} minutes, each as soon as
 *   it may beyond that. Why: every closing writes the 10-minute, hour, 6-hour and day rows of each pair it
 *   touches, and closing a minute at a time writes each of them once a minute — four upserts (a read, a
 *   sketch merge, a write) per minute row, most of the cost of the rollups for an agent with few destinations.
 *   Closed ten at a time, the 10-minute row is written once, whole, and the others once per 10 minutes. The
 *   price is memory (up to 12 open minutes per pair instead of 3, hence the cap, ~25 MB) and, after a crash,
 *   up to 12 minutes of raw rows to read back instead of 3.
 * - Reads add the cached minutes to what the tiers answer (pending()).
 * - If a transaction fails, and when the store opens, the cache is rebuilt from the raw rows of the minutes
 *   after each W (reload()). After a crash (SIGKILL, power cut: the results' commits are synchronous=FULL), a
 *   stored result is either in a minute ≤ W — then it was written to the tiers in the transaction that stored
 *   it or in the one that moved W past it, both committed — or in a minute > W, then it is in no tier and the
 *   rebuild counts it from its raw row, once, because the raw table's primary key holds each result once.
 *   Nothing is counted twice or lost, which is what "rollups in the same transaction as the results" promised;
 *   what is deferred is only work, not durability.
 * - Retention never deletes a raw row the cache still needs: a prune first closes the minutes before its raw
 *   horizon (flushBefore).
 *
 * One store instance per file: another process writing the same file would not see this cache.
 */
import type Database from 'better-sqlite3';
import type { Status, Timing } from '../../../contract/index.js';
import {
  bucketResults,
  combineMinute,
  type MinuteBucket,
  minuteOf,
  type RollupResult,
} from '../../rollup/bucket.js';
import { MinuteAppender } from '../../rollup/minute-appender.js';
import type { PutOutcome } from './results.js';
import type { TierWriter } from './rollups.js';

/** The timing a raw row timed by the kernel on both ends is given back (lateness is not needed here). */
const KERNEL_TIMING: Timing = { send: 'kernel', receive: 'kernel', lateness: 0 };

/** A minute closes once its source has sent results of a minute this much later (2 minutes) at the earliest. */
export const GRACE_SECONDS = 120;

/** Minutes close in whole slots of this width (10 minutes) while the cache holds few enough of them. */
export const CLOSE_SECONDS = 600;

/**
 * How many (pair, minute)s the cache may hold, over all sources, and still close minutes in whole
 * {@link CLOSE_SECONDS} slots: ~800 bytes each with its sketch, ~25 MB. An agent with 10,000 destinations
 * holds 30,000 at three open minutes each, and closes a minute at a time.
 */
export const MAX_ALIGNED_SLOTS = 32_768;

/** A cached (pair, minute). */
export interface PendingMinute extends MinuteBucket<number> {
  source: number;
}

export interface RollupWriter {
  /** Counts what a put inserted. Must run inside the put's transaction; call reload() if it then fails. */
  add(outcome: PutOutcome): void;
  /** Writes every cached minute before `minute` (seconds) to the tiers. Inside a write transaction. */
  flushBefore(minute: number): void;
  /** Rebuilds the cache from the database: at open, and after a transaction that failed. */
  reload(): void;
  /** The cached minutes, which no tier holds yet. */
  pending(): Iterable<PendingMinute>;
}

interface SourceCache {
  /** The watermark minute; -Infinity when nothing of the source was ever closed. */
  watermark: number;
  newest: number;
  /** The open minutes of each destination (a few: those within the grace period, or the 10-minute slot). */
  slots: Map<number, MinuteAppender<number>[]>;
  /** How many minutes `slots` holds. */
  count: number;
}

/** The cached minute of a destination, if any. */
function slotOf(c: SourceCache, destination: number, minute: number): MinuteAppender<number> | undefined {
  const list = c.slots.get(destination);
  if (list) for (const slot of list) if (slot.minute === minute) return slot;
  return undefined;
}

/** Caches a new minute. */
function addSlot(c: SourceCache, slot: MinuteAppender<number>) {
  const list = c.slots.get(slot.destination);
  if (list) list.push(slot);
  else c.slots.set(slot.destination, [slot]);
  c.count++;
  if (slot.minute > c.newest) c.newest = slot.minute;
}

export function openMinutes(
  db: Database.Database,
  tiers: TierWriter,
  maxAlignedSlots = MAX_ALIGNED_SLOTS,
): RollupWriter {
  const setWatermark = db.prepare(
    `INSERT INTO rollup_watermark (source, minute) VALUES (?, ?)
     ON CONFLICT (source) DO UPDATE SET minute = excluded.minute`,
  );
  const watermarks = db.prepare<[], { source: number; minute: number }>(
    'SELECT source, minute FROM rollup_watermark',
  );
  // Every key that could name a source (sources deleted since still have raw rows); small: one per source and
  // destination ever made.
  const keys = db.prepare<[], { num: number }>('SELECT num FROM result_keys');
  // `kernel`: 1 when both ends are the kernel's (migration 4's columns), what Bucket.processTimed needs of them.
  const rawAfter = db.prepare<
    [number, bigint],
    { destination: number; rtime: string; status: Status; rtt: number | null; kernel: number }
  >(
    `SELECT destination, CAST(rtime AS TEXT) AS rtime, status, rtt,
       coalesce(timing_send = 1 AND timing_receive = 1, 0) AS kernel
     FROM results WHERE source = ? AND rtime >= ?`,
  );

  let cache = new Map<number, SourceCache>();

  function cacheOf(source: number): SourceCache {
    let c = cache.get(source);
    if (!c) {
      c = {
        watermark: Number.NEGATIVE_INFINITY,
        newest: Number.NEGATIVE_INFINITY,
        slots: new Map(),
        count: 0,
      };
      cache.set(source, c);
    }
    return c;
  }

  /** Adds fresh buckets (minutes > W) into the source's cache, joining jitter or recomputing it. */
  function join(source: number, c: SourceCache, buckets: MinuteBucket<number>[]) {
    for (const b of buckets) {
      const have = slotOf(c, b.destination, b.minute);
      if (!have) {
        addSlot(c, new MinuteAppender(b.destination, b.minute, b.bucket));
        continue;
      }
      if (!combineMinute(have.bucket, b.bucket).exact) {
        // The raw rows of a minute > W are all stored (this batch's too, in this transaction): exact.
        const j = tiers.jitterFromRaw(b.destination, source, b.minute);
        have.bucket.jitterSum = j.sum;
        have.bucket.jitterCount = j.count;
      }
      have.resync();
    }
  }

  /** How many minutes the cache holds, over all sources. */
  function cached() {
    let n = 0;
    for (const c of cache.values()) n += c.count;
    return n;
  }

  /** Closes every cached minute ≤ `upTo` of a source and moves its watermark there. */
  function close(source: number, c: SourceCache, upTo: number) {
    if (upTo <= c.watermark) return;
    const closing: MinuteBucket<number>[] = [];
    for (const [destination, list] of c.slots) {
      const open = list.filter((slot) => slot.minute > upTo);
      if (open.length === list.length) continue;
      for (const slot of list) if (slot.minute <= upTo) closing.push(slot);
      if (open.length === 0) c.slots.delete(destination);
      else c.slots.set(destination, open);
    }
    c.count -= closing.length;
    tiers.addClosed(source, closing);
    setWatermark.run(source, upTo);
    c.watermark = upTo;
  }

  const writer: RollupWriter = {
    add({ source, inserted, keys }) {
      if (inserted.length === 0) return;
      const c = cacheOf(source);
      const late: RollupResult<number>[] = [];
      const unordered: RollupResult<number>[] = [];
      const touched: MinuteAppender<number>[] = [];
      for (const result of inserted) {
        const destination = keys.get(result.destination)!;
        const minute = minuteOf(result.rtime);
        if (minute <= c.watermark) {
          late.push({
            destination,
            rtime: result.rtime,
            status: result.status,
            rtt: result.rtt,
            timing: result.timing,
          });
          continue;
        }
        let slot = slotOf(c, destination, minute);
        if (!slot) {
          slot = new MinuteAppender(destination, minute);
          addSlot(c, slot);
        }
        const settled = !slot.unsettled;
        if (slot.append(result.rtime, result.status, result.rtt, result.timing)) {
          if (settled) touched.push(slot);
        } else {
          unordered.push({
            destination,
            rtime: result.rtime,
            status: result.status,
            rtt: result.rtt,
            timing: result.timing,
          });
        }
      }
      for (const slot of touched) slot.settle();
      if (late.length > 0) tiers.addLate(source, bucketResults(late));
      if (unordered.length > 0) join(source, c, bucketResults(unordered));
      const due = c.newest - GRACE_SECONDS;
      if (due <= c.watermark) return;
      // The last minute ≤ due that ends a 10-minute slot.
      const aligned = due - ((((due + 60) % CLOSE_SECONDS) + CLOSE_SECONDS) % CLOSE_SECONDS);
      if (aligned > c.watermark) close(source, c, aligned);
      if (due > c.watermark && cached() > maxAlignedSlots) close(source, c, due);
    },

    flushBefore(minute) {
      for (const [source, c] of cache) {
        let any = false;
        for (const list of c.slots.values()) for (const slot of list) if (slot.minute < minute) any = true;
        if (any) close(source, c, minute - 60);
      }
    },

    reload() {
      cache = new Map();
      for (const { source, minute } of watermarks.all()) cacheOf(source).watermark = minute;
      for (const { num } of keys.all()) {
        const c = cache.get(num);
        const from = c ? BigInt(c.watermark + 60) * 1_000_000_000n : -(2n ** 63n);
        const rows: RollupResult<number>[] = rawAfter.all(num, from).map((r) => ({
          destination: r.destination,
          rtime: r.rtime,
          status: r.status,
          rtt: r.rtt,
          timing: r.kernel === 1 ? KERNEL_TIMING : undefined,
        }));
        if (rows.length === 0) continue;
        const own = cacheOf(num);
        // Recomputed from all of each minute's rows at once: the jitter is exact without joining.
        join(num, own, bucketResults(rows));
      }
    },

    *pending() {
      for (const [source, c] of cache) {
        for (const list of c.slots.values()) {
          for (const { destination, minute, bucket } of list) yield { source, destination, minute, bucket };
        }
      }
    },
  };
  return writer;
}
