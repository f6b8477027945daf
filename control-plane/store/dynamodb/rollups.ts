/**
 * Rollups, stats and retention on DynamoDB (issue 10), within the ingest budget of ≤ 45 requests per 1,000
 * results.
 *
 * ## Why fragments, not counters
 *
 * The SQLite store adds each batch into its minute, hour and day rows inside the batch's transaction. Here an
 * UpdateItem per (pair, minute) would cost one request per pair per batch (10 destinations: +10 per batch of
 * 1,000, 51 in all; 1,000 destinations: +1,000), and a retried batch would add twice. Instead a batch writes,
 * inside the BatchWriteItem groups it writes anyway, **fragments**: its results per (destination, minute) in
 * compact form (rollup/fragment.ts, 8–22 bytes each). Writing the batch again writes the same keys with the same
 * bytes; two batches that overlap hold some results twice, and the merge takes each result once by identity.
 * So rollups count exactly once under replays, partial retries and overlaps, and the minute's jitter is
 * computed over all its replies in send order — the rule of rollup/bucket.ts, with no difference from SQLite.
 *
 * ## Why packed: one item per (batch, minute, shard), not per (destination, minute)
 *
 * A fragment item per (destination, minute) doubled the items of a batch that covers 1,000 destinations with
 * one result each (92 requests per 1,000 results). So the fragments of every destination of one shard
 * ({@link ROLLUP_SHARDS} = 8, a stable hash of the destination) go into ONE item per (batch, minute, shard):
 * `UF#<day>#<shard>` / `m#<minute>#<source>#<digest>#<part>`, `f` = {destination: fragment bytes}. A batch
 * writes at most 8 such items per minute it touches, whatever the number of destinations: 1,000 results over
 * 1,000 destinations in one minute = 1,000 + 8 + 2 dirty items = 41 groups. Why per shard rather than one item
 * per batch: a read of one destination's fragments reads its shard's items only (1/8 of the fleet's), and
 * those live in the base table, read strongly consistent; why not more shards: a batch spanning two minutes
 * must still fit (1,000 + 16 + 4 = 41 groups), and summary and compaction read each shard's partition.
 * Item size is bounded (rollup-write.ts). Idempotence is unchanged: the items are keyed by the batch digest.
 *
 * Reading one destination's minutes from packed items costs a read of its shard's whole items (DynamoDB bills
 * what a Query reads, not what it returns). So fragments serve only minutes not compacted yet — the current
 * hour and late (dirty) hours; compaction writes, per (pair, hour), one **minute item** (`U#<destination>` /
 * `n#<hour>#<source>`, its 60 minute buckets, kept for minute retention) beside the hour item, and a minute
 * read of one pair is 1 Query of its minute items + 1 Query of its shard's fragments per dirty run.
 *
 * Request arithmetic per batch (ingest.ts): 1 BatchGetItem (the config head META, the sentinel, destinations
 * the instance's cache does not know yet, live-destinations.ts), + 1 Query of the destination partition when
 * more than 98 are unknown (after a config change), then ceil((results + fragment items + dirty items) / 25)
 * BatchWriteItems; fragment items = (minute, shard) pairs the batch touches, dirty items = hours + days it
 * touches (usually 2). 1,000 results over 10 destinations in one minute: 1 + ceil(1,010 / 25) = 42. 1,000
 * results over 1,000 destinations: 1 + ceil(1,010 / 25) = 42 (43 right after a config change); it was 92.
 *
 * ## Hours and days: compacted by `prune`, read from fragments until then
 *
 * Minutes of dirty hours are read straight from their fragments. Hours and days need compact items (30 days of
 * one pair is 720 hour items, not 43,200 minutes of fragments), which no batch can update in place. They are
 * **compacted**: every batch also rewrites one dirty item per hour and day it touched (`UQ`/`h<hour>`,
 * `UQ`/`d<day>`, with the batch digest and the time, in the final group after all its fragments). `prune` — the
 * maintenance pass hosts already run on a timer — reads the dirty items, and for each hour that has ended and
 * has been quiet for {@link QUIET_SECONDS} reads the hour's fragment items of every shard (one Query per shard
 * and day, for all the day's dirty hours at once), writes each pair's minute item and hour item, and marks the
 * slot swept with a condition on the digest and time it read: a batch that rewrote the dirty item meanwhile
 * leaves it dirty for the next pass. Days are compacted the same way from hour items (read through the
 * `rollupsByTime` index, eventually consistent: hence the quiet time) once all their hours are swept and
 * quiet. Compaction is deterministic (fragments in key order), so two passes at once write the same items.
 *
 * A read trusts a compacted hour or day (or an hour's minute item) only when its slot is clean (no dirty item,
 * or a swept one); for a dirty slot it merges the minute fragments (hours) or the hours (days) itself. A late
 * batch (a spool replayed after an outage) makes its old slots dirty again: reads include it at once, and the
 * next pass recompacts.
 *
 * Query cost of reads (dirty slots are normally only the current hour and day): `readStats` of one pair over
 * 30 days (step 1h) = 1 Query of dirty items + 1 of hour items + 1 of the dirty hour's fragments = 3 (it reads
 * per destination: one destination is the usual graph); at step 1m, 1 of dirty items + 1 of minute items + 1
 * of the current hour's fragments. `summary` reads every pair at once: 1 Query of dirty items, then the
 * whole hours through the time index and the partial hours at both ends (and dirty hours) from the fragment
 * items, one Query per shard and per day the range touches, ≈ 8 × 5 = 40 for 24 hours whatever the number of
 * destinations (+ pages of 1 MB), + 1 for the destination list when filtered by labels or destination. The
 * hour index is eventually consistent: a summary may miss an hour compacted in the last second or so.
 *
 * `totals` (the running counters /metrics exports) sum the day tier of each pair over all time: per destination
 * 1 Query of day items (+ 1–2 for the current, dirty day), + 2 for the dirty items. They only grow as long as
 * day rollups are kept forever (the default); a finite `day` retention makes them drop as days expire, and a
 * batch that arrives after its minutes' retention is not counted (it writes no fragment).
 *
 * ## Retention: TTL per tier
 *
 * Every item carries `expireAt` = the end of its slot (raw: its rtime, and at least a day
 * after it arrives) + the tier's retention, the moment SQLite's prune would delete it; reads hide what has expired and DynamoDB's TTL deletes it within days, for
 * free. `prune` therefore deletes nothing (`deleted` is 0); it compacts. Compaction must run within minute
 * retention (60 days) of a slot, or its hour and day lose what only the fragments held: the Node host calls it
 * every minute, the Lambda deployment every 5 minutes (infra/maintenance.ts). Fragments of minutes already past minute retention when they arrive are not written (a batch that
 * late is kept raw only, and raw is shorter).
 */

