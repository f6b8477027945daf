/**
 * Pure mappers for the rollup items (see rollups.ts for the design): their keys, their expiry per tier, and
 * buckets to and from item attributes. Nothing else builds these keys or reads these attributes.
 *
 * | item                | pk               | sk                                       | other               |
 * |---------------------|------------------|------------------------------------------|---------------------|
 * | minute fragments    | `UF#<day>#<shard>`| `m#<minute:10>#<source>#<batch digest:16>#<part>` | `f` = {destination: bytes}, `t`, `source` |
 * | minutes of an hour (compacted) | `U#<destination>`| `n#<hour:10>#<source>`        | `m` = [{`t`, bucket}] |
 * | hour (compacted)    | `U#<destination>`| `h#<hour:10>#<source>`                   | `qpk`=`H#<day>#<shard>`, bucket |
 * | day (compacted)     | `U#<destination>`| `d#<day:10>#<source>`                    | bucket              |
 * | dirty hour / day    | `UQ`             | `h<hour:10>` / `d<day:10>`               | `w`, `at`, `swept`  |
 *
 * Times in keys are seconds since the epoch, zero-padded to 10 digits so keys sort by time.
 */
import { type Retention, STATUSES, type Status } from '../../../contract/index.js';
import type { Bucket } from '../../rollup/bucket.js';
import { decodeSketch, encodeSketch } from '../../rollup/sketch.js';
import type { Item, Key } from './items.js';

/**
 * Shards per day: of the packed fragments' partitions (`UF#`) and of the `rollupsByTime` index (hours). More
 * means fewer other destinations' fragments in a read of one destination, but more fragment items per batch
 * (one per minute and shard it touches) and more Queries per summary and compaction.
 */
export const ROLLUP_SHARDS = 8;
/** An expiry that never comes (9999-12-31): for what is kept forever, so every read filter stays one test. */
export const FOREVER = 253_402_300_799;
/** The partition of the dirty-slot items. */
export const DIRTY_PARTITION = 'UQ';

const pad = (seconds: number) => String(seconds).padStart(10, '0');

export const rollupPartition = (destination: string): string => `U#${destination}`;
/**
 * The partition of the packed fragments of one day and shard: every destination of the shard shares it, so a
 * batch writes one item per (minute, shard) it touches, and a read of one destination reads its shard's.
 */
export const fragmentPartition = (day: number, shard: number): string => `UF#${day}#${shard}`;
export const fragmentSk = (minute: number, source: string, digest: string, part: number): string =>
  `m#${pad(minute)}#${source}#${digest.slice(0, 16)}#${part}`;
export const hourSk = (hour: number, source: string): string => `h#${pad(hour)}#${source}`;
export const minutesSk = (hour: number, source: string): string => `n#${pad(hour)}#${source}`;
export const daySk = (day: number, source: string): string => `d#${pad(day)}#${source}`;
/** The first and last sort key of a tier's items with t in [from, to) seconds. */
export function tierRange(
  prefix: 'm' | 'n' | 'h' | 'd',
  from: number,
  to: number,
): { lo: string; hi: string } {
  return { lo: `${prefix}#${pad(from)}#`, hi: `${prefix}#${pad(to - 1)}#~` };
}
/** t (seconds) of a rollup item's sort key. */
export const slotOfSk = (sk: string): number => Number(sk.slice(2, 12));

/** Which of {@link ROLLUP_SHARDS} a destination's items go to in the time index: a stable hash of its id. */
export function shardOf(destination: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < destination.length; i++) h = Math.imul(h ^ destination.charCodeAt(i), 0x01000193);
  return (h >>> 0) % ROLLUP_SHARDS;
}
export const hourIndexKey = (day: number, shard: number): string => `H#${day}#${shard}`;

export const dirtyKey = (tier: 'h' | 'd', t: number): Key => ({
  pk: DIRTY_PARTITION,
  sk: `${tier}${pad(t)}`,
});

/** Expiry (epoch seconds) of a slot ending at `end` kept `keep` seconds: the moment SQLite's prune takes it. */
export const expiryOf = (end: number, keep: number | null): number => (keep === null ? FOREVER : end + keep);

/** A result that arrives already past retention is kept this long (the shortest retention there is). */
export const RAW_GRACE_SECONDS = 86_400;

/**
 * Expiry of a raw result sent at `rtime` (ns), stored at `nowSeconds`: hidden once rtime is more than `raw`
 * seconds before now (SQLite's prune takes rtime < now − raw), but never within a day of arriving: SQLite keeps
 * such a result until its next prune pass, and for that day a replay of its batch is still recognised.
 */
export function rawExpiry(rtime: string, retention: Retention, nowSeconds: number): number {
  if (retention.raw === null) return FOREVER;
  const seconds = rtime.length > 9 ? Number(rtime.slice(0, -9)) : 0;
  return Math.max(seconds + 1 + retention.raw, nowSeconds + RAW_GRACE_SECONDS);
}

/** The attributes that hold a bucket on an hour or day item. */
export function bucketAttributes(b: Bucket): Item {
  return {
    sent: b.sent,
    st: b.statuses,
    pt: b.processTimed,
    mn: Number.isFinite(b.rttMin) ? b.rttMin : null,
    mx: Number.isFinite(b.rttMax) ? b.rttMax : null,
    s: b.rttSum,
    ss: b.rttSumSquares,
    js: b.jitterSum,
    jc: b.jitterCount,
    sketch: encodeSketch(b.sketch),
    lr: b.lastResult ? String(b.lastResult.rtime) : null,
    ls: b.lastResult?.status ?? null,
  };
}

/** The bucket of an hour or day item. */
export function bucketOfItem(item: Item): Bucket {
  return {
    sent: item.sent as number,
    statuses: (item.st as number[]).slice(0, STATUSES.length),
    // Absent from items compacted before the count existed: those counted none.
    processTimed: (item.pt as number | undefined) ?? 0,
    rttMin: (item.mn as number | null) ?? Number.POSITIVE_INFINITY,
    rttMax: (item.mx as number | null) ?? Number.NEGATIVE_INFINITY,
    rttSum: item.s as number,
    rttSumSquares: item.ss as number,
    jitterSum: item.js as number,
    jitterCount: item.jc as number,
    firstReply: null,
    lastReply: null,
    sketch: decodeSketch(item.sketch as Uint8Array),
    lastResult:
      item.lr === null || item.lr === undefined
        ? null
        : { rtime: BigInt(item.lr as string), status: item.ls as Status },
  };
}
