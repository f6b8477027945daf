/**
 * Storing a batch of results on DynamoDB: whole or none, duplicates counted, rollups added exactly once, 42
 * requests per 1,000 results whether they cover 10 destinations or 1,000 (rollups.ts has the arithmetic).
 *
 * No DynamoDB transaction holds 5,000 items, so "whole or none" is reached the other way round: every
 * destination is validated first, then results go in BatchWriteItem groups of 25
 * whose UnprocessedItems are retried with backoff; if DynamoDB still refuses, the batch fails with
 * UnavailableError (503), the agent keeps the batch and posts it again, and since each put of an identity is
 * idempotent the retry makes a partial write whole.
 *
 * Counting duplicates must be nearly free: a BatchGetItem of every key first would add 10 requests per 1,000
 * (51 in all). Instead the batch's first identity (in sort order) is its sentinel: it is written in the final
 * group, which starts only after every other group succeeded, and it carries `batch` = SHA-256 of the batch's
 * sorted identities. The sentinel's key rides in the one BatchGetItem a batch starts with, beside META (the
 * config log's head) and the destinations this instance has not cached under META's `seq`
 * (live-destinations.ts: a batch over 1,000 destinations would otherwise need 10 BatchGetItems), so a fresh
 * batch costs 1 + ceil(items / 25) requests, + 1 Query of the destinations after a config change. If the sentinel is found with this batch's digest, the same batch was stored
 * before (the agent's retry after a lost answer): only the final group is written again, which heals a final
 * group that failed half-way, and every result counts as a duplicate. Within a batch, repeats are counted
 * exactly in memory.
 *
 * Rollups ride in the same groups (rollup-write.ts): one item per (minute, shard) packing the fragments of
 * every destination of the shard, keyed by the digest, in the first groups; the dirty-slot items with the sentinel at the end, so that compaction never
 * sees a slot marked dirty before the fragments that made it so. Replayed or overlapping batches write
 * fragments that hold results already held by others; the merge takes each result once (rollup/fragment.ts),
 * so the rollups count every stored result exactly once whatever the stored/duplicates figures say.
 *
 * The trade-off: a batch that only partly overlaps earlier ones (never sent by the agent, whose outbox retries
 * whole batches) stores correctly but counts the overlap as stored, where SQLite counts it as duplicates; and a
 * rewritten identity takes the newer copy's fields (SQLite keeps the first).
 */
import type { ResultInput, Retention } from '../../../contract/index.js';
import { NotFoundError, type ResultOwner } from '../store.js';
import {
  destinationKey,
  type Item,
  identityOf,
  type Key,
  META_KEY,
  PART,
  resultItem,
  resultPartition,
} from './items.js';
import type { LiveDestinations } from './live-destinations.js';
import type { ConfigLog } from './log.js';
import { BATCH_GET_MAX, BATCH_WRITE_MAX, type Requests } from './requests.js';
import { rawExpiry } from './rollup-items.js';
import { rollupItems } from './rollup-write.js';
import { TTL_ATTRIBUTE } from './schema.js';

/** Result groups written at once: parallel enough to be quick, few enough not to burst the table. */
const WRITE_CONCURRENCY = 4;

export interface IngestClock {
  /** Now, in epoch seconds. */
  nowSeconds: number;
  /** How long results and each rollup tier are kept, counted from their own time (rtime, slot end). */
  retention: Retention;
}