import type { SummaryRow } from '../../../contract/index.js';
import {
  type Retention,
  type StatsPoint,
  type StatsResponse,
  TIER_SECONDS,
} from '../../../contract/index.js';
import { type Bucket, emptyBucket, mergeInto, REPLY } from '../../rollup/bucket.js';
import { figuresOf } from '../../rollup/figures.js';
import { minuteFromFragments } from '../../rollup/fragment.js';
import { chooseStep, StepError } from '../../rollup/step.js';
import { type PairFilter, type PairTotal, type PruneOutcome, type StatsStore, StoreError } from '../store.js';
import { type Item, PART } from './items.js';
import type { Requests } from './requests.js';
import {
  bucketAttributes,
  bucketOfItem,
  DIRTY_PARTITION,
  daySk,
  dirtyKey,
  expiryOf,
  fragmentPartition,
  hourIndexKey,
  hourSk,
  minutesSk,
  ROLLUP_SHARDS,
  rollupPartition,
  shardOf,
  slotOfSk,
  tierRange,
} from './rollup-items.js';
import { TTL_ATTRIBUTE } from './schema.js';

/** A dirty slot is compacted only after this long without a write: the time index has caught up by then. */
export const QUIET_SECONDS = 60;
/** Hours and days one pass compacts at most. */
export const HOURS_PER_PASS = 96;
export const DAYS_PER_PASS = 8;
/** The end of time as the keys write it (10 digits of seconds): totals read every slot before it. */
const TIME_END = 9_999_999_999;
/** Destinations read at once by a stats read. */
const READ_CONCURRENCY = 8;

const NS = 1_000_000_000n;
const HOUR = TIER_SECONDS.hour;
const DAY = TIER_SECONDS.day;

