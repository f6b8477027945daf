/**
 * The one DynamoDB table the store uses, as data: the key attributes, the primary index, the global indexes and
 * the TTL attribute. `infra/table.ts` hands it to `sst.aws.Dynamo`, the tests hand it to dynalite's CreateTable,
 * and `dynamodb.ts` names its indexes from here, so deployment, tests and code cannot drift apart.
 *
 * Runtime-free: plain data in the shape `sst.aws.Dynamo` takes (`fields`, `primaryIndex`, `globalIndexes`, `ttl`).
 */

/** Attributes that take part in a key. Every other attribute is schemaless. */
export const TABLE_FIELDS = {
  pk: 'string',
  sk: 'string',
  /** Results only: `S#<source>`, the partition of the by-source index. */
  spk: 'string',
  /** Results only: `T#<shard>`, the partitions of the all-results index. */
  tpk: 'string',
  /** Compacted hour items only: `H#<day>#<shard>`, see rollup-items.ts. */
  qpk: 'string',
} as const;

export const PRIMARY_INDEX = { hashKey: 'pk', rangeKey: 'sk' } as const;

/**
 * Global indexes, both projecting every attribute so that a listing is one Query per partition with no
 * follow-up reads. Both share the base table's `sk` (the results' sort key) as their range key.
 */
export const GLOBAL_INDEXES = {
  /** Results of one source, newest first. */
  bySource: { hashKey: 'spk', rangeKey: 'sk' },
  /** All results, spread over {@link TIME_SHARDS} partitions so no single partition takes every write. */
  byTime: { hashKey: 'tpk', rangeKey: 'sk' },
  /** Hour items of one day across every pair: what day compaction and the summary read (rollups.ts). */
  rollupsByTime: { hashKey: 'qpk', rangeKey: 'sk' },
} as const;

/** Epoch seconds after which DynamoDB's TTL sweeper may delete the item (results, rollups, tombstones). */
export const TTL_ATTRIBUTE = 'expireAt';

/**
 * Partitions of the `byTime` index. Each takes at most ~1,000 writes/s, so the fleet-wide ceiling is this many
 * thousand results per second; an unfiltered listing costs this many Queries per page. Changing it needs a
 * backfill of `tpk`.
 */
export const TIME_SHARDS = 8;

/** The whole table definition, in `sst.aws.Dynamo` argument shape. */
export const PINGER_TABLE = {
  fields: TABLE_FIELDS,
  primaryIndex: PRIMARY_INDEX,
  globalIndexes: GLOBAL_INDEXES,
  ttl: TTL_ATTRIBUTE,
} as const;
