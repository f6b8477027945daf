/**
 * Listing results on DynamoDB, newest first. The filter picks where to read: the table itself (one
 * destination), the `bySource` index (one source), or all `byTime` shards merged (no filter). The cursor is the
 * last sort key returned, so a page starts strictly below it and new results never shift older pages; results
 * past their expiry are filtered out until DynamoDB's TTL sweeper deletes them.
 *
 * Global indexes are eventually consistent (DynamoDB offers no consistent read on them): a result just stored
 * shows in the by-destination listing at once and in the by-source and unfiltered ones typically within a
 * second. dynalite updates indexes synchronously, so the tests cannot see that lag.
 */
import type { ResultPage } from '../../../contract/index.js';
import type { ResultFilter } from '../store.js';
import {
  decodeCursor,
  encodeCursor,
  type Item,
  resultPartition,
  sortKeyFrom,
  sortKeyTo,
  sourcePartition,
  timePartition,
  toResult,
} from './items.js';
import type { Requests } from './requests.js';
import { TIME_SHARDS, TTL_ATTRIBUTE } from './schema.js';

/** Where a listing reads: the table by destination, or an index by source, or every time shard. */
function partitionsFor(filter: ResultFilter): { index?: string; name: string; value: string }[] {
  if (filter.destination !== undefined) return [{ name: 'pk', value: resultPartition(filter.destination) }];
  if (filter.source !== undefined)
    return [{ index: 'bySource', name: 'spk', value: sourcePartition(filter.source) }];
  return Array.from({ length: TIME_SHARDS }, (_, shard) => ({
    index: 'byTime',
    name: 'tpk',
    value: timePartition(shard),
  }));
}

/**
 * Query pages read per partition in one request, at most. A sparse filter (a status, or a source within a
 * destination) or a stretch of expired results could otherwise page through a whole partition in one request:
 * a Lambda timeout and a read bill. The first page asks for `limit + 1` items, later ones (only reached when the
 * filter dropped items) for 1,000.
 */
export const MAX_PAGES_PER_PARTITION = 4;

/**
 * Newest first across the partitions the filter needs: each partition yields up to `limit + 1` matches
 * (descending), the union is sorted and cut. The extra one tells whether another page exists.
 *
 * A partition that ran out of its {@link MAX_PAGES_PER_PARTITION} before finding `limit + 1` matches stops at
 * the last key it read: everything at or above that key is known, below it is not. The page then holds only
 * the known matches (it may be short, even empty) and the cursor points at that key, so a short page with a
 * cursor means "not done, keep going"; only a `null` cursor says the listing is complete.
 */
export async function listResults(
  db: Requests,
  filter: ResultFilter,
  nowSeconds: number,
): Promise<ResultPage> {
  const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const lo = filter.from === undefined ? '0' : sortKeyFrom(filter.from);
  let hi = filter.to === undefined ? '~' : sortKeyTo(filter.to);
  if (after !== undefined && after < hi) hi = after;
  if (lo > hi) return { results: [], cursor: null };

  const conditions = [`${TTL_ATTRIBUTE} > :now`];
  const values: Item = { ':now': nowSeconds, ':lo': lo, ':hi': hi };
  const names: Record<string, string> = { '#k': 'pk' };
  if (filter.status !== undefined) {
    conditions.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = filter.status;
  }
  if (filter.destination !== undefined && filter.source !== undefined) {
    conditions.push('#source = :source');
    names['#source'] = 'source';
    values[':source'] = filter.source;
  }
  const want = filter.limit + 1;

  const perPartition = await Promise.all(
    partitionsFor(filter).map(async ({ index, name, value }) => {
      const got: Item[] = [];
      let start: Record<string, unknown> | undefined;
      for (let pages = 0; pages < MAX_PAGES_PER_PARTITION; pages++) {
        const page = await db.queryPage(
          {
            IndexName: index,
            // The table can be read consistently (at twice the read units); its indexes cannot.
            ConsistentRead: index === undefined,
            KeyConditionExpression: '#k = :pk AND sk BETWEEN :lo AND :hi',
            FilterExpression: conditions.join(' AND '),
            ExpressionAttributeNames: { ...names, '#k': name },
            ExpressionAttributeValues: { ...values, ':pk': value },
            ScanIndexForward: false,
            Limit: pages === 0 ? Math.min(want + 1, 1000) : 1000,
            ExclusiveStartKey: start,
          },
          'results query',
        );
        got.push(...page.items.filter((item) => item.sk !== after));
        start = page.next;
        if (!start || got.length >= want) return { got, stoppedAt: undefined };
      }
      // Out of pages short of `want`: known down to the last key read, not below.
      return { got, stoppedAt: String(start!.sk) };
    }),
  );
  // The highest stop among partitions that ran out of pages: below it some partition is unread.
  const known = perPartition.reduce<string | undefined>(
    (max, p) => (p.stoppedAt !== undefined && (max === undefined || p.stoppedAt > max) ? p.stoppedAt : max),
    undefined,
  );
  const merged = perPartition
    .flatMap((p) => p.got)
    .filter((item) => known === undefined || String(item.sk) >= known)
    .sort((a, b) => (String(a.sk) < String(b.sk) ? 1 : -1))
    .slice(0, want);
  const more = merged.length > filter.limit;
  const page = more ? merged.slice(0, filter.limit) : merged;
  const last = page[page.length - 1];
  const cursor = more && last ? String(last.sk) : known;
  return { results: page.map(toResult), cursor: cursor === undefined ? null : encodeCursor(cursor) };
}