type Tier = 'n' | 'h' | 'd';
/** Buckets of one destination: source → slot start (seconds) → bucket. */
type Slots = Map<string, Map<number, Bucket>>;

export function dynamoStats(db: Requests, retention: Retention, nowSeconds: () => number): StatsStore {
  /** Items of one destination's tier with t in [from, to), unexpired, of one source if given. */
  async function tierItems(destination: string, tier: Tier, from: number, to: number, source?: string) {
    if (to <= from) return [];
    const { lo, hi } = tierRange(tier, from, to);
    const names: Record<string, string> = { '#e': TTL_ATTRIBUTE };
    const values: Item = { ':pk': rollupPartition(destination), ':lo': lo, ':hi': hi, ':now': nowSeconds() };
    let filter = '#e > :now';
    if (source !== undefined) {
      filter += ' AND #s = :s';
      names['#s'] = 'source';
      values[':s'] = source;
    }
    return db.queryAll(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        FilterExpression: filter,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ConsistentRead: true,
      },
      'rollup query',
    );
  }

  /** Slots of `tier` in [from, to) that are dirty: their compacted item may be behind their fragments. */
  async function dirtySlots(tier: 'h' | 'd', from: number, to: number): Promise<Set<number>> {
    if (to <= from) return new Set();
    const items = await db.queryAll(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        FilterExpression: 'attribute_not_exists(swept) AND #e > :now',
        ExpressionAttributeNames: { '#e': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':pk': DIRTY_PARTITION,
          ':lo': dirtyKey(tier, from).sk,
          ':hi': dirtyKey(tier, to - 1).sk,
          ':now': nowSeconds(),
        },
        ConsistentRead: true,
      },
      'rollup dirty query',
    );
    return new Set(items.map((i) => Number(String(i.sk).slice(1))));
  }

  /**
   * Minute buckets of one destination: of clean hours from their compacted minute items, of dirty hours (the
   * current one, late ones) from the fragments in its shard's packed items (its entries only).
   */
  async function minutes(
    destination: string,
    from: number,
    to: number,
    dirty: Set<number>,
    source?: string,
  ): Promise<Slots> {
    const now = nowSeconds();
    const out: Slots = new Map();
    const firstHour = from - (from % HOUR);
    for (const item of await tierItems(destination, 'n', firstHour, to, source)) {
      const hour = slotOfSk(String(item.sk));
      if (dirty.has(hour)) continue;
      for (const m of item.m as Item[]) {
        const t = m.t as number;
        if (t < from || t >= to || expiryOf(t + TIER_SECONDS.minute, retention.minute) <= now) continue;
        slotsOf(out, item.source as string).set(t, bucketOfItem(m));
      }
    }
    for (const [start, end] of runs(dirty, HOUR, firstHour, to)) {
      const fragments = await minuteFragments(destination, Math.max(start, from), Math.min(end, to), source);
      for (const [s, bySlot] of fragments) for (const [t, b] of bySlot) slotsOf(out, s).set(t, b);
    }
    return out;
  }

  /** Minute buckets of one destination from its fragments (its shard's packed items, its entries only). */
  async function minuteFragments(destination: string, from: number, to: number, source?: string) {
    const entries = await fragmentEntries(db, nowSeconds(), from, to, {
      shards: [shardOf(destination)],
      destination,
      source,
    });
    // Fragments come in key order (minute, source, digest): the merge is the same on every read.
    const grouped = new Map<string, { minute: number; source: string; fragments: Uint8Array[] }>();
    for (const entry of entries) {
      const key = `${entry.source}/${entry.t}`;
      const g = grouped.get(key);
      if (g) g.fragments.push(entry.f);
      else grouped.set(key, { minute: entry.t, source: entry.source, fragments: [entry.f] });
    }
    const out: Slots = new Map();
    for (const { minute, source: s, fragments } of grouped.values()) {
      const bucket = minuteFromFragments(minute, fragments);
      if (bucket) slotsOf(out, s).set(minute, bucket);
    }
    return out;
  }

  /** Hour buckets: compacted items of clean hours, minute fragments merged for dirty ones. */
  async function hours(
    destination: string,
    from: number,
    to: number,
    dirty: Set<number>,
    source?: string,
  ): Promise<Slots> {
    const out: Slots = new Map();
    for (const item of await tierItems(destination, 'h', from, to, source)) {
      const t = slotOfSk(String(item.sk));
      if (!dirty.has(t)) slotsOf(out, item.source as string).set(t, bucketOfItem(item));
    }
    for (const [start, end] of runs(dirty, HOUR, from, to)) {
      coarsen(out, await minuteFragments(destination, start, end, source), HOUR);
    }
    return out;
  }

  /** Day buckets: compacted items of clean days, hours merged for dirty ones. */
  async function days(
    destination: string,
    from: number,
    to: number,
    dirty: { days: Set<number>; hours: Set<number> },
    source?: string,
  ): Promise<Slots> {
    const out: Slots = new Map();
    for (const item of await tierItems(destination, 'd', from, to, source)) {
      const t = slotOfSk(String(item.sk));
      if (!dirty.days.has(t)) slotsOf(out, item.source as string).set(t, bucketOfItem(item));
    }
    for (const [start, end] of runs(dirty.days, DAY, from, to)) {
      coarsen(out, await hours(destination, start, end, dirty.hours, source), DAY);
    }
    return out;
  }

  /** Destinations a filter selects: the one named, or every one ever created (tombstones too) that matches. */
  async function destinationsOf(filter: PairFilter): Promise<string[]> {
    if (filter.destination !== undefined && filter.labels === undefined) return [filter.destination];
    const items = await db.queryAll(
      {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PART.destination },
        ConsistentRead: true,
      },
      'destination list',
    );
    return items
      .filter((d) => filter.destination === undefined || d.sk === filter.destination)
      .filter((d) =>
        Object.entries(filter.labels ?? {}).every(
          ([k, v]) => (d.labels as Record<string, string> | undefined)?.[k] === v,
        ),
      )
      .map((d) => String(d.sk));
  }

  async function dirtyFor(tier: 'm' | 'h' | 'd', from: number, to: number) {
    const [h, d] = await Promise.all([
      // Every hour the range touches: a minute read starts anywhere in one.
      dirtySlots('h', from - (from % HOUR), to),
      tier === 'd' ? dirtySlots('d', from, to) : Promise.resolve(new Set<number>()),
    ]);
    return { hours: h, days: d };
  }

  return {
    async readStats(filter) {
      let chosen: { step: number; tier: 'minute' | 'hour' | 'day' };
      try {
        chosen = chooseStep(filter.from, filter.to, filter.step);
      } catch (err) {
        if (err instanceof StepError)
          throw new StoreError(err.message, 'bad_request', 'step', { cause: err });
        throw err;
      }
      const { step, tier } = chosen;
      const fromSeconds = Number(filter.from / NS);
      const first = fromSeconds - (fromSeconds % step);
      const end = Number(filter.to / NS) + 1;
      const t = tier === 'minute' ? 'm' : tier === 'hour' ? 'h' : 'd';
      const [destinations, dirty] = await Promise.all([destinationsOf(filter), dirtyFor(t, first, end)]);
      const perDestination = await mapLimit(destinations, READ_CONCURRENCY, async (destination) => {
        const slots =
          t === 'm'
            ? await minutes(destination, first, end, dirty.hours, filter.source)
            : t === 'h'
              ? await hours(destination, first, end, dirty.hours, filter.source)
              : await days(destination, first, end, dirty, filter.source);
        return [...slots].map(([source, bySlot]) => ({
          source,
          destination,
          points: pointsOf(bySlot, step),
        }));
      });
      const series = perDestination.flat().filter((s) => s.points.length > 0);
      series.sort((a, b) => compare(a.destination, b.destination) || compare(a.source, b.source));
      return { step, series } satisfies StatsResponse;
    },

    async summary(filter) {
      const toSeconds = Number(filter.to / NS);
      const end = toSeconds - (toSeconds % 60) + 60;
      const start = end - filter.window;
      // Whole hours inside the window come from the hour tier, the rest from the minute tier (as in SQLite).
      let hourStart = Math.ceil(start / HOUR) * HOUR;
      let hourEnd = Math.floor(end / HOUR) * HOUR;
      if (hourEnd <= hourStart) [hourStart, hourEnd] = [end, end];
      // Every pair at once through the time index: a Query per shard and day of each range, however many
      // destinations there are (one Query per destination would be 3 per destination).
      const [allowed, dirty] = await Promise.all([
        filter.destination === undefined && filter.labels === undefined
          ? Promise.resolve(undefined)
          : destinationsOf(filter).then((ids) => new Set(ids)),
        dirtySlots('h', hourStart, hourEnd),
      ]);
      const now = nowSeconds();
      const acrossHours = async (from: number, to: number) => {
        const out: Item[] = [];
        if (to <= from) return out;
        for (let day = from - (from % DAY); day < to; day += DAY) {
          const key = (shard: number) => hourIndexKey(day, shard);
          const range = tierRange('h', Math.max(from, day), Math.min(to, day + DAY));
          out.push(...(await indexItems(db, key, now, range, filter.source)));
        }
        return out.filter((i) => allowed === undefined || allowed.has(i.destination as string));
      };
      const acrossMinutes = async (from: number, to: number) =>
        (await fragmentEntries(db, now, from, to, { shards: ALL_SHARDS, source: filter.source })).filter(
          (e) => allowed === undefined || allowed.has(e.destination),
        );
      const minuteRanges = (
        [[start, hourStart], [hourEnd, end], ...runs(dirty, HOUR, hourStart, hourEnd)] as const
      )
        .map(([a, b]): [number, number] => [a, b])
        .filter(([a, b]) => b > a);
      const [hourItems, fragmentLists] = await Promise.all([
        acrossHours(hourStart, hourEnd),
        Promise.all(minuteRanges.map(([a, b]) => acrossMinutes(a, b))),
      ]);
      // pair → slot → bucket, hours from clean compacted items and minutes from their fragments.
      const pairs = new Map<string, Map<number, Bucket>>();
      const slotsOfPair = (i: { destination?: unknown; source?: unknown }) => {
        const key = `${i.destination}\n${i.source}`;
        let m = pairs.get(key);
        if (!m) {
          m = new Map();
          pairs.set(key, m);
        }
        return m;
      };
      for (const item of hourItems) {
        const t = slotOfSk(String(item.sk));
        if (!dirty.has(t)) slotsOfPair(item).set(t, bucketOfItem(item));
      }
      const fragments = new Map<string, { entry: FragmentEntry; list: Uint8Array[] }>();
      for (const entry of fragmentLists.flat()) {
        const key = `${entry.destination}\n${entry.source}\n${entry.t}`;
        const have = fragments.get(key);
        if (have) have.list.push(entry.f);
        else fragments.set(key, { entry, list: [entry.f] });
      }
      for (const { entry, list } of fragments.values()) {
        const bucket = minuteFromFragments(entry.t, list);
        if (bucket) slotsOfPair(entry).set(entry.t, bucket);
      }
      const rows: SummaryRow[] = [];
      for (const [key, bySlot] of pairs) {
        const [destination, source] = key.split('\n') as [string, string];
        const b = emptyBucket();
        for (const t of [...bySlot.keys()].sort((x, y) => x - y)) mergeInto(b, bySlot.get(t)!);
        if (b.sent === 0) continue;
        rows.push({
          source,
          destination,
          ...figuresOf(b),
          lastResult: `${b.lastResult!.rtime}`,
          lastStatus: b.lastResult!.status,
        });
      }
      const worst = (row: SummaryRow) => (filter.sort === 'loss' ? row.loss : (row.p50 ?? -1));
      return rows.sort(
        (a, b) => worst(b) - worst(a) || compare(a.destination, b.destination) || compare(a.source, b.source),
      );
    },

    async totals(filter) {
      // Every day there is: compacted days, and dirty days merged from their hours (and those from minutes).
      const [destinations, dirty] = await Promise.all([destinationsOf(filter), dirtyFor('d', 0, TIME_END)]);
      const perDestination = await mapLimit(destinations, READ_CONCURRENCY, async (destination) => {
        const slots = await days(destination, 0, TIME_END, dirty, filter.source);
        return [...slots].map(([source, bySlot]): PairTotal => {
          let sent = 0;
          let received = 0;
          let processTimed = 0;
          for (const b of bySlot.values()) {
            sent += b.sent;
            received += b.statuses[REPLY]!;
            processTimed += b.processTimed;
          }
          return { destination, source, sent, received, processTimed };
        });
      });
      return perDestination
        .flat()
        .filter((t) => t.sent > 0)
        .sort((a, b) => compare(a.destination, b.destination) || compare(a.source, b.source));
    },

    async prune(now): Promise<PruneOutcome> {
      return compact(db, retention, Math.floor(now.getTime() / 1000));
    },
  };
}

