/**
 * Census passes, hosts and events in DynamoDB (items in census-items.ts). No transaction spans a pass's writes
 * (a pass may change thousands of hosts), so a pass is applied in an order that a retry completes:
 *
 * 1. the pass item already there: stored before, nothing to do;
 * 2. the hosts, each written on the condition that it is still as read (`lastPass` unchanged, or absent for a
 *    new host) — a concurrent pass of another source makes the condition fail, and the pass re-reads and
 *    re-applies (hosts it already updated carry its start in `lastPass` and are skipped, see apply-pass.ts);
 * 3. the events and the hosts' answers (a host's history, census-items.ts), whose keys are their identity
 *    (rewriting one is harmless): one BatchWriteItem per 25, a few in flight;
 * 4. the pass item, last, so a report cut short in 2 or 3 is not yet "stored" and its retry finishes it.
 */
import type { CensusEvent, Retention } from '../../../contract/index.js';
import { type HostState, passEffect } from '../../census/apply-pass.js';
import { HistoryReader, historyRange, hostHistory } from '../../census/host-history.js';
import { filterHosts, toCensusHost } from '../../census/host-list.js';
import { mergePasses } from '../../census/merge-passes.js';
import { type CensusStore, NotFoundError, UnavailableError } from '../store.js';
import {
  censusAnswerItem,
  censusAnswerPartition,
  censusEventItem,
  censusEventPartition,
  censusHostFields,
  censusHostKey,
  censusHostPartition,
  censusPassFields,
  censusPassKey,
  censusPassPartition,
  censusPassRange,
  censusPassTime,
  censusTimeKey,
  toCensusAnswer,
  toCensusEvent,
  toHostState,
  toStoredPass,
} from './census-items.js';
import { destinationKey, isLive, setClause } from './items.js';
import { BATCH_WRITE_MAX, type Requests } from './requests.js';
import { rawExpiry } from './rollup-items.js';

/** Re-reads after a lost race before giving up (the agent retries the report later). */
const MAX_ROUNDS = 8;
/** Host writes in flight at once. */
const PARALLEL = 16;
/** BatchWriteItems (of 25 items) in flight at once. */
const GROUPS_IN_FLIGHT = 4;
/** Items read per pass listed: a pass has one item per source that reported it (a split pass: its slices). */
const ITEMS_PER_PASS = 4;

/**
 * @param now the store's clock, and `retention.raw` how long answers are kept (their TTL; a host's history reads
 *   no further back)
 * @param history false writes no answers (the benchmark's baseline)
 */
