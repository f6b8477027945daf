/**
 * Reading the rollups: stats series at a step from the coarsest tier that serves it, and the overview summary
 * over a window (whole 6 hours, hours and 10 minutes from their tiers, the edges from the minute tier, or for a
 * window ending now the rolling sums of rolling-summary.ts), each plus the minutes the open-minute cache still
 * holds (open-minutes.ts), which no tier has yet. Pure SQL range reads on the tiers'
 * primary key (t, destination, source) or their (destination, source, t) index; merging and figures are
 * rollup/'s. The running totals (rollup_total) likewise: closed minutes from the table, open ones from the cache.
 */
import type Database from 'better-sqlite3';
import type { StatsResponse, SummaryRow, Tier } from '../../../contract/index.js';
import { type Bucket, emptyBucket, mergeInto, REPLY } from '../../rollup/bucket.js';
import { figuresOf } from '../../rollup/figures.js';
import { chooseStep, StepError } from '../../rollup/step.js';
import {
  type PairFilter,
  type PairTotal,
  type StatsFilter,
  StoreError,
  type SummaryFilter,
} from '../store.js';
import type { PendingMinute } from './open-minutes.js';
import type { RollingSummary } from './rolling-summary.js';
import { ROLLUP_SELECT, type RollupRow, toBucket } from './rollup-rows.js';
import {
  addBucket,
  addRow,
  newAccumulator,
  PAIR_KEY,
  SUMMARY_SELECT,
  type SummaryAccumulator,
  type SummaryColumns,
  toBucketOf,
} from './summary-sums.js';

export interface StatsReader {
  readStats(filter: StatsFilter): StatsResponse;
  summary(filter: SummaryFilter): SummaryRow[];
  totals(filter: PairFilter): PairTotal[];
}

const NS = 1_000_000_000n;

/** The pairs a filter selects, as SQL conditions and as a test for cached minutes. */
interface PairSelection {
  sql: string[];
  params: unknown[];
  matches(destination: number, source: number): boolean;
}

/** What a read accumulates per pair. */
interface PairAccumulator<T> {
  destination: number;
  source: number;
  value: T;
}

/** Every pair. */
const ALL: PairSelection = { sql: [], params: [], matches: () => true };
/** A slot start beyond any result's (year 2554): "and everything after". */
const FAR = 2 ** 34;

/**
 * @param rolling the summary kept rolling for windows ending now; without it every summary adds up the tiers
 *   over its window (the reference the rolling one is tested against)
 */