/**
 * One compaction pass (see the file header): dirty hours that ended and have been quiet, then dirty days whose
 * hours are all swept and quiet. Deletes nothing; `more` when the pass left eligible slots for the next one.
 */
async function compact(db: Requests, retention: Retention, now: number): Promise<PruneOutcome> {
  const queue = await db.queryAll(
    {
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#e > :now',
      ExpressionAttributeNames: { '#e': TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':pk': DIRTY_PARTITION, ':now': now },
      ConsistentRead: true,
    },
    'rollup dirty query',
  );
  const slot = (i: Item) => Number(String(i.sk).slice(1));
  const tierOf = (i: Item) => String(i.sk)[0];
  const quiet = (i: Item) => (i.at as number) <= now - QUIET_SECONDS;
  const dirtyHours = queue.filter(
    (i) => tierOf(i) === 'h' && i.swept !== true && slot(i) + HOUR <= now && quiet(i),
  );
  // The hours of one day are compacted together: one Query per shard reads all their fragments.
  const byDay = new Map<number, Item[]>();
  for (const item of dirtyHours.slice(0, HOURS_PER_PASS)) {
    const day = slot(item) - (slot(item) % DAY);
    byDay.set(day, [...(byDay.get(day) ?? []), item]);
  }
  for (const [day, items] of byDay) await compactHours(db, retention, now, day, items);

  const unsettledHours = queue.filter(
    (i) =>
      tierOf(i) === 'h' &&
      (i.swept !== true || (i.sweptAt as number) > now - QUIET_SECONDS || dirtyHours.includes(i)),
  );
  const dirtyDays = queue.filter(
    (i) =>
      tierOf(i) === 'd' &&
      i.swept !== true &&
      slot(i) + DAY <= now &&
      quiet(i) &&
      !unsettledHours.some((h) => slot(h) >= slot(i) && slot(h) < slot(i) + DAY),
  );
  for (const item of dirtyDays.slice(0, DAYS_PER_PASS)) await compactDay(db, retention, now, item);
  return {
    deleted: 0,
    more: dirtyHours.length > HOURS_PER_PASS || dirtyDays.length > DAYS_PER_PASS,
  };
}

