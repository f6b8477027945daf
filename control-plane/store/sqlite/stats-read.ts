/**
 * Reading the rollups: stats series at a step from the coarsest tier that serves it, and the overview summary
 * over a window (whole hours from the hour tier, the edges from the minute tier). SQL range reads on the tiers'
 * keys; a series merges its rows in JS (rollup/), the summary adds each pair's rows up in SQL first.
 */
import type Database from 'better-sqlite3';
import type { StatsPoint, StatsResponse, Status, SummaryRow, Tier } from '../../../contract/index.js';
import { type Bucket, mergeInto } from '../../rollup/bucket.js';
import { figuresOf } from '../../rollup/figures.js';
import { decodeSketch, newSketch, type Sketch } from '../../rollup/sketch.js';
import { chooseStep, StepError } from '../../rollup/step.js';
import {
  type PairFilter,
  type PairTotal,
  type StatsFilter,
  StoreError,
  type SummaryFilter,
} from '../store.js';
import { ROLLUP_SELECT, type RollupRow, toBucket } from './rollup-rows.js';

type JoinedRow = RollupRow & { source_id: string; destination_id: string };

/** A pair's rows added up by SQL (see `pairTotals`): `sketch` indexes the merged sketches, `last` is rtime+status. */
type PairSumRow = Omit<
  RollupRow,
  't' | 'first_rtime' | 'first_rtt' | 'last_rtime' | 'last_rtt' | 'sketch' | 'last_result' | 'last_status'
> & { sketch: number; last: string; source_id: string; destination_id: string };

export interface StatsReader {
  readStats(filter: StatsFilter): StatsResponse;
  summary(filter: SummaryFilter): SummaryRow[];
  totals(filter: PairFilter): PairTotal[];
}

const NS = 1_000_000_000n;