export function statsReader(
  db: Database.Database,
  pending: () => Iterable<PendingMinute>,
  rolling?: RollingSummary,
): StatsReader {
  const keyOf = db.prepare<[string], { num: number }>('SELECT num FROM result_keys WHERE id = ?');
  const idOf = db.prepare<[number], { id: string }>('SELECT id FROM result_keys WHERE num = ?');
  const allIds = db.prepare<[], { num: number; id: string }>('SELECT num, id FROM result_keys');
  const labelled = db.prepare<[string, string], { num: number }>(
    `SELECT k.num FROM destinations x JOIN result_keys k ON k.id = x.id
     WHERE EXISTS (SELECT 1 FROM json_each(x.labels) j WHERE j.key = ? AND j.value = ?)`,
  );
  const statements = new Map<string, Database.Statement<unknown[], RollupRow>>();
  const summaryStatements = new Map<string, Database.Statement<unknown[], SummaryColumns>>();

  /** Rows of `tier` with t in [from, to) for the pairs `where` selects. */
  function rows(tier: Tier, from: number, to: number, where: PairSelection) {
    const sql = `SELECT ${ROLLUP_SELECT} FROM rollup_${tier} r
      WHERE r.t >= ? AND r.t < ? ${where.sql.map((w) => `AND ${w}`).join(' ')}`;
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[], RollupRow>(sql);
      statements.set(sql, statement);
    }
    return statement.iterate(from, to, ...where.params);
  }

  /** The summary's columns of `tier` rows with t in [from, to) (arrays: see {@link SummaryColumns}). */
  function summaryRows(tier: SummaryTier, from: number, to: number, where: PairSelection) {
    const sql = `SELECT ${SUMMARY_SELECT} FROM rollup_${tier} r
      WHERE r.t >= ? AND r.t < ? ${where.sql.map((w) => `AND ${w}`).join(' ')}`;
    let statement = summaryStatements.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[], SummaryColumns>(sql).raw(true) as unknown as Database.Statement<
        unknown[],
        SummaryColumns
      >;
      summaryStatements.set(sql, statement);
    }
    return statement.iterate(from, to, ...where.params) as IterableIterator<SummaryColumns>;
  }

  const totalStatements = new Map<string, Database.Statement<unknown[], TotalColumns>>();

  /** The running totals of closed minutes for the pairs `where` selects. */
  function totalRows(where: PairSelection) {
    const sql = `SELECT r.destination, r.source, r.sent, r.reply, r.process_timed FROM rollup_total r
      WHERE 1 = 1 ${where.sql.map((w) => `AND ${w}`).join(' ')}`;
    let statement = totalStatements.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[], TotalColumns>(sql).raw(true) as unknown as Database.Statement<
        unknown[],
        TotalColumns
      >;
      totalStatements.set(sql, statement);
    }
    return statement.iterate(...where.params) as IterableIterator<TotalColumns>;
  }

  /** The selection for a pair filter, or undefined when a named id is unknown (nothing can match). */
  function select(filter: PairFilter): PairSelection | undefined {
    const sql: string[] = [];
    const params: unknown[] = [];
    const nums: { destination?: number; source?: number } = {};
    for (const [column, id] of [
      ['destination', filter.destination],
      ['source', filter.source],
    ] as const) {
      if (id === undefined) continue;
      const found = keyOf.get(id);
      if (!found) return undefined;
      sql.push(`r.${column} = ?`);
      params.push(found.num);
      nums[column] = found.num;
    }
    const labelSets: Set<number>[] = [];
    for (const [key, value] of Object.entries(filter.labels ?? {})) {
      sql.push(`r.destination IN (SELECT k.num FROM destinations x JOIN result_keys k ON k.id = x.id
        WHERE EXISTS (SELECT 1 FROM json_each(x.labels) j WHERE j.key = ? AND j.value = ?))`);
      params.push(key, value);
      labelSets.push(new Set(labelled.all(key, value).map((r) => r.num)));
    }
    return {
      sql,
      params,
      matches: (destination, source) =>
        (nums.destination === undefined || nums.destination === destination) &&
        (nums.source === undefined || nums.source === source) &&
        labelSets.every((set) => set.has(destination)),
    };
  }

  /** The pair's accumulator in `pairs`, made by `make` when missing. */
  function pairOf<T>(
    pairs: Map<number, Map<number, PairAccumulator<T>>>,
    destination: number,
    source: number,
    make: () => T,
  ): PairAccumulator<T> {
    let bySource = pairs.get(destination);
    if (!bySource) {
      bySource = new Map();
      pairs.set(destination, bySource);
    }
    let pair = bySource.get(source);
    if (!pair) {
      pair = { destination, source, value: make() };
      bySource.set(source, pair);
    }
    return pair;
  }

  /** Ids of keys, each looked up once per read. */
  // result_keys rows are never deleted nor changed (migrations.ts): what was read once stays true.
  const known = new Map<number, string>();
  let loadedAll = false;
  function ids(pairs: number) {
    // Many pairs: every key in one statement (one row per source and destination) beats a lookup per pair.
    if (pairs > 100 && !loadedAll) {
      for (const { num, id } of allIds.all()) known.set(num, id);
      loadedAll = true;
    }
    return (num: number) => {
      let id = known.get(num);
      if (id === undefined) {
        id = idOf.get(num)?.id;
        if (id === undefined) return String(num);
        known.set(num, id);
      }
      return id;
    };
  }

  /**
   * Every pair's sums over the tier rows of [start, end): whole 6 hours, hours and 10 minutes from their tiers,
   * the rest from the minute tier. Tens of thousands of rows at 10,000 pairs: summed column by column.
   */
  function closedSums(start: number, end: number, where: PairSelection) {
    const pairs = new Map<number, SummaryAccumulator>();
    for (const [tier, from, to] of cover(start, end, SUMMARY_WIDTHS)) {
      if (to <= from) continue;
      for (const row of summaryRows(tier, from, to, where)) {
        const key = row[0] * PAIR_KEY + row[1];
        let acc = pairs.get(key);
        if (!acc) {
          acc = newAccumulator(row[0], row[1]);
          pairs.set(key, acc);
        }
        addRow(acc, row);
      }
    }
    return pairs;
  }

  /** The summary's sums the slow way: the tiers over the window, then the open minutes in it. */
  function slowSums(start: number, end: number, where: PairSelection) {
    const pairs = closedSums(start, end, where);
    for (const p of pending()) {
      if (p.minute < start || p.minute >= end || !where.matches(p.destination, p.source)) continue;
      const key = p.destination * PAIR_KEY + p.source;
      let acc = pairs.get(key);
      if (!acc) {
        acc = newAccumulator(p.destination, p.source);
        pairs.set(key, acc);
      }
      addBucket(acc, p.bucket);
    }
    return pairs;
  }

  return {
    totals(filter) {
      const where = select(filter);
      if (!where) return [];
      // rollup_total counts closed minutes only (rollups.ts); the open ones are added from the cache, so a
      // counter neither lags a result already stored nor drops when its minute closes.
      const pairs = new Map<number, Map<number, PairAccumulator<PairCounts>>>();
      for (const [destination, source, sent, reply, processTimed] of totalRows(where))
        pairOf(pairs, destination, source, () => [sent, reply, processTimed]);
      for (const p of pending()) {
        if (!where.matches(p.destination, p.source)) continue;
        const total = pairOf(pairs, p.destination, p.source, (): PairCounts => [0, 0, 0]).value;
        total[0] += p.bucket.sent;
        total[1] += p.bucket.statuses[REPLY]!;
        total[2] += p.bucket.processTimed;
      }
      const id = ids(pairs.size);
      const out: PairTotal[] = [];
      for (const bySource of pairs.values()) {
        for (const { destination, source, value } of bySource.values())
          out.push({
            destination: id(destination),
            source: id(source),
            sent: value[0],
            received: value[1],
            processTimed: value[2],
          });
      }
      return out.sort((a, b) => compare(a.destination, b.destination) || compare(a.source, b.source));
    },

    readStats(filter) {
      const { step, tier } = stepFor(filter);
      const where = select(filter);
      if (!where) return { step, series: [] };
      const fromSeconds = Number(filter.from / NS);
      const first = fromSeconds - (fromSeconds % step);
      const end = Number(filter.to / NS) + 1;
      const pairs = new Map<number, Map<number, PairAccumulator<Map<number, Bucket>>>>();
      const add = (destination: number, source: number, t: number, bucket: Bucket) => {
        const slots = pairOf(pairs, destination, source, () => new Map<number, Bucket>()).value;
        const slot = t - (t % step);
        const have = slots.get(slot);
        // A slot of one row (step = tier width) needs no merge.
        slots.set(slot, have ? mergeInto(have, bucket) : bucket);
      };
      for (const row of rows(tier, first, end, where)) add(row.destination, row.source, row.t, toBucket(row));
      for (const p of pending()) {
        if (p.minute >= first && p.minute < end && where.matches(p.destination, p.source))
          add(p.destination, p.source, p.minute, mergeInto(emptyBucket(), p.bucket));
      }
      const id = ids(pairs.size);
      const series: StatsResponse['series'] = [];
      for (const bySource of pairs.values()) {
        for (const { destination, source, value } of bySource.values()) {
          series.push({
            source: id(source),
            destination: id(destination),
            points: [...value]
              .sort((a, b) => a[0] - b[0])
              .map(([slot, bucket]) => ({ t: `${slot}000000000`, ...figuresOf(bucket) })),
          });
        }
      }
      series.sort((a, b) => compare(a.destination, b.destination) || compare(a.source, b.source));
      return { step, series };
    },

    summary(filter) {
      const where = select(filter);
      if (!where) return [];
      const toSeconds = Number(filter.to / NS);
      const end = toSeconds - (toSeconds % 60) + 60;
      const start = end - filter.window;
      const pairs = rolling?.read(filter.window, start, end, where.matches, (from) =>
        closedSums(from, FAR, ALL),
      ) ?? [...slowSums(start, end, where).values()];
      const id = ids(pairs.length);
      const out: SummaryRow[] = [];
      for (const acc of pairs) {
        out.push({
          source: id(acc.source),
          destination: id(acc.destination),
          ...figuresOf(toBucketOf(acc)),
          lastResult: acc.lastResult,
          lastStatus: acc.lastStatus,
        });
      }
      const worst = (row: SummaryRow) => (filter.sort === 'loss' ? row.loss : (row.p50 ?? -1));
      return out.sort(
        (a, b) => worst(b) - worst(a) || compare(a.destination, b.destination) || compare(a.source, b.source),
      );
    },
  };
}