/**
 * Compacts some hours of one day for every pair from their fragments, then marks each swept if no batch
 * touched it since it was read.
 */
async function compactHours(db: Requests, retention: Retention, now: number, day: number, dirty: Item[]) {
  // Once an hour's first minute is past retention some fragments may be gone: its hour item stays as it is.
  const live = dirty
    .map((item) => Number(String(item.sk).slice(1)))
    .filter((hour) => expiryOf(hour + TIER_SECONDS.minute, retention.minute) > now);
  if (live.length > 0) {
    const from = Math.min(...live);
    const to = Math.max(...live) + HOUR;
    const wanted = new Set(live);
    const fragments = await fragmentEntries(db, now, from, to, { shards: ALL_SHARDS });
    // pair → hour → minute → fragments, in key order.
    const grouped = new Map<string, Map<number, Map<number, Uint8Array[]>>>();
    for (const f of fragments) {
      const minute = f.t;
      const hour = minute - (minute % HOUR);
      if (!wanted.has(hour)) continue;
      const pair = `${f.destination}\n${f.source}`;
      const byHour = grouped.get(pair) ?? new Map<number, Map<number, Uint8Array[]>>();
      grouped.set(pair, byHour);
      const byMinute = byHour.get(hour) ?? new Map<number, Uint8Array[]>();
      byHour.set(hour, byMinute);
      byMinute.set(minute, [...(byMinute.get(minute) ?? []), f.f]);
    }
    const items: Item[] = [];
    for (const [pair, byHour] of grouped) {
      const [destination, source] = pair.split('\n') as [string, string];
      for (const [hour, byMinute] of byHour) {
        const bucket = emptyBucket();
        const minuteList: Item[] = [];
        for (const minute of [...byMinute.keys()].sort((a, b) => a - b)) {
          const b = minuteFromFragments(minute, byMinute.get(minute)!);
          if (!b) continue;
          minuteList.push({ t: minute, ...bucketAttributes(b) });
          mergeInto(bucket, b);
        }
        // The hour's minutes, for reads of one destination: its fragments share their items with the
        // other destinations of the shard. Kept as long as the hour's last minute.
        items.push({
          pk: rollupPartition(destination),
          sk: minutesSk(hour, source),
          [TTL_ATTRIBUTE]: expiryOf(hour + HOUR, retention.minute),
          destination,
          source,
          m: minuteList,
        });
        items.push({
          pk: rollupPartition(destination),
          sk: hourSk(hour, source),
          qpk: hourIndexKey(day, shardOf(destination)),
          [TTL_ATTRIBUTE]: expiryOf(hour + HOUR, retention.hour),
          destination,
          source,
          ...bucketAttributes(bucket),
        });
      }
    }
    await putAll(db, items);
  }
  await Promise.all(dirty.map((item) => markSwept(db, item, now)));
}