export function statsReader(db: Database.Database): StatsReader {
  const keyOf = db.prepare<[string], { num: number }>('SELECT num FROM result_keys WHERE id = ?');
  const statements = new Map<string, Database.Statement<unknown[], JoinedRow>>();

  /** Rows of `tier` with t in [from, to) for the pairs `where` selects, by pair then time. */
  function rows(tier: Tier, from: number, to: number, where: { sql: string[]; params: unknown[] }) {
    const sql = `SELECT ${ROLLUP_SELECT}, s.id AS source_id, d.id AS destination_id FROM rollup_${tier} r
      JOIN result_keys s ON s.num = r.source JOIN result_keys d ON d.num = r.destination
      WHERE r.t >= ? AND r.t < ? ${where.sql.map((w) => `AND ${w}`).join(' ')}
      ORDER BY r.destination, r.source, r.t`;
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[], JoinedRow>(sql);
      statements.set(sql, statement);
    }
    return statement.iterate(from, to, ...where.params);
  }

  // The summary adds rows up in SQL, one result row per pair: a row object per rollup row (23 columns, rtimes as
  // text) and a sort of them all took most of its time (10,000 pairs × 5 minutes: 450 ms against 90 ms, measured
  // on a loaded machine). Sketches merge in a registered aggregate that keeps the merged sketch in `collected` and
  // hands SQL its index, so nothing is encoded only to be decoded again.
  let collected: Sketch[] = [];
  db.aggregate('pinger_sketch_collect', {
    start: () => null as Sketch | null,
    step: (merged: Sketch | null, blob: unknown) => {
      const sketch = decodeSketch(blob as Uint8Array);
      if (!merged) return sketch;
      merged.merge(sketch);
      return merged;
    },
    result: (merged: Sketch | null) => collected.push(merged ?? newSketch()) - 1,
  });
  const sums = new Map<string, Database.Statement<unknown[], PairSumRow>>();

  /** Each pair's rows of `tier` with t in [from, to), added up into one bucket per pair. */
  function pairTotals(tier: Tier, from: number, to: number, where: { sql: string[]; params: unknown[] }) {
    // The newest result's status rides along its rtime, zero-padded so that text order is time order.
    const sql = `SELECT a.*, s.id AS source_id, d.id AS destination_id FROM (
        SELECT r.destination, r.source, SUM(r.sent) AS sent, SUM(r.reply) AS reply, SUM(r.timeout) AS timeout,
          SUM(r.ttl_exceeded) AS ttl_exceeded, SUM(r.unreachable) AS unreachable, SUM(r.reset) AS reset,
          SUM(r.error) AS error, MIN(r.rtt_min) AS rtt_min, MAX(r.rtt_max) AS rtt_max, SUM(r.rtt_sum) AS rtt_sum,
          SUM(r.rtt_sumsq) AS rtt_sumsq, SUM(r.jitter_sum) AS jitter_sum, SUM(r.jitter_count) AS jitter_count,
          pinger_sketch_collect(r.sketch) AS sketch, MAX(printf('%020d', r.last_result) || r.last_status) AS last
        FROM rollup_${tier} r WHERE r.t >= ? AND r.t < ? ${where.sql.map((w) => `AND ${w}`).join(' ')}
        GROUP BY r.destination, r.source
      ) a JOIN result_keys s ON s.num = a.source JOIN result_keys d ON d.num = a.destination`;
    let statement = sums.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[], PairSumRow>(sql);
      sums.set(sql, statement);
    }
    collected = [];
    const rows = statement.all(from, to, ...where.params);
    const sketches = collected;
    collected = [];
    return rows.map((row) => ({
      key: `${row.destination}/${row.source}`,
      source: row.source_id,
      destination: row.destination_id,
      bucket: {
        sent: row.sent,
        statuses: [row.reply, row.timeout, row.ttl_exceeded, row.unreachable, row.reset, row.error],
        rttMin: row.rtt_min ?? Number.POSITIVE_INFINITY,
        rttMax: row.rtt_max ?? Number.NEGATIVE_INFINITY,
        rttSum: row.rtt_sum,
        rttSumSquares: row.rtt_sumsq,
        jitterSum: row.jitter_sum,
        jitterCount: row.jitter_count,
        firstReply: null,
        lastReply: null,
        sketch: sketches[row.sketch]!,
        lastResult: { rtime: BigInt(row.last.slice(0, 20)), status: row.last.slice(20) as Status },
      } satisfies Bucket,
    }));
  }

  /** SQL conditions for a pair filter, or undefined when a named id is unknown (nothing can match). */
  function pairWhere(filter: PairFilter): { sql: string[]; params: unknown[] } | undefined {
    const sql: string[] = [];
    const params: unknown[] = [];
    for (const [column, id] of [
      ['destination', filter.destination],
      ['source', filter.source],
    ] as const) {
      if (id === undefined) continue;
      const found = keyOf.get(id);
      if (!found) return undefined;
      sql.push(`r.${column} = ?`);
      params.push(found.num);
    }
    for (const [key, value] of Object.entries(filter.labels ?? {})) {
      sql.push(`r.destination IN (SELECT k.num FROM destinations x JOIN result_keys k ON k.id = x.id
        WHERE EXISTS (SELECT 1 FROM json_each(x.labels) j WHERE j.key = ? AND j.value = ?))`);
      params.push(key, value);
    }
    return { sql, params };
  }

  return {
    totals(filter) {
      const where = pairWhere(filter);
      if (!where) return [];
      return db
        .prepare<unknown[], PairTotal>(
          `SELECT d.id AS destination, s.id AS source, r.sent, r.reply AS received FROM rollup_total r
           JOIN result_keys s ON s.num = r.source JOIN result_keys d ON d.num = r.destination
           WHERE 1 = 1 ${where.sql.map((w) => `AND ${w}`).join(' ')} ORDER BY d.id, s.id`,
        )
        .all(...where.params);
    },

    readStats(filter) {
      const { step, tier } = stepFor(filter);
      const where = pairWhere(filter);
      if (!where) return { step, series: [] };
      const fromSeconds = Number(filter.from / NS);
      const first = fromSeconds - (fromSeconds % step);
      const end = Number(filter.to / NS) + 1;
      const series: StatsResponse['series'] = [];
      let current:
        | { pair: string; points: StatsPoint[]; slot: number; bucket: Bucket | undefined }
        | undefined;
      const flush = () => {
        if (current?.bucket)
          current.points.push({ t: `${current.slot}000000000`, ...figuresOf(current.bucket) });
      };
      for (const row of rows(tier, first, end, where)) {
        const pair = `${row.destination}/${row.source}`;
        const slot = row.t - (row.t % step);
        if (current?.pair !== pair) {
          flush();
          current = { pair, points: [], slot, bucket: undefined };
          series.push({ source: row.source_id, destination: row.destination_id, points: current.points });
        } else if (current.slot !== slot) {
          flush();
          current.slot = slot;
          current.bucket = undefined;
        }
        // A slot of one row (step = tier width) needs no merge.
        const bucket = toBucket(row);
        current.bucket = current.bucket ? mergeInto(current.bucket, bucket) : bucket;
      }
      flush();
      series.sort((a, b) => compare(a.destination, b.destination) || compare(a.source, b.source));
      return { step, series };
    },

    summary(filter) {
      const where = pairWhere(filter);
      if (!where) return [];
      const toSeconds = Number(filter.to / NS);
      const end = toSeconds - (toSeconds % 60) + 60;
      const start = end - filter.window;
      // Whole hours inside the window come from the hour tier, the rest from the minute tier.
      const hourStart = Math.ceil(start / 3_600) * 3_600;
      const hourEnd = Math.floor(end / 3_600) * 3_600;
      const ranges: [Tier, number, number][] =
        hourEnd > hourStart
          ? [
              ['minute', start, hourStart],
              ['hour', hourStart, hourEnd],
              ['minute', hourEnd, end],
            ]
          : [['minute', start, end]];
      const pairs = new Map<string, { source: string; destination: string; bucket: Bucket }>();
      for (const [tier, from, to] of ranges) {
        if (to <= from) continue;
        for (const { key, source, destination, bucket } of pairTotals(tier, from, to, where)) {
          const have = pairs.get(key);
          if (have) mergeInto(have.bucket, bucket);
          else pairs.set(key, { source, destination, bucket });
        }
      }
      const out: SummaryRow[] = [...pairs.values()].map(({ source, destination, bucket }) => ({
        source,
        destination,
        ...figuresOf(bucket),
        lastResult: `${bucket.lastResult!.rtime}`,
        lastStatus: bucket.lastResult!.status,
      }));
      const worst = (row: SummaryRow) => (filter.sort === 'loss' ? row.loss : (row.p50 ?? -1));
      return out.sort(
        (a, b) => worst(b) - worst(a) || compare(a.destination, b.destination) || compare(a.source, b.source),
      );
    },
  };
}

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