/** The tiers a summary reads, by width. */
type SummaryTier = 'minute' | 'tenmin' | 'hour' | 'sixhour';
const SUMMARY_TIERS: Record<number, SummaryTier> = {
  60: 'minute',
  600: 'tenmin',
  3600: 'hour',
  21600: 'sixhour',
};
/** Widths of {@link SUMMARY_TIERS}, widest first. */
export const SUMMARY_WIDTHS = [21_600, 3_600, 600, 60];

/**
 * [from, to) as the fewest whole slots: the widest first, the edges left over by narrower ones (`widths`
 * descending, ending with 60). With {@link SUMMARY_WIDTHS}: at most 9 minutes, 5 ten-minute rows and 5 hours
 * each side of the whole 6 hours.
 */
export function cover(from: number, to: number, widths: readonly number[]): [SummaryTier, number, number][] {
  if (to <= from) return [];
  const [width, ...narrower] = widths as [number, ...number[]];
  if (narrower.length === 0) return [[SUMMARY_TIERS[width]!, from, to]];
  const a = Math.ceil(from / width) * width;
  const b = Math.floor(to / width) * width;
  if (b <= a) return cover(from, to, narrower);
  return [...cover(from, a, narrower), [SUMMARY_TIERS[width]!, a, b], ...cover(b, to, narrower)];
}

/** A pair's running totals as {@link statsReader}'s `totals` adds them up. */
type PairCounts = [sent: number, received: number, processTimed: number];

/** A row of rollup_total: destination, source, sent, reply, process_timed. */
type TotalColumns = [destination: number, source: number, sent: number, reply: number, processTimed: number];

/** The step and tier, a step with too many points being the caller's error on `step`. */
function stepFor(filter: StatsFilter) {
  try {
    return chooseStep(filter.from, filter.to, filter.step);
  } catch (err) {
    if (err instanceof StepError) throw new StoreError(err.message, 'bad_request', 'step', { cause: err });
    throw err;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