/** Compacts one day for every pair from its hour items, then marks it swept if no batch touched it since. */
async function compactDay(db: Requests, retention: Retention, now: number, dirty: Item) {
  const day = Number(String(dirty.sk).slice(1));
  const hourItems = await indexItems(
    db,
    (shard) => hourIndexKey(day, shard),
    now,
    tierRange('h', day, day + DAY),
  );
  const grouped = new Map<string, Item[]>();
  for (const h of hourItems) {
    const pair = `${h.destination}\n${h.source}`;
    grouped.set(pair, [...(grouped.get(pair) ?? []), h]);
  }
  const items: Item[] = [];
  for (const [pair, list] of grouped) {
    const [destination, source] = pair.split('\n') as [string, string];
    const bucket = emptyBucket();
    list.sort((a, b) => compare(String(a.sk), String(b.sk)));
    for (const h of list) mergeInto(bucket, bucketOfItem(h));
    items.push({
      pk: rollupPartition(destination),
      sk: daySk(day, source),
      [TTL_ATTRIBUTE]: expiryOf(day + DAY, retention.day),
      destination,
      source,
      ...bucketAttributes(bucket),
    });
  }
  await putAll(db, items);
  await markSwept(db, dirty, now);
}

/** One destination's fragment in one packed item. */
interface FragmentEntry {
  destination: string;
  source: string;
  /** The minute, seconds since the epoch. */
  t: number;
  f: Uint8Array;
}

