/**
 * The serverless store: one DynamoDB table (on-demand, TTL on `expireAt`), for the control plane on AWS Lambda.
 * Loaded only through `import()` by whoever selects it, so the SQLite path never loads the AWS SDK.
 *
 * ## Table design (keys and indexes in `dynamodb-schema.ts`, item mappers in `dynamodb-items.ts`)
 *
 * | item              | pk               | sk                                   | other keys                |
 * |-------------------|------------------|--------------------------------------|---------------------------|
 * | config version    | `META`           | `CONFIG`                             | `seq`, `v`, `pending`     |
 * | source            | `SRC`            | source id                            |                           |
 * | sourceid guard    | `SID`            | sourceid, 5 digits                   | (uniqueness of sourceid)  |
 * | destination       | `DST`            | destination id                       |                           |
 * | token             | `TOK`            | SHA-256 hex (lookup by hash = GetItem)|                          |
 * | result            | `R#<destination>`| `<rtime:20>#<source>#<destination>#<rseq:5>` | `spk`=`S#<source>`, `tpk`=`T#<rseq%8>`, `expireAt` |
 * | rollups           | `U#<destination>`, `UF#<day>#<shard>`, `UQ` | see `rollup-items.ts` | `qpk`, `expireAt` |
 *
 * Config items live in one partition per kind: a fleet's config is small (thousands of items), so listing is
 * one Query and every read can be strongly consistent. Config writes go through the change log in
 * `dynamodb-log.ts`: the META item is the commit point, claimed with one conditional write per change (no
 * lost updates; `sourceid` uniqueness checked under the same claim and recorded by a guard item).
 *
 * A result's key IS its identity (source, destination, rtime, rseq), so writing it again overwrites it with
 * itself. The sort key orders like the API (rtime, source, destination, rseq, all descending); the table is
 * the by-destination listing, `bySource` the by-source one, and `byTime` (8 shards, merged on read) the
 * unfiltered one. The cursor is the last sort key returned (keyset pagination: pages do not shift as results
 * arrive). Results expire `retention.raw` after their rtime (TTL deletes them within days; reads filter
 * what has expired but is not yet deleted).
 *
 * Ingest (whole or none, duplicates counted, rollups, 42 requests per 1,000 results): `ingest.ts`.
 * Listing (newest first, keyset cursor, expired results hidden): `dynamodb-list.ts`.
 * Rollups, stats and retention per tier (fragments written at ingest, hours and days compacted): `rollups.ts`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  DEFAULT_RETENTION,
  type Destination,
  type DestinationFields,
  type Retention,
  type Source,
} from '../../../contract/index.js';
import {
  ConflictError,
  NotFoundError,
  newId,
  newSource,
  type Store,
  type TokenKind,
  type TokenRecord,
} from '../store.js';
import { censusItems } from './census.js';
import { putResultBatch } from './ingest.js';
import {
  destinationFields,
  destinationKey,
  type Item,
  isLive,
  type Key,
  makeDestination,
  PART,
  setClause,
  sourceFields,
  sourceidKey,
  sourceKey,
  toDestination,
  tokenFields,
  tokenKey,
  toSource,
  toToken,
} from './items.js';
import { listResults } from './list.js';
import { LiveDestinations } from './live-destinations.js';
import { ConfigLog, type Op, type Plan } from './log.js';
import { DEFAULT_RETRY, Requests, type RetryPolicy } from './requests.js';
import { dynamoStats } from './rollups.js';
import { TTL_ATTRIBUTE } from './schema.js';

export interface DynamoStoreOptions {
  /** The table (see `dynamodb-schema.ts`); on Lambda, the linked resource's name. */
  tableName: string;
  /** A client to use (tests: one pointed at dynalite). Default: a client from the environment's region and credentials. */
  client?: DynamoDBClient;
  /**
   * How long raw results and each rollup tier are kept, from their own time (rtime, slot end); expiry is a
   * TTL attribute per item. Default: raw 14 days, minute 60 days, hour 2 years, day forever.
   */
  retention?: Retention;
  /** Skip a `lastSeen` write when the previous one for the source was less than this long ago. Default 60 s. */
  touchIntervalMs?: number;
  /** Retries of unprocessed batch items. */
  retry?: RetryPolicy;
  /** Clock for timestamps and expiry, injectable for tests. */
  now?: () => Date;
  /**
   * False writes no per-host census answers: only for the census benchmark's baseline, which measures what they
   * add to applying a pass. Default true.
   */
  censusHistory?: boolean;
}

