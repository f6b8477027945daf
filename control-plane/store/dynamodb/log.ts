/**
 * Config writes on DynamoDB without multi-item transactions: the META item is the commit point.
 *
 * Why not TransactWriteItems: the emulator the tests run on (dynalite) has none, and a deleted source may
 * touch more items (its tokens, every destination naming it) than one transaction holds. So every change to
 * sources, destinations or agent tokens goes through this small write-ahead log instead:
 *
 * 1. read META (`seq`, `v`), then read what the change depends on (strongly consistent);
 * 2. claim: one conditional UpdateItem on META — `seq = :seq AND attribute_not_exists(pending)` — sets
 *    `seq + 1`, `v + 1` when agents care, and `pending` = the change as a list of idempotent ops. Two writers
 *    cannot both claim the same `seq`: the loser re-reads and plans again (no lost updates). The claim is the
 *    commit: from here the change happens even if this writer dies;
 * 3. apply the ops (UpdateItem each), then clear `pending`. The caller is answered with success once the claim
 *    holds, even when this step fails: the change is committed, and a failure here would only invite a retry
 *    that makes a duplicate. Until a reader of META finishes it, a direct read of an item it changes
 *    (`getDestination`) may still show the old state; `configVersion()` — which every agent long-poll and
 *    result batch reads first — and the next config change always finish it before going on.
 *
 * Whoever reads META and finds `pending` applies it first (helping), so `configVersion()` never returns a
 * version whose change is not fully visible, and a writer that crashed mid-way is finished by the next reader —
 * in practice the next agent long-poll, within a second. Every config item carries `rev`, the `seq` that last
 * wrote it, and each op is conditional on `rev <= seq`: a slow helper replaying an old op cannot undo a newer
 * change. Deletes leave a tombstone (`gone`, expiring after {@link TOMBSTONE_DAYS}) for the same reason: a
 * stale put must not resurrect what a later change deleted.
 *
 * Limit: a change travels in the META item (400 KB), so it holds at most a few thousand ops — deleting a source
 * named by more destinations than that fails with a ValidationException and changes nothing.
 */

import { UnavailableError } from '../store.js';
import { type Item, isLive, type Key, META_KEY, setClause } from './items.js';
import { backoffMs, type Requests } from './requests.js';
import { TTL_ATTRIBUTE } from './schema.js';

/** How long a tombstone outlives the item it replaced; far longer than any op can take to apply. */
export const TOMBSTONE_DAYS = 7;

/** One idempotent step of a change. */
export type Op =
  /** Sets these attributes (the item's whole domain state) and makes it live. */
  | { key: Key; set: Item }
  /** Replaces the item with a tombstone. */
  | { key: Key; gone: true }
  /** Removes a source from a destination's `sources`; a destination left with none is switched off. */
  | { key: Key; strip: string; at: string };

export interface Meta {
  /** Sequence of claimed changes: the `rev` of what the next change writes is `seq + 1`. */
  seq: number;
  /** The config version agents see. */
  version: number;
}

/** A planned change: the ops to commit, whether it bumps the version, and what to answer the caller. */
export interface Plan<T> {
  ops: Op[];
  bump: boolean;
  value: T;
}

/** Claims lost to concurrent writers before giving up with 503. */
const MAX_CLAIMS = 20;
/** Ops applied at once. */
const APPLY_CONCURRENCY = 16;

export class ConfigLog {
  constructor(
    private readonly db: Requests,
    private readonly now: () => Date,
  ) {}

  /** META as committed, after finishing any change left pending. */
  async read(): Promise<Meta> {
    const item = await this.db.get(META_KEY, 'config version read');
    if (!item) return { seq: 0, version: 0 };
    const meta = { seq: item.seq as number, version: item.v as number };
    if (Array.isArray(item.pending)) await this.finish(meta.seq, item.pending as Op[]);
    return meta;
  }