const ALL_SHARDS = Array.from({ length: ROLLUP_SHARDS }, (_, shard) => shard);

/**
 * The unexpired fragments of minutes in [from, to) in the packed items of `shards` (one Query per shard and
 * day), as one entry per destination, in key order (day, minute, source, digest, part) so that every read and
 * compaction of a minute merges its fragments in the same order. Strongly consistent: the items live in the
 * base table. With `destination`, only that destination's entries are asked for (a projection of its map key,
 * and a filter on it): the Query still reads — and DynamoDB still bills — its shard's items whole.
 */
async function fragmentEntries(
  db: Requests,
  now: number,
  from: number,
  to: number,
  { shards, source, destination }: { shards: readonly number[]; source?: string; destination?: string },
): Promise<FragmentEntry[]> {
  const out: FragmentEntry[] = [];
  if (to <= from) return out;
  const names: Record<string, string> = { '#e': TTL_ATTRIBUTE };
  const filters = ['#e > :now'];
  const values: Item = { ':now': now };
  let projection: string | undefined;
  if (source !== undefined) {
    names['#s'] = 'source';
    filters.push('#s = :s');
    values[':s'] = source;
  }
  if (destination !== undefined) {
    Object.assign(names, { '#s': 'source', '#t': 't', '#f': 'f', '#d': destination });
    filters.push('attribute_exists(#f.#d)');
    projection = 'sk, #t, #s, #f.#d';
  }
  for (let day = from - (from % DAY); day < to; day += DAY) {
    const { lo, hi } = tierRange('m', Math.max(from, day), Math.min(to, day + DAY));
    const lists = await Promise.all(
      shards.map((shard) =>
        db.queryAll(
          {
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            FilterExpression: filters.join(' AND '),
            ProjectionExpression: projection,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ...values,
              ':pk': fragmentPartition(day, shard),
              ':lo': lo,
              ':hi': hi,
            },
            ConsistentRead: true,
          },
          'rollup fragment query',
        ),
      ),
    );
    // A (destination, minute)'s fragments all live in one shard's partition, returned in key order.
    for (const item of lists.flat()) {
      for (const [d, f] of Object.entries(item.f as Record<string, Uint8Array>)) {
        if (destination === undefined || d === destination)
          out.push({ destination: d, source: item.source as string, t: item.t as number, f });
      }
    }
  }
  return out;
}