/** Stores `results` for `owner`; see the file header for how. Throws NotFoundError or UnavailableError. */
export async function putResultBatch(
  db: Requests,
  owner: ResultOwner,
  results: readonly ResultInput[],
  { nowSeconds, retention }: IngestClock,
  known: { destinations: LiveDestinations; log: ConfigLog },
): Promise<{ stored: number; duplicates: number }> {
  if (results.length === 0) return { stored: 0, duplicates: 0 };
  // Repeats within the batch are counted here; the first copy is the one written.
  const unique = new Map<string, ResultInput>();
  for (const r of results) {
    const id = identityOf(owner.id, r);
    if (!unique.has(id)) unique.set(id, r);
  }
  const ids = [...unique.keys()].sort();
  const digest = await sha256Hex(`${owner.id}\n${ids.join('\n')}`);
  const sentinelId = ids[0]!;
  const sentinel = unique.get(sentinelId)!;
  const sentinelKey: Key = { pk: resultPartition(sentinel.destination), sk: sentinelId };

  // One read: the config log's head, the sentinel, and the destinations the cache cannot answer for (when
  // they fit; many unknown ones are read after, by the cache, in fewer requests).
  const destinations = [...new Set(results.map((r) => r.destination))];
  const unknown = known.destinations.unknown(destinations);
  const inline = unknown.length + 2 <= BATCH_GET_MAX ? unknown : [];
  const found = await db.batchGet(
    [META_KEY, sentinelKey, ...inline.map(destinationKey)],
    // `batch` is a reserved word.
    {
      expression: 'pk, sk, gone, seq, pending, #batch, #expire',
      names: { '#batch': 'batch', '#expire': TTL_ATTRIBUTE },
    },
  );
  const meta = found.get(`${META_KEY.pk}\n${META_KEY.sk}`);
  const inlineItems = new Map(inline.map((id) => [id, found.get(`${PART.destination}\n${id}`)]));
  let seq = (meta?.seq as number | undefined) ?? 0;
  if (Array.isArray(meta?.pending)) {
    // A change is committed but maybe not applied: finish it, then read every destination afresh.
    seq = (await known.log.read()).seq;
    inlineItems.clear();
  }
  const isLiveDestination = await known.destinations.resolve(db, seq, destinations, inlineItems);
  results.forEach((r, i) => {
    if (!isLiveDestination(r.destination)) {
      throw new NotFoundError(
        `[store:dynamodb] destination ${r.destination} does not exist`,
        `results.${i}.destination`,
      );
    }
  });

  // Fragments first, then results, then the dirty-slot items with the sentinel last of all.
  const rollups = rollupItems(owner.id, unique.values(), digest, nowSeconds, retention);
  const item = (id: string) => {
    const r = unique.get(id)!;
    return resultItem(owner, r, rawExpiry(r.rtime, retention, nowSeconds));
  };
  const body = [...rollups.fragments, ...ids.slice(1).map(item)];
  const sentinelItem = item(sentinelId);
  sentinelItem.batch = digest;
  const tail = [...rollups.dirty, sentinelItem];
  const groups: Item[][] = [];
  for (let i = 0; i < body.length; i += BATCH_WRITE_MAX) groups.push(body.slice(i, i + BATCH_WRITE_MAX));
  // The last body group joins the tail when it has room and holds no fragment: one request fewer.
  const last = groups.at(-1);
  if (last && last.length + tail.length <= BATCH_WRITE_MAX && !last.some((i) => 'f' in i)) {
    tail.unshift(...groups.pop()!);
  }
  const tailGroups: Item[][] = [];
  for (let i = 0; i < tail.length; i += BATCH_WRITE_MAX) tailGroups.push(tail.slice(i, i + BATCH_WRITE_MAX));
  const finalGroup = tailGroups.pop()!;

  const seen = found.get(`${sentinelKey.pk}\n${sentinelKey.sk}`);
  const replay = seen !== undefined && seen.batch === digest && (seen[TTL_ATTRIBUTE] as number) > nowSeconds;
  if (replay) {
    await db.putGroup(finalGroup);
    return { stored: 0, duplicates: results.length };
  }
  for (let i = 0; i < groups.length; i += WRITE_CONCURRENCY) {
    await Promise.all(groups.slice(i, i + WRITE_CONCURRENCY).map((g) => db.putGroup(g)));
  }
  for (const g of tailGroups) await db.putGroup(g);
  await db.putGroup(finalGroup);
  return { stored: unique.size, duplicates: results.length - unique.size };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