  /**
   * Runs `plan` against a consistent snapshot and commits its ops at the next `seq`. `plan` may throw (bad
   * reference, conflict) or return no ops (nothing to change): then nothing is written.
   */
  async change<T>(plan: (rev: number) => Promise<Plan<T>>): Promise<{ value: T; version?: number }> {
    for (let attempt = 0; attempt < MAX_CLAIMS; attempt++) {
      const meta = await this.read();
      const rev = meta.seq + 1;
      const planned = await plan(rev);
      if (planned.ops.length === 0) return { value: planned.value };
      const version = meta.version + (planned.bump ? 1 : 0);
      const claimed = await this.db.update(
        {
          Key: META_KEY,
          UpdateExpression: 'SET seq = :rev, v = :v, pending = :ops, pendingAt = :at',
          ConditionExpression:
            meta.seq === 0 ? 'attribute_not_exists(pk)' : 'seq = :seq AND attribute_not_exists(pending)',
          ExpressionAttributeValues: {
            ':rev': rev,
            ':v': version,
            ':ops': planned.ops,
            ':at': this.now().toISOString(),
            ...(meta.seq === 0 ? {} : { ':seq': meta.seq }),
          },
        },
        'config change',
      );
      if (claimed) {
        // The claim is the commit. If applying fails now (throttled, timed out), the change still happens: the
        // next reader of META finishes it. Reporting the failure would make the caller retry a change that is
        // already in, and a retried create would be a second source or destination.
        await this.finish(rev, planned.ops).catch(() => undefined);
        return { value: planned.value, version: planned.bump ? version : undefined };
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, this.db.retry)));
    }
    throw new UnavailableError(`[store:dynamodb] config change lost ${MAX_CLAIMS} races in a row; retry`);
  }

  /** Applies the ops of change `rev` and clears `pending`. Safe to run by several parties at once. */
  private async finish(rev: number, ops: Op[]): Promise<void> {
    for (let i = 0; i < ops.length; i += APPLY_CONCURRENCY) {
      await Promise.all(ops.slice(i, i + APPLY_CONCURRENCY).map((op) => this.apply(rev, op)));
    }
    // Fails harmlessly when another helper cleared it first.
    await this.db.update({
      Key: META_KEY,
      UpdateExpression: 'REMOVE pending, pendingAt',
      ConditionExpression: 'seq = :rev AND attribute_exists(pending)',
      ExpressionAttributeValues: { ':rev': rev },
    });
  }

  private async apply(rev: number, op: Op): Promise<void> {
    const fresh = 'attribute_not_exists(pk) OR attribute_not_exists(rev) OR rev <= :rev';
    if ('set' in op) {
      const { assignments, names, values } = setClause(op.set);
      await this.db.update({
        Key: op.key,
        UpdateExpression: `SET ${[...assignments, 'rev = :rev'].join(', ')} REMOVE gone, #expire`,
        ConditionExpression: fresh,
        ExpressionAttributeNames: { ...names, '#expire': TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ...values, ':rev': rev },
      });
    } else if ('gone' in op) {
      await this.db.update({
        Key: op.key,
        UpdateExpression: 'SET gone = :true, rev = :rev, #expire = :expire',
        ConditionExpression: fresh,
        ExpressionAttributeNames: { '#expire': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':true': true,
          ':rev': rev,
          ':expire': Math.floor(this.now().getTime() / 1000) + TOMBSTONE_DAYS * 86_400,
        },
      });
    } else {
      const item = await this.db.get(op.key);
      if (!isLive(item) || (item.rev as number) > rev) return;
      const sources = (item.sources as string[] | undefined) ?? [];
      if (!sources.includes(op.strip)) return;
      const rest = sources.filter((s) => s !== op.strip);
      // An empty list would mean "every source": a destination losing its last named source stops instead.
      await this.db.update({
        Key: op.key,
        UpdateExpression: `SET #sources = :rest, updatedAt = :at, rev = :rev${rest.length === 0 ? ', active = :false' : ''}`,
        ConditionExpression: 'rev <= :rev',
        ExpressionAttributeNames: { '#sources': 'sources' },
        ExpressionAttributeValues: {
          ':rest': rest,
          ':at': op.at,
          ':rev': rev,
          ...(rest.length === 0 ? { ':false': false } : {}),
        },
      });
    }
  }
}
