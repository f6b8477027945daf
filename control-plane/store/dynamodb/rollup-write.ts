/**
 * What a batch adds to the rollups, as items for the batch's own BatchWriteItem groups (design and request
 * arithmetic: rollups.ts). Per (minute, shard) the batch touches: one item packing the fragment
 * (rollup/fragment.ts) of every destination of that shard, `f` = {destination: bytes}, keyed by the batch
 * digest so that writing the batch again overwrites it with itself. Per hour and day touched: one dirty-slot
 * item, rewritten by every batch, which tells compaction (and reads) that the slot's compacted item may be
 * behind. Fragments of minutes already past minute retention are not written: they would be expired on
 * arrival and could only make a compaction of their hour lose what it had.
 *
 * Item size: a batch holds at most 5,000 results (contract), 8–22 bytes each in a fragment, and destination ids
 * are 20 characters: the whole batch packs into ~200 KB, under DynamoDB's 400 KB. An item is still cut into
 * parts at {@link PART_BYTES} (the same cut every time, destinations in id order), so no future limit breaks it.
 */
import { type ResultInput, type Retention, TIER_SECONDS } from '../../../contract/index.js';
import { minuteOf } from '../../rollup/bucket.js';
import { encodeFragment } from '../../rollup/fragment.js';
import type { Item } from './items.js';
import { dirtyKey, expiryOf, fragmentPartition, fragmentSk, shardOf } from './rollup-items.js';
import { TTL_ATTRIBUTE } from './schema.js';

/** Bytes of destination fragments one item holds at most: room under 400 KB for keys and names. */
export const PART_BYTES = 300_000;
/** What an entry of `f` costs besides its id and bytes (DynamoDB's per-attribute overhead, generously). */
const ENTRY_OVERHEAD = 8;

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
  // (minute, shard) → destination → its results in that minute.
  const packs = new Map<
    string,
    { minute: number; shard: number; byDestination: Map<string, ResultInput[]> }
  >();
  for (const r of results) {
    const minute = minuteOf(r.rtime);
    const shard = shardOf(r.destination);
    const key = `${minute}/${shard}`;
    let pack = packs.get(key);
    if (!pack) {
      pack = { minute, shard, byDestination: new Map() };
      packs.set(key, pack);
    }
    const list = pack.byDestination.get(r.destination);
    if (list) list.push(r);
    else pack.byDestination.set(r.destination, [r]);
  }
  const fragments: Item[] = [];
  const hours = new Set<number>();
  const days = new Set<number>();
  for (const { minute, shard, byDestination } of packs.values()) {
    const expireAt = expiryOf(minute + TIER_SECONDS.minute, retention.minute);
    if (expireAt <= nowSeconds) continue;
    const day = minute - (minute % TIER_SECONDS.day);
    hours.add(minute - (minute % TIER_SECONDS.hour));
    days.add(day);
    const parts: Record<string, Uint8Array>[] = [{}];
    let bytes = 0;
    for (const destination of [...byDestination.keys()].sort()) {
      const f = encodeFragment(minute, byDestination.get(destination)!);
      const size = destination.length + f.length + ENTRY_OVERHEAD;
      if (bytes > 0 && bytes + size > PART_BYTES) {
        parts.push({});
        bytes = 0;
      }
      parts.at(-1)![destination] = f;
      bytes += size;
    }
    parts.forEach((f, part) => {
      fragments.push({
        pk: fragmentPartition(day, shard),
        sk: fragmentSk(minute, source, digest, part),
        [TTL_ATTRIBUTE]: expireAt,
        source,
        t: minute,
        f,
      });
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
