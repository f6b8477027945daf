/**
 * What a batch adds to the rollups, as items for the batch's own BatchWriteItem groups (design and request
 * arithmetic: rollups.ts). Per (destination, minute) the batch touches: one fragment holding those results
 * (rollup/fragment.ts), keyed by the batch digest so that writing the batch again overwrites it with itself.
 * Per hour and day touched: one dirty-slot item, rewritten by every batch, which tells compaction (and reads)
 * that the slot's compacted item may be behind. Fragments of minutes already past minute retention are not
 * written: they would be expired on arrival and could only make a compaction of their hour lose what it had.
 */
import { type ResultInput, type Retention, TIER_SECONDS } from '../../../contract/index.js';
import { minuteOf } from '../../rollup/bucket.js';
import { encodeFragment } from '../../rollup/fragment.js';
import type { Item } from './items.js';
import {
  dirtyKey,
  expiryOf,
  fragmentIndexKey,
  fragmentSk,
  rollupPartition,
  shardOf,
} from './rollup-items.js';
import { TTL_ATTRIBUTE } from './schema.js';

export interface RollupItems {
  fragments: Item[];
  /** Dirty-slot items: written after every fragment of the batch, since compaction trusts what they say. */
  dirty: Item[];
}

/** The rollup items of a batch of `source`'s unique results, stored at `nowSeconds`. */
export function rollupItems(
  source: string,
  results: Iterable<ResultInput>,
  digest: string,
  nowSeconds: number,
  retention: Retention,
): RollupItems {
  const groups = new Map<string, { destination: string; minute: number; results: ResultInput[] }>();
  for (const r of results) {
    const minute = minuteOf(r.rtime);
    const key = `${r.destination}/${minute}`;
    const group = groups.get(key);
    if (group) group.results.push(r);
    else groups.set(key, { destination: r.destination, minute, results: [r] });
  }
  const fragments: Item[] = [];
  const hours = new Set<number>();
  const days = new Set<number>();
  for (const { destination, minute, results: list } of groups.values()) {
    const expireAt = expiryOf(minute + TIER_SECONDS.minute, retention.minute);
    if (expireAt <= nowSeconds) continue;
    const day = minute - (minute % TIER_SECONDS.day);
    hours.add(minute - (minute % TIER_SECONDS.hour));
    days.add(day);
    fragments.push({
      pk: rollupPartition(destination),
      sk: fragmentSk(minute, source, digest),
      qpk: fragmentIndexKey(day, shardOf(destination)),
      [TTL_ATTRIBUTE]: expireAt,
      destination,
      source,
      t: minute,
      f: encodeFragment(minute, list),
    });
  }
  // A dirty item lives as long as the fragments its compaction reads: after that the compacted item is final.
  const dirty = [
    ...[...hours].map((t) => ({ tier: 'h' as const, t, end: t + TIER_SECONDS.hour })),
    ...[...days].map((t) => ({ tier: 'd' as const, t, end: t + TIER_SECONDS.day })),
  ].map(({ tier, t, end }) => ({
    ...dirtyKey(tier, t),
    [TTL_ATTRIBUTE]: expiryOf(end, retention.minute),
    w: digest,
    at: nowSeconds,
  }));
  return { fragments, dirty };
}
