/**
 * The DynamoDB requests the store makes, with the two things every caller needs and none should repeat:
 * batch chunking with UnprocessedItems/UnprocessedKeys retried under exponential backoff and full jitter
 * (bounded), and translation of throttling and network failures into {@link UnavailableError} so the HTTP layer
 * answers 503 and the agent retries.
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../store.js';
import type { Item, Key } from './items.js';

/** How hard to retry what DynamoDB left unprocessed before telling the caller "not stored". */
export interface RetryPolicy {
  /** Tries of one batch in total, the first included. */
  attempts: number;
  /** First backoff ceiling, doubled per try, in ms. */
  baseMs: number;
  /** Largest backoff ceiling, in ms. */
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseMs: 25, capMs: 1000 };

/** DynamoDB's own limits per request. */
export const BATCH_WRITE_MAX = 25;
export const BATCH_GET_MAX = 100;

/** Error names that mean "not now": the capacity, the service or the network, never the request itself. */
const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'TransactionConflictException',
]);

interface SdkError {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Whether an error from the SDK is worth a retry later (throttled, 5xx, or no HTTP answer at all). */
export function isTransient(err: unknown): boolean {
  const e = err as SdkError;
  if (typeof e !== 'object' || e === null) return false;
  if (TRANSIENT.has(e.name ?? '') || e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  // No HTTP status: the request never got an answer (refused, reset, DNS).
  return typeof e.code === 'string' && /^E[A-Z]+/.test(e.code);
}

export function isConditionFailure(err: unknown): boolean {
  return (err as SdkError | null)?.name === 'ConditionalCheckFailedException';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter: a uniform wait between 0 and the capped exponential ceiling. */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  return Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
}

export class Requests {
  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Sends one command; transient failures become {@link UnavailableError}, the rest pass through. */
  async send<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isTransient(err)) {
        throw new UnavailableError(`[store:dynamodb] ${what} failed for now: ${(err as Error).message}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  async get(key: Key, what = 'read'): Promise<Item | undefined> {
    const out = await this.send(what, () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  /** An UpdateItem; resolves false when its condition failed. */
  async update(input: Omit<UpdateCommandInput, 'TableName'>, what = 'write'): Promise<boolean> {
    try {
      await this.send(what, () => this.doc.send(new UpdateCommand({ TableName: this.table, ...input })));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Every item of a Query (following LastEvaluatedKey), strongly consistent where the index allows it. */
  async queryAll(input: Omit<QueryCommandInput, 'TableName'>, what = 'query'): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, NativeAttributeValue> | undefined;
    do {
      const out = await this.send(what, () =>
        this.doc.send(new QueryCommand({ TableName: this.table, ...input, ExclusiveStartKey: start })),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** One page of a Query. */
  async queryPage(input: Omit<QueryCommandInput, 'TableName'>, what = 'query') {
    const out = await this.send(what, () =>
      this.doc.send(new QueryCommand({ TableName: this.table, ...input })),
    );
    return { items: out.Items ?? [], next: out.LastEvaluatedKey };
  }

  /**
   * Reads many keys, {@link BATCH_GET_MAX} per request, strongly consistent. Returns the items found, keyed by
   * `pk + '\n' + sk`. UnprocessedKeys are retried with backoff; giving up throws {@link UnavailableError}.
   */
  async batchGet(
    keys: readonly Key[],
    projection?: { expression: string; names?: Record<string, string> },
  ): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
      let pending: Record<string, unknown>[] = keys.slice(i, i + BATCH_GET_MAX).map((k) => ({ ...k }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= this.retry.attempts) {
          throw new UnavailableError(
            `[store:dynamodb] ${pending.length} keys stayed unprocessed after ${attempt} tries`,
          );
        }
        if (attempt > 0) await sleep(backoffMs(attempt, this.retry));
        const out = await this.send('batch read', () =>
          this.doc.send(
            new BatchGetCommand({
              RequestItems: {
                [this.table]: {
                  Keys: pending,
                  ConsistentRead: true,
                  ...(projection
                    ? {
                        ProjectionExpression: projection.expression,
                        ExpressionAttributeNames: projection.names,
                      }
                    : {}),
                },
              },
            }),
          ),
        );
        for (const item of out.Responses?.[this.table] ?? []) found.set(keyString(item as Key), item);
        pending = (out.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    }
    return found;
  }

  /**
   * Puts one group of at most {@link BATCH_WRITE_MAX} items, retrying what DynamoDB leaves unprocessed with
   * exponential backoff and full jitter. Giving up throws {@link UnavailableError}: the caller reports the
   * batch as not stored, and the agent's retry rewrites it (puts of an identity are idempotent).
   */
  async putGroup(items: readonly Item[]): Promise<void> {
    let pending: Record<string, unknown>[] = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= this.retry.attempts) {
        throw new UnavailableError(
          `[store:dynamodb] ${pending.length} writes stayed unprocessed after ${attempt} tries`,
        );
      }
      if (attempt > 0) await sleep(backoffMs(attempt, this.retry));
      const out = await this.send('batch write', () =>
        this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } })),
      );
      pending = (out.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined) ?? [];
    }
  }
}

export const keyString = (k: Key): string => `${k.pk}\n${k.sk}`;
