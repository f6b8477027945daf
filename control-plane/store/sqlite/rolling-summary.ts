/**
 * The overview summary of windows ending now, kept rolling, so that a summary of 10,000 pairs reads one
 * accumulator per pair instead of adding up the tens of tier rows per pair that cover its window (at 10,000
 * pairs, 50,000 rows for 5 minutes and ~400,000 for 24 hours: seconds of row reads and sketch decoding).
 *
 * Per window length w (each length the API asks for: 5 min, 1 h, 24 h), a state holds, per pair, the sums of
 * every closed minute from its start S on (all the tier rows of [S, ∞)). What the open-minute cache holds is
 * added per request, as the slow path does. The state moves:
 *
 * - when the tiers count something (a minute closes, or a late batch joins a closed minute: the tier writer's
 *   `counted` hook, which fires per flushed minute, never per result), the same bucket is added to every state
 *   whose start is at or before its minute;
 * - when a request's window starts later than S (time went on), the minute rows of [S, start) are read back
 *   and taken away (counts, RTT and jitter sums, sketch bins: all sums, exact for the integers, compensated for
 *   the floats), and S moves; a request more than min(w, 30 min) later rebuilds the state from the tiers
 *   instead, as the first request does (one slow pass per window length and process; not persisted).
 * - min and max do not subtract: when a minute that held a pair's min or max leaves, that pair's min and max
 *   are read again from the tiers with SQL MIN/MAX (SQLite does it in C; per pair through the pair indexes
 *   of the minute and hour tiers when few pairs need it, grouped over the window's tiers when many do). The
 *   last result never needs that: every other minute of the window is later, so the minute holding it leaves
 *   only with the pair's last row, and the pair leaves the state.
 *
 * The answer equals the slow path's (the tiers over the window, then the cache): same counts, sketch bins (so
 * the same percentiles), min, max and last result; moments equal but for float rounding. Where it could not
 * be, the caller takes the slow path: a window starting before S (a past `to`), a tier minute at or after the
 * window's end (a future rtime), a window starting where a prune pass may have deleted tier rows (minute
 * retention shorter than the window: its minutes could not be taken away; the horizon is kept in meta). A
 * prune pass that may delete rows at or after S drops the state, and so does a failed transaction (the tier
 * writer's hook may have counted what was rolled back); the next read rebuilds it.
 */
import type Database from 'better-sqlite3';
import type { Retention } from '../../../contract/index.js';
import { type MinuteBucket, REPLY } from '../../rollup/bucket.js';
import type { PendingMinute } from './open-minutes.js';
import { cover, SUMMARY_WIDTHS } from './stats-read.js';
import {
  addBucket,
  addRow,
  copyAccumulator,
  newAccumulator,
  PAIR_KEY,
  SUMMARY_SELECT,
  type SummaryAccumulator,
  type SummaryColumns,
} from './summary-sums.js';

export interface RollingSummary {
  /**
   * Every pair's sums (those `matches` selects) over [start, end), open minutes included, or undefined when
   * the state cannot answer (see the module header) and the caller must add up the tiers itself.
   * @param closedSums every pair's sums over the tier rows of [from, ∞): how a state is built
   */
  read(
    window: number,
    start: number,
    end: number,
    matches: (destination: number, source: number) => boolean,
    closedSums: (from: number) => Map<number, SummaryAccumulator>,
  ): SummaryAccumulator[] | undefined;
  /** What the tiers newly counted for a source (tier writer hook, inside its transaction). */
  counted(source: number, minutes: readonly MinuteBucket<number>[]): void;
  /** Forgets every state (a transaction failed); the next read rebuilds. */
  reset(): void;
  /**
   * A prune pass at `at` is about to run: notes (in meta, outside its transactions) how far it may delete,
   * and drops the states whose rows it may delete.
   */
  pruning(at: Date): void;
}

interface WindowState {
  /** Seconds; the state sums the tier rows of [start, ∞). */
  start: number;
  pairs: Map<number, SummaryAccumulator>;
}