export function censusItems(
  db: Requests,
  now: () => Date,
  retention: Retention,
  history = true,
): CensusStore {
  const hostsOf = async (destination: string) =>
    (
      await db.queryAll({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': censusHostPartition(destination) },
        ConsistentRead: true,
      })
    ).map(toHostState);

  /** Writes a host if it is still as `before` left it; false when another writer got there first. */
  const writeHost = (destination: string, host: HostState, before: HostState | undefined) => {
    const { assignments, names, values } = setClause(censusHostFields(host));
    return db.update(
      {
        Key: censusHostKey(destination, host.address),
        UpdateExpression: `SET ${assignments.join(', ')}`,
        ConditionExpression: before ? '#lp = :before' : 'attribute_not_exists(pk)',
        ExpressionAttributeNames: before ? { ...names, '#lp': 'lastPass' } : names,
        ExpressionAttributeValues: before ? { ...values, ':before': before.lastPass.toString() } : values,
      },
      'census host write',
    );
  };

  return {
    async putPass(source, pass, goneAfter) {
      const passKey = censusPassKey(pass.destination, pass, source);
      if (await db.get(passKey, 'census pass read')) return { stored: false };
      if (!isLive(await db.get(destinationKey(pass.destination)))) {
        throw new NotFoundError(
          `[store:dynamodb] destination ${pass.destination} does not exist`,
          'destination',
        );
      }
      const events: CensusEvent[] = [];
      for (let round = 0; pass.answers !== undefined; round++) {
        if (round >= MAX_ROUNDS) {
          throw new UnavailableError(
            `[store:dynamodb] census pass of ${pass.destination} kept racing other passes`,
          );
        }
        const known = new Map((await hostsOf(pass.destination)).map((h) => [h.address, h] as const));
        const effect = passEffect(known, pass, goneAfter);
        let lost = false;
        for (let i = 0; i < effect.hosts.length; i += PARALLEL) {
          const wrote = await Promise.all(
            effect.hosts
              .slice(i, i + PARALLEL)
              .map((h) => writeHost(pass.destination, h, known.get(h.address))),
          );
          wrote.forEach((ok, j) => {
            if (ok) {
              const address = effect.hosts[i + j]!.address;
              events.push(...effect.events.filter((e) => e.address === address));
            } else lost = true;
          });
        }
        if (!lost) break;
      }
      const at = pass.slice ? BigInt(pass.slice.slot) : BigInt(pass.start);
      const expireAt = rawExpiry(at.toString(), retention, Math.floor(now().getTime() / 1000));
      const items = [
        ...events.map((e) => censusEventItem(pass.destination, e)),
        ...(history ? (pass.answers ?? []) : []).map(([address, rtt]) =>
          censusAnswerItem(pass.destination, at, address, rtt, expireAt),
        ),
      ];
      const groups: (typeof items)[] = [];
      for (let i = 0; i < items.length; i += BATCH_WRITE_MAX)
        groups.push(items.slice(i, i + BATCH_WRITE_MAX));
      for (let i = 0; i < groups.length; i += GROUPS_IN_FLIGHT)
        await Promise.all(groups.slice(i, i + GROUPS_IN_FLIGHT).map((g) => db.putGroup(g)));
      const { assignments, names, values } = setClause(censusPassFields(source, pass));
      const created = await db.update(
        {
          Key: passKey,
          UpdateExpression: `SET ${assignments.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
        'census pass write',
      );
      return { stored: created };
    },

    async listHosts(destination, state) {
      const hosts = await hostsOf(destination);
      const latest = await db.queryPage({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': censusPassPartition(destination) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      });
      const top = latest.items[0];
      return filterHosts(hosts, state, top ? BigInt(censusPassTime(top)) : null).map(toCensusHost);
    },

    async listPasses(destination, limit) {
      // Pages newest first until past the `limit`-th pass time: a split pass's slices all share its time. A page
      // holds a few items per pass, so that a split pass of a few sources needs one Query, not one per pass.
      const items: Record<string, unknown>[] = [];
      const times = new Set<string>();
      let next: Record<string, unknown> | undefined;
      do {
        const page = await db.queryPage({
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': censusPassPartition(destination) },
          ScanIndexForward: false,
          // Room for a few items per pass (split passes) on the short reads a config poll makes, without a long
          // listing of single-item passes paying for several times the items it keeps.
          Limit: Math.min((limit + 2) * ITEMS_PER_PASS, limit + 64),
          ConsistentRead: true,
          ...(next ? { ExclusiveStartKey: next } : {}),
        });
        for (const item of page.items) {
          times.add(censusPassTime(item));
          if (times.size > limit + 1) break;
          items.push(item);
        }
        next = page.next;
      } while (next && times.size <= limit + 1);
      return mergePasses(items.map(toStoredPass)).slice(0, limit);
    },

    async hostHistory(destination, address, query) {
      const item = await db.get(censusHostKey(destination, address), 'census host read');
      if (!item) return undefined;
      const range = historyRange(query.from, query.to, now().getTime(), retention.raw);
      // Passes newest first, until past `limit` that probed the host (HistoryReader).
      const reader = new HistoryReader(address, query.limit);
      const [lo, hi] = censusPassRange(range.from, range.to);
      let next: Record<string, unknown> | undefined;
      while (range.from <= range.to) {
        const page = await db.queryPage(
          {
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ExpressionAttributeValues: { ':pk': censusPassPartition(destination), ':lo': lo, ':hi': hi },
            ScanIndexForward: false,
            Limit: Math.min(query.limit + 2, 1000),
            ConsistentRead: true,
            ...(next ? { ExclusiveStartKey: next } : {}),
          },
          'census pass read',
        );
        const full = !page.items.every((item) => reader.take(toStoredPass(item)));
        next = page.next;
        if (full || !next) break;
      }
      const answers = new Map<bigint, number | null>();
      if (reader.times.size > 0) {
        // bigints: Math.min does not take them.
        const oldest = [...reader.times].sort((a, b) => (a < b ? -1 : 1))[0]!;
        const found = await db.queryAll(
          {
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ExpressionAttributeValues: {
              ':pk': censusAnswerPartition(destination, address),
              ':lo': censusTimeKey(oldest),
              ':hi': censusTimeKey(range.to),
            },
            ConsistentRead: true,
          },
          'census answer read',
        );
        for (const [t, rtt] of found.map(toCensusAnswer)) answers.set(t, rtt);
      }
      return hostHistory({
        host: toCensusHost(toHostState(item)),
        passes: reader.reports,
        answers,
        ...range,
        limit: query.limit,
      });
    },

    async listEvents(destination, limit) {
      const page = await db.queryPage({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': censusEventPartition(destination) },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      });
      return page.items.map(toCensusEvent);
    },
  };
}