/** Every unexpired item of one day in a sort-key range across the shards of the `rollupsByTime` index. */
async function indexItems(
  db: Requests,
  key: (shard: number) => string,
  now: number,
  range: { lo: string; hi: string },
  source?: string,
): Promise<Item[]> {
  const names: Record<string, string> = { '#e': TTL_ATTRIBUTE };
  const values: Item = { ':now': now, ':lo': range.lo, ':hi': range.hi };
  let filter = '#e > :now';
  if (source !== undefined) {
    filter += ' AND #s = :s';
    names['#s'] = 'source';
    values[':s'] = source;
  }
  const shards = await Promise.all(
    Array.from({ length: ROLLUP_SHARDS }, (_, shard) =>
      db.queryAll(
        {
          IndexName: 'rollupsByTime',
          KeyConditionExpression: 'qpk = :q AND sk BETWEEN :lo AND :hi',
          FilterExpression: filter,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ':q': key(shard) },
        },
        'rollup compaction query',
      ),
    ),
  );
  // Key order, so that every compaction of the slot merges in the same order.
  return shards.flat().sort((a, b) => compare(`${a.pk}\n${a.sk}`, `${b.pk}\n${b.sk}`));
}

async function putAll(db: Requests, items: Item[]) {
  for (let i = 0; i < items.length; i += 25 * 4) {
    const chunk = items.slice(i, i + 100);
    const groups: Item[][] = [];
    for (let j = 0; j < chunk.length; j += 25) groups.push(chunk.slice(j, j + 25));
    await Promise.all(groups.map((g) => db.putGroup(g)));
  }
}

/** Marks a dirty slot swept, unless a batch rewrote it (another digest or time) since it was read. */
async function markSwept(db: Requests, dirty: Item, now: number) {
  await db.update(
    {
      Key: { pk: dirty.pk, sk: dirty.sk },
      UpdateExpression: 'SET swept = :true, sweptAt = :now',
      ConditionExpression: 'w = :w AND #at = :at',
      ExpressionAttributeNames: { '#at': 'at' },
      ExpressionAttributeValues: { ':true': true, ':now': now, ':w': dirty.w, ':at': dirty.at },
    },
    'rollup sweep mark',
  );
}

function slotsOf(slots: Slots, source: string): Map<number, Bucket> {
  let bySlot = slots.get(source);
  if (!bySlot) {
    bySlot = new Map();
    slots.set(source, bySlot);
  }
  return bySlot;
}

/** Merges finer buckets of `from` into `into` at slots of `width` seconds (in time order). */
function coarsen(into: Slots, from: Slots, width: number) {
  for (const [source, bySlot] of from) {
    const target = slotsOf(into, source);
    for (const t of [...bySlot.keys()].sort((a, b) => a - b)) {
      const slot = t - (t % width);
      const have = target.get(slot);
      if (have) mergeInto(have, bySlot.get(t)!);
      else target.set(slot, mergeInto(emptyBucket(), bySlot.get(t)!));
    }
  }
}

/**
 * Contiguous runs [start, end) of the `width`-wide slots in `set` that start in [from, to): whole slots, as a
 * compacted item would hold them.
 */
function runs(set: Set<number>, width: number, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (const t of [...set].filter((t) => t >= from && t < to).sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && last[1] === t) last[1] = t + width;
    else out.push([t, t + width]);
  }
  return out;
}

/** Points at `step` from buckets of one pair, oldest first (a slot of one bucket needs no merge). */
function pointsOf(bySlot: Map<number, Bucket>, step: number): StatsPoint[] {
  const slots = new Map<number, Bucket>();
  for (const t of [...bySlot.keys()].sort((a, b) => a - b)) {
    const slot = t - (t % step);
    const have = slots.get(slot);
    if (have) mergeInto(have, bySlot.get(t)!);
    else slots.set(slot, mergeInto(emptyBucket(), bySlot.get(t)!));
  }
  return [...slots].map(([t, b]) => ({ t: `${t}000000000`, ...figuresOf(b) }));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