/** meta's key for the prune horizon (seconds), written by {@link RollingSummary.pruning}. */
const HORIZON_KEY = 'summary_pruned_to';
/** Pairs whose min or max left above which one grouped read beats a read per pair. */
const PER_PAIR_LIMIT = 300;
/** A state this far behind a request is rebuilt rather than moved (seconds; also never more than w). */
const MOVE_LIMIT = 1_800;
/** A slot start beyond any result's (year 2554). */
const FAR = 2 ** 34;

export function rollingSummary(
  db: Database.Database,
  pending: () => Iterable<PendingMinute>,
  retention: Retention,
): RollingSummary {
  const states = new Map<number, WindowState>();
  const readHorizon = db.prepare<[], number>(`SELECT value FROM meta WHERE key = '${HORIZON_KEY}'`).pluck();
  const writeHorizon = db.prepare<[number]>(
    `INSERT INTO meta (key, value) VALUES ('${HORIZON_KEY}', ?)
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );
  /**
   * Tier rows with t ≤ this may have been pruned (by this process or an earlier one: kept in meta): a window
   * starting there cannot be a state's, as its minutes could no longer be taken away.
   */
  let horizon = readHorizon.get() ?? Number.NEGATIVE_INFINITY;
  /** The newest minute the tiers hold; undefined until first read. */
  let newest: number | undefined;
  const newestMinute = db.prepare<[], number | null>('SELECT max(t) FROM rollup_minute').pluck();
  const minuteRows = db
    .prepare<[number, number], SummaryColumns>(
      `SELECT ${SUMMARY_SELECT} FROM rollup_minute r WHERE r.t >= ? AND r.t < ?`,
    )
    .raw(true);
  // Per pair, through the (destination, source, t) indexes (the 10-minute and 6-hour tiers have none).
  const pairExtremes = Object.fromEntries(
    (['minute', 'hour'] as const).map((tier) => [
      tier,
      db
        .prepare<[number, number, number, number], [number | null, number | null]>(
          `SELECT min(rtt_min), max(rtt_max) FROM rollup_${tier}
           WHERE destination = ? AND source = ? AND t >= ? AND t < ?`,
        )
        .raw(true),
    ]),
  ) as Record<
    'minute' | 'hour',
    Database.Statement<[number, number, number, number], [number | null, number | null]>
  >;
  const groupedExtremes = Object.fromEntries(
    (['minute', 'tenmin', 'hour', 'sixhour'] as const).map((tier) => [
      tier,
      db
        .prepare<[number, number], [number, number, number | null, number | null]>(
          `SELECT destination, source, min(rtt_min), max(rtt_max) FROM rollup_${tier}
           WHERE t >= ? AND t < ? GROUP BY destination, source`,
        )
        .raw(true),
    ]),
  ) as Record<string, Database.Statement<[number, number], [number, number, number | null, number | null]>>;

  /** Reads min and max again for pairs whose min or max left the state. */
  function refresh(state: WindowState, dirty: Set<SummaryAccumulator>) {
    const reading: SummaryAccumulator[] = [];
    for (const acc of dirty) {
      acc.rttMin = Number.POSITIVE_INFINITY;
      acc.rttMax = Number.NEGATIVE_INFINITY;
      if (acc.statuses[REPLY]! > 0) reading.push(acc);
    }
    const take = (acc: SummaryAccumulator, min: number | null, max: number | null) => {
      if (min !== null && min < acc.rttMin) acc.rttMin = min;
      if (max !== null && max > acc.rttMax) acc.rttMax = max;
    };
    if (reading.length <= PER_PAIR_LIMIT) {
      const ranges = cover(state.start, FAR, [3_600, 60]);
      for (const acc of reading) {
        for (const [tier, from, to] of ranges) {
          const [min, max] = pairExtremes[tier as 'minute' | 'hour'].get(
            acc.destination,
            acc.source,
            from,
            to,
          )!;
          take(acc, min, max);
        }
      }
      return;
    }
    const wanted = new Map(reading.map((acc) => [acc.destination * PAIR_KEY + acc.source, acc]));
    for (const [tier, from, to] of cover(state.start, FAR, SUMMARY_WIDTHS)) {
      for (const [destination, source, min, max] of groupedExtremes[tier]!.iterate(from, to)) {
        const acc = wanted.get(destination * PAIR_KEY + source);
        if (acc) take(acc, min, max);
      }
    }
  }

  /** Takes the minutes of [state.start, to) away; false when a row was never in the state (rebuild). */
  function move(state: WindowState, to: number): boolean {
    const dirty = new Set<SummaryAccumulator>();
    for (const row of minuteRows.iterate(state.start, to)) {
      const key = row[0] * PAIR_KEY + row[1];
      const acc = state.pairs.get(key);
      if (!acc) return false;
      addRow(acc, row, -1);
      if (acc.sent === 0) {
        state.pairs.delete(key);
        dirty.delete(acc);
      } else if (row[9] === acc.rttMin || row[10] === acc.rttMax) dirty.add(acc);
    }
    state.start = to;
    refresh(state, dirty);
    return true;
  }

  return {
    read(window, start, end, matches, closedSums) {
      newest ??= newestMinute.get() ?? Number.NEGATIVE_INFINITY;
      if (newest >= end || start <= horizon) return undefined;
      let state = states.get(window);
      if (state && start < state.start) return undefined;
      if (state && start > state.start) {
        if (start - state.start > Math.min(window, MOVE_LIMIT) || !move(state, start)) state = undefined;
      }
      if (!state) {
        state = { start, pairs: closedSums(start) };
        states.set(window, state);
      }
      // The open minutes join a copy: the state holds closed minutes only.
      const joined = new Map<number, SummaryAccumulator>();
      for (const p of pending()) {
        if (p.minute < start || p.minute >= end || !matches(p.destination, p.source)) continue;
        const key = p.destination * PAIR_KEY + p.source;
        let acc = joined.get(key);
        if (!acc) {
          const closed = state.pairs.get(key);
          acc = closed ? copyAccumulator(closed) : newAccumulator(p.destination, p.source);
          joined.set(key, acc);
        }
        addBucket(acc, p.bucket);
      }
      const out = [...joined.values()];
      for (const [key, acc] of state.pairs)
        if (!joined.has(key) && matches(acc.destination, acc.source)) out.push(acc);
      return out;
    },

    counted(source, minutes) {
      for (const { minute } of minutes) if (newest !== undefined && minute > newest) newest = minute;
      for (const state of states.values()) {
        for (const { destination, minute, bucket } of minutes) {
          if (minute < state.start) continue;
          const key = destination * PAIR_KEY + source;
          let acc = state.pairs.get(key);
          if (!acc) {
            acc = newAccumulator(destination, source);
            state.pairs.set(key, acc);
          }
          addBucket(acc, bucket);
        }
      }
    },

    reset() {
      states.clear();
      newest = undefined;
    },

    pruning(at) {
      const next = horizonAt(at, retention);
      if (next <= horizon) return;
      // Written before any row goes: a crash between the two leaves a horizon too far on, never short.
      writeHorizon.run(next);
      horizon = next;
      for (const [window, state] of states) if (horizon >= state.start) states.delete(window);
    },
  };
}

/** The newest slot start a prune at `at` may delete from a tier the summary reads (retention.ts: t ≤ it). */
function horizonAt(at: Date, retention: Retention): number {
  const seconds = Math.floor(at.getTime() / 1000);
  const horizons = [
    retention.minute === null ? null : seconds - retention.minute - 60,
    retention.minute === null ? null : seconds - retention.minute - 600,
    retention.hour === null ? null : seconds - retention.hour - 3_600,
    retention.hour === null ? null : seconds - retention.hour - 21_600,
  ].filter((h): h is number => h !== null);
  return Math.max(Number.NEGATIVE_INFINITY, ...horizons);
}