/** Creates the DynamoDB store. No request is made until the first call. */
export function createDynamoStore(options: DynamoStoreOptions): Store {
  const now = options.now ?? (() => new Date());
  const retention = options.retention ?? DEFAULT_RETENTION;
  const touchIntervalMs = options.touchIntervalMs ?? 60_000;
  const ownClient = options.client === undefined;
  const client = options.client ?? new DynamoDBClient({});
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  const db = new Requests(doc, options.tableName, options.retry ?? DEFAULT_RETRY);
  const log = new ConfigLog(db, now);
  const liveDestinations = new LiveDestinations();
  const lastTouch = new Map<string, number>();
  /** The pps budget last written per source: a change is written at once, whatever `touchIntervalMs` says. */
  const lastPps = new Map<string, number>();
  const nowSeconds = () => Math.floor(now().getTime() / 1000);

  const live = async (key: Key) => {
    const item = await db.get(key);
    return isLive(item) ? item : undefined;
  };
  const partition = async (pk: string) =>
    (
      await db.queryAll({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
      })
    ).filter(isLive);
  const byCreation = (a: Item, b: Item) =>
    String(a.createdAt).localeCompare(String(b.createdAt)) || String(a.sk).localeCompare(String(b.sk));

  /** Throws NotFoundError naming the first id of `sources` that is not a live source. */
  async function assertSources(sources: readonly string[]) {
    if (sources.length === 0) return;
    const found = await db.batchGet(sources.map(sourceKey), { expression: 'pk, sk, gone' });
    const missing = sources.find((id) => !isLive(found.get(`${PART.source}\n${id}`)));
    if (missing !== undefined) {
      throw new NotFoundError(`[store:dynamodb] source ${missing} does not exist`, 'sources');
    }
  }

  /** Throws ConflictError when `sourceid` belongs to a source other than `self`. */
  async function assertSourceidFree(sourceid: number, self: string | undefined) {
    const guard = await live(sourceidKey(sourceid));
    if (guard && guard.sourceId !== self) {
      throw new ConflictError(
        `[store:dynamodb] sourceid ${sourceid} is taken by source ${String(guard.sourceId)}`,
        'sourceid',
      );
    }
  }

  async function assertTokenFree(hash: string) {
    if (await live(tokenKey(hash))) {
      throw new ConflictError('[store:dynamodb] a token with this hash exists', 'hash');
    }
  }

  async function agentTokensOf(sourceId: string) {
    return (await partition(PART.token)).filter((t) => t.sourceId === sourceId && t.kind === 'agent');
  }

  const change = async <T>(plan: (rev: number) => Promise<Plan<T>>) => (await log.change(plan)).value;

  const store: Store = {
    kind: 'dynamodb',
    stats: dynamoStats(db, retention, nowSeconds),

    async createSource(input, tokenHash) {
      return change(async () => {
        let sourceid = input.sourceid;
        if (sourceid === undefined) {
          const taken = new Set((await partition(PART.sourceid)).map((g) => Number(g.sk)));
          sourceid = 0;
          while (taken.has(sourceid)) sourceid++;
          if (sourceid > 65_535)
            throw new ConflictError('[store:dynamodb] all 65,536 sourceids are taken', 'sourceid');
        } else {
          await assertSourceidFree(sourceid, undefined);
        }
        await assertTokenFree(tokenHash);
        const created = newSource(input, sourceid, now());
        const token: TokenRecord = {
          hash: tokenHash,
          kind: 'agent',
          sourceId: created.id,
          name: created.name,
          createdAt: created.createdAt,
        };
        const ops: Op[] = [
          { key: sourceKey(created.id), set: sourceFields(created) },
          { key: sourceidKey(sourceid), set: { sourceId: created.id } },
          { key: tokenKey(tokenHash), set: tokenFields(token) },
        ];
        return { ops, bump: true, value: created };
      });
    },

    async getSource(id) {
      const item = await live(sourceKey(id));
      return item && toSource(item);
    },

    async listSources() {
      return (await partition(PART.source)).sort(byCreation).map(toSource);
    },

    async updateSource(id, patch) {
      return change(async (): Promise<Plan<Source | undefined>> => {
        const item = await live(sourceKey(id));
        if (!item) return { ops: [], bump: false, value: undefined };
        const before = toSource(item);
        const next: Source = { ...before, ...patch };
        const ops: Op[] = [{ key: sourceKey(id), set: sourceFields(next) }];
        if (next.sourceid !== before.sourceid) {
          await assertSourceidFree(next.sourceid, id);
          ops.push(
            { key: sourceidKey(next.sourceid), set: { sourceId: id } },
            { key: sourceidKey(before.sourceid), gone: true },
          );
        }
        return { ops, bump: true, value: next };
      });
    },

    async deleteSource(id) {
      return change(async (): Promise<Plan<boolean>> => {
        const item = await live(sourceKey(id));
        if (!item) return { ops: [], bump: false, value: false };
        const at = now().toISOString();
        const naming = (await partition(PART.destination)).filter((d) =>
          ((d.sources as string[] | undefined) ?? []).includes(id),
        );
        const ops: Op[] = [
          { key: sourceKey(id), gone: true },
          { key: sourceidKey(item.sourceid as number), gone: true },
          ...(await agentTokensOf(id)).map((t): Op => ({ key: tokenKey(t.sk as string), gone: true })),
          ...naming.map((d): Op => ({ key: destinationKey(d.sk as string), strip: id, at })),
        ];
        return { ops, bump: true, value: true };
      });
    },

    async replaceSourceToken(id, tokenHash) {
      // Rotation changes no agent config: no version bump, no long-poll wakes.
      return change(async (): Promise<Plan<boolean>> => {
        const item = await live(sourceKey(id));
        if (!item) return { ops: [], bump: false, value: false };
        await assertTokenFree(tokenHash);
        const token: TokenRecord = {
          hash: tokenHash,
          kind: 'agent',
          sourceId: id,
          name: item.name as string,
          createdAt: now().toISOString(),
        };
        const ops: Op[] = [
          ...(await agentTokensOf(id)).map((t): Op => ({ key: tokenKey(t.sk as string), gone: true })),
          { key: tokenKey(tokenHash), set: tokenFields(token) },
        ];
        return { ops, bump: false, value: true };
      });
    },

    async touchSource(id, at, pps) {
      const previous = lastTouch.get(id);
      const ppsChanged = pps !== undefined && lastPps.get(id) !== pps;
      if (!ppsChanged && previous !== undefined && Math.abs(at.getTime() - previous) < touchIntervalMs)
        return;
      // Not a config change: a plain conditional update, no version bump.
      await db.update(
        {
          Key: sourceKey(id),
          UpdateExpression: pps === undefined ? 'SET lastSeen = :at' : 'SET lastSeen = :at, pps = :pps',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(gone)',
          ExpressionAttributeValues: {
            ':at': at.toISOString(),
            ...(pps === undefined ? {} : { ':pps': pps }),
          },
        },
        'lastSeen write',
      );
      if (pps !== undefined) lastPps.set(id, pps);
      lastTouch.set(id, at.getTime());
    },

    async createDestination(input) {
      return change(async () => {
        await assertSources(input.sources);
        const at = now().toISOString();
        const created = makeDestination(newId('dst'), input, at, at);
        return {
          ops: [{ key: destinationKey(created.id), set: destinationFields(created) }],
          bump: true,
          value: created,
        };
      });
    },

    async getDestination(id) {
      const item = await live(destinationKey(id));
      return item && toDestination(item);
    },

    async listDestinations(query = {}) {
      return (await partition(PART.destination))
        .sort(byCreation)
        .map(toDestination)
        .filter(
          (d) =>
            (query.active === undefined || d.active === query.active) &&
            (query.protocol === undefined || d.protocol === query.protocol) &&
            (query.source === undefined || d.sources.length === 0 || d.sources.includes(query.source)),
        );
    },

    async replaceDestination(id, fields: DestinationFields) {
      return change(async (): Promise<Plan<Destination | undefined>> => {
        const item = await live(destinationKey(id));
        if (!item) return { ops: [], bump: false, value: undefined };
        await assertSources(fields.sources);
        const next = makeDestination(id, fields, item.createdAt as string, now().toISOString());
        return { ops: [{ key: destinationKey(id), set: destinationFields(next) }], bump: true, value: next };
      });
    },

    async deleteDestination(id) {
      return change(async (): Promise<Plan<boolean>> => {
        if (!(await live(destinationKey(id)))) return { ops: [], bump: false, value: false };
        return { ops: [{ key: destinationKey(id), gone: true }], bump: true, value: true };
      });
    },

    async configVersion() {
      return (await log.read()).version;
    },

    // No onChange: another Lambda instance may make the change; callers poll configVersion().

    async createToken(record) {
      const full: TokenRecord = { ...record, createdAt: now().toISOString() };
      const { assignments, names, values } = setClause(tokenFields(full));
      const created = await db.update(
        {
          Key: tokenKey(record.hash),
          UpdateExpression: `SET ${assignments.join(', ')}, rev = :zero REMOVE gone, #expire`,
          ConditionExpression: 'attribute_not_exists(pk) OR gone = :true',
          ExpressionAttributeNames: { ...names, '#expire': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ...values, ':zero': 0, ':true': true },
        },
        'token write',
      );
      if (!created) throw new ConflictError('[store:dynamodb] a token with this hash exists', 'hash');
      return full;
    },

    async findToken(hash) {
      const item = await live(tokenKey(hash));
      return item && toToken(item);
    },

    async listTokens(kind?: TokenKind) {
      return (await partition(PART.token))
        .sort(byCreation)
        .map(toToken)
        .filter((t) => kind === undefined || t.kind === kind);
    },

    async deleteToken(hash) {
      // The tombstone's rev is the largest there is: no replayed change can bring the token back.
      return db.update(
        {
          Key: tokenKey(hash),
          UpdateExpression: 'SET gone = :true, rev = :max, #expire = :expire',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(gone)',
          ExpressionAttributeNames: { '#expire': TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':true': true,
            ':max': Number.MAX_SAFE_INTEGER,
            ':expire': nowSeconds() + 7 * 86_400,
          },
        },
        'token delete',
      );
    },

    async putResults(owner, results) {
      return putResultBatch(
        db,
        owner,
        results,
        { nowSeconds: nowSeconds(), retention },
        { destinations: liveDestinations, log },
      );
    },

    async listResults(filter) {
      return listResults(db, filter, nowSeconds());
    },

    census: censusItems(db, now, retention, options.censusHistory ?? true),

    async close() {
      lastTouch.clear();
      lastPps.clear();
      if (ownClient) client.destroy();
    },
  };
  return store;
}
