/** The store contract on dynalite, plus what only the DynamoDB backend promises. */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import * as v from 'valibot';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_RETENTION,
  DestinationCreateSchema,
  type ResultInput,
  SourceCreateSchema,
} from '../../contract/index.js';
import { createDynamoStore } from '../../control-plane/store/dynamodb/dynamodb.js';
import { MAX_PAGES_PER_PARTITION } from '../../control-plane/store/dynamodb/list.js';
import { type ResultFilter, type Store, UnavailableError } from '../../control-plane/store/store.js';
import { type DynaliteServer, startDynalite } from '../helpers/dynalite.js';
import { TIMED_OUT } from '../helpers/factories.js';
import { testStore } from './contract.js';

let server: DynaliteServer | undefined;
const dynamo = async () => {
  server ??= await startDynalite();
  return server;
};
afterAll(async () => {
  await server?.close();
});

/**
 * The contract's results are sent in late November 2025 (RTIME, DAY0 of the stats cases) and expiry counts from
 * a result's own time, so the store's clock starts a few days after them rather than at the machine's date;
 * the stats cases move it where they prune.
 */
const CONTRACT_NOW = Date.parse('2025-11-27T00:00:00Z');

testStore('dynamodb', async () => {
  const s = await dynamo();
  let now = new Date(CONTRACT_NOW);
  const store = createDynamoStore({
    tableName: await s.createTable(),
    client: s.client(),
    touchIntervalMs: 0,
    now: () => now,
  });
  return {
    store,
    cleanup: () => store.close(),
    setNow: (at) => {
      now = at;
    },
  };
});

/** Arms failures on a client: called for each command before it is sent; may answer or throw instead. */
type Fault = (
  command: string,
  input: Record<string, unknown>,
  send: (input: Record<string, unknown>) => Promise<Record<string, unknown>>,
) => Promise<Record<string, unknown>> | undefined;

/** A store on a fresh table whose client runs `fault` first (document-form input and output). */
async function faultyStore(
  fault: { current?: Fault },
  options: { now?: () => Date; tableName?: string } = {},
) {
  const s = await dynamo();
  const tableName = options.tableName ?? (await s.createTable());
  const client = s.client();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const send = async (input: Record<string, unknown>) =>
        (await next({ ...args, input })).output as unknown as Record<string, unknown>;
      const answered = fault.current?.(
        context.commandName ?? '',
        args.input as Record<string, unknown>,
        send,
      );
      if (answered) return { output: await answered, response: {} } as never;
      return next(args);
    },
    { step: 'initialize', name: 'testFault' },
  );
  const store = createDynamoStore({
    tableName,
    client,
    touchIntervalMs: 0,
    retry: { attempts: 4, baseMs: 1, capMs: 5 },
    // The results below are sent in November 2025; expiry counts from then.
    now: options.now ?? (() => new Date(CONTRACT_NOW)),
  });
  return { store, tableName };
}

const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
    name: 'ProvisionedThroughputExceededException',
    $metadata: { httpStatusCode: 400 },
  });

function results(destination: string, n: number, base = 1_763_780_000_000_000_000n): ResultInput[] {
  return Array.from({ length: n }, (_, i) => ({
    destination,
    rtime: (base + BigInt(i) * 1_000_000n).toString(),
    target: '198.18.0.1',
    protocol: 'icmp' as const,
    address: '198.18.0.1',
    rtt: 100 + i,
    rtype: 0,
    rcode: 0,
    rid: 1,
    rseq: i % 65_536,
    datamatch: true,
    status: 'reply' as const,
    ttl: 64,
  }));
}

async function seed(store: Store) {
  const src = await store.createSource(
    v.parse(SourceCreateSchema, { name: 'a', location: 1, host: 2 }),
    'f'.repeat(64),
  );
  const dst = await store.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.1' }));
  return { owner: { id: src.id, location: 1, host: 2 }, dst };
}

async function countAll(store: Store, filter: Partial<ResultFilter> = {}) {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await store.listResults({ limit: 1000, ...filter, cursor });
    n += page.results.length;
    cursor = page.cursor ?? undefined;
  } while (cursor);
  return n;
}

describe('dynamodb store', () => {
  it('writes a census pass’s answers 25 to a request, expiring like raw results, and reads a host’s history in 3', async () => {
    const s = await dynamo();
    const tableName = await s.createTable();
    const store = createDynamoStore({ tableName, client: s.client(), now: () => new Date(CONTRACT_NOW) });
    const { owner } = await seed(store);
    const d = await store.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.0/23' }));
    const start = 1_764_190_000_000_000_000n;
    // 300 distinct hosts: 198.18.0.1–254, then 198.18.1.1–46.
    const answers = Array.from({ length: 300 }, (_, i): [string, number] => [
      i < 254 ? `198.18.0.${i + 1}` : `198.18.1.${i - 253}`,
      i,
    ]);
    const report = (i: number) => ({
      destination: d.id,
      prefix: '198.18.0.0/23',
      start: (start + BigInt(i) * 60_000_000_000n).toString(),
      end: (start + BigInt(i) * 60_000_000_000n + 1n).toString(),
      addresses: 510,
      probed: 510,
      answered: 300,
      retries: 0,
      errors: 0,
      skipped: 0,
      rate: 1000,
      answers,
    });
    const mark = s.operations.length;
    await store.census.putPass(owner.id, report(0), 2);
    // 300 answers and 300 "appeared" events: 600 items, 24 requests of 25.
    expect(s.operations.slice(mark).filter((op) => op === 'BatchWriteItem')).toHaveLength(24);
    const again = s.operations.length;
    await store.census.putPass(owner.id, report(0), 2);
    expect(s.operations.slice(again)).toEqual(['GetItem']);
    await store.census.putPass(owner.id, report(1), 2);
    const out = await s.client().send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `CA#${d.id}#198.18.0.7` } },
      }),
    );
    expect(out.Items?.map((item) => [item.sk?.S, item.rtt?.N, item.expireAt?.N])).toEqual(
      [0, 1].map((i) => {
        const at = start + BigInt(i) * 60_000_000_000n;
        return [at.toString().padStart(20, '0'), '6', String(Number(at / 1_000_000_000n) + 1 + 14 * 86_400)];
      }),
    );
    const read = s.operations.length;
    const history = await store.census.hostHistory(d.id, '198.18.0.7', { limit: 100 });
    expect(s.operations.slice(read)).toEqual(['GetItem', 'Query', 'Query']);
    expect(history?.summary).toMatchObject({ passes: 2, answered: 2, rttMin: 6, rttMax: 6 });
    await store.close();
  });

  it('stamps results with an expiry `retention.raw` after their rtime and hides them once it passes', async () => {
    // Sent in the second 1,763,780,000 (+ 0, 1, 2 ms): hidden once that second is more than 30 days ago.
    const sent = 1_763_780_000;
    let now = new Date('2025-11-25T00:00:00Z');
    const s = await dynamo();
    const tableName = await s.createTable();
    const store = createDynamoStore({
      tableName,
      client: s.client(),
      retention: { ...DEFAULT_RETENTION, raw: 30 * 86_400 },
      now: () => now,
    });
    const { owner, dst } = await seed(store);
    await store.putResults(owner, results(dst.id, 3));
    const raw = await s.client().send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `R#${dst.id}` } },
      }),
    );
    expect(raw.Items?.map((i) => Number(i.expireAt?.N))).toEqual(Array(3).fill(sent + 1 + 30 * 86_400));
    now = new Date((sent + 30 * 86_400 + 0.999) * 1000);
    expect(await countAll(store)).toBe(3);
    expect(await countAll(store, { destination: dst.id })).toBe(3);
    now = new Date((sent + 1 + 30 * 86_400) * 1000);
    // Past expiry but not yet swept by DynamoDB's TTL: every listing path filters it.
    expect(await countAll(store)).toBe(0);
    expect(await countAll(store, { destination: dst.id })).toBe(0);
    expect(await countAll(store, { source: owner.id })).toBe(0);
    // An expired copy does not count as a duplicate: it is stored again, and kept a day from its arrival.
    expect(await store.putResults(owner, results(dst.id, 3))).toEqual({ stored: 3, duplicates: 0 });
    expect(await countAll(store)).toBe(3);
    now = new Date(now.getTime() + 86_400_000);
    expect(await countAll(store)).toBe(0);
    await store.close();
  });

  it('retries UnprocessedItems with backoff until every result is stored', async () => {
    const fault: { current?: Fault } = {};
    const { store } = await faultyStore(fault);
    const { owner, dst } = await seed(store);
    let writes = 0;
    // DynamoDB takes only the first 10 items of each request, twice per group.
    const refusals = new Map<string, number>();
    fault.current = (command, input, send) => {
      if (command !== 'BatchWriteItemCommand') return undefined;
      writes++;
      const [table, requests] = Object.entries(input.RequestItems as Record<string, unknown[]>)[0]!;
      const key = JSON.stringify(requests.at(-1));
      const refused = refusals.get(key) ?? 0;
      if (refused >= 2 || requests.length <= 10) return undefined;
      refusals.set(key, refused + 1);
      return send({ RequestItems: { [table]: requests.slice(0, 10) } }).then((out) => ({
        ...out,
        UnprocessedItems: { [table]: requests.slice(10) },
      }));
    };
    expect(await store.putResults(owner, results(dst.id, 100))).toEqual({ stored: 100, duplicates: 0 });
    expect(writes).toBeGreaterThan(4);
    fault.current = undefined;
    expect(await countAll(store)).toBe(100);
    await store.close();
  });

  it('reports a throttled batch as unavailable, and the agent retry makes it whole', async () => {
    const fault: { current?: Fault } = {};
    const { store } = await faultyStore(fault);
    const { owner, dst } = await seed(store);
    const batch = results(dst.id, 120);
    // Groups after the second are throttled: part of the batch is in, part is not.
    let groups = 0;
    fault.current = (command) => {
      if (command === 'BatchWriteItemCommand' && ++groups > 2) throw throttled();
      return undefined;
    };
    const err = await store.putResults(owner, batch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).code).toBe('unavailable');
    expect((err as Error).message).toMatch(/^\[store:dynamodb\] /);
    fault.current = undefined;
    expect(await countAll(store)).toBeLessThan(120);
    expect(await store.putResults(owner, batch)).toEqual({ stored: 120, duplicates: 0 });
    expect(await countAll(store)).toBe(120);
    expect(await store.putResults(owner, batch)).toEqual({ stored: 0, duplicates: 120 });
    await store.close();
  });

  it('heals a batch whose final group failed half-way when the agent posts it again', async () => {
    const fault: { current?: Fault } = {};
    const { store } = await faultyStore(fault);
    const { owner, dst } = await seed(store);
    // Groups of 25 (the minute's fragment and 24 results), 25, and 10 with the dirty-slot items and the
    // sentinel last.
    const batch = results(dst.id, 60);
    let groups = 0;
    // The final group: DynamoDB stores its last item (the sentinel), then throttles every retry.
    fault.current = (command, input, send) => {
      if (command !== 'BatchWriteItemCommand' || ++groups < 3) return undefined;
      if (groups > 3) throw throttled();
      const [table, requests] = Object.entries(input.RequestItems as Record<string, unknown[]>)[0]!;
      return send({ RequestItems: { [table]: requests.slice(-1) } }).then((out) => ({
        ...out,
        UnprocessedItems: { [table]: requests.slice(0, -1) },
      }));
    };
    await expect(store.putResults(owner, batch)).rejects.toBeInstanceOf(UnavailableError);
    fault.current = undefined;
    expect(await countAll(store)).toBe(50);
    expect(await store.putResults(owner, batch)).toEqual({ stored: 0, duplicates: 60 });
    expect(await countAll(store)).toBe(60);
    await store.close();
  });

  it('commits concurrent config changes from several instances without losing one', async () => {
    const s = await dynamo();
    const tableName = await s.createTable();
    const stores = [0, 1, 2].map(() =>
      createDynamoStore({ tableName, client: s.client(), retry: { attempts: 8, baseMs: 5, capMs: 100 } }),
    );
    const before = await stores[0]!.configVersion();
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        stores[i % 3]!.createSource(
          v.parse(SourceCreateSchema, { name: `s${i}` }),
          String(i).padStart(64, '0'),
        ),
      ),
    );
    expect(new Set(created.map((c) => c.sourceid)).size).toBe(6);
    expect(await stores[1]!.configVersion()).toBe(before + 6);
    expect(await stores[2]!.listSources()).toHaveLength(6);
    for (const store of stores) await store.close();
  });

  it('reports a committed change whose apply step failed as done, and the next reader of the version finishes it', async () => {
    const fault: { current?: Fault } = {};
    const { store, tableName } = await faultyStore(fault);
    const version = await store.configVersion();
    // The claim on META succeeds; every write after it fails, as if the Lambda died there.
    let claimed = false;
    fault.current = (command, input) => {
      if (command !== 'UpdateItemCommand') return undefined;
      if (claimed) throw throttled();
      claimed = String(input.UpdateExpression).startsWith('SET seq');
      return undefined;
    };
    // Committed, so reported as done: a 503 here would make the operator's retry a second destination.
    const created = await store.createDestination(
      v.parse(DestinationCreateSchema, { address: '198.18.0.9' }),
    );
    expect(created.address).toBe('198.18.0.9');
    expect(claimed).toBe(true);
    fault.current = undefined;
    const s = await dynamo();
    const other = createDynamoStore({ tableName, client: s.client() });
    expect(await other.configVersion()).toBe(version + 1);
    expect((await other.listDestinations()).map((d) => d.id)).toEqual([created.id]);
    await other.close();
    await store.close();
  });

  it('never lets a slow helper replay an old change over a newer one (no undo, no resurrection)', async () => {
    const fault: { current?: Fault } = {};
    const { store: slow, tableName } = await faultyStore(fault);
    const s = await dynamo();
    const fast = createDynamoStore({ tableName, client: s.client() });
    const fields = (address: string) => v.parse(DestinationCreateSchema, { address });

    // The slow instance commits a change, then stalls before its write of the destination reaches DynamoDB.
    let held: ((go: boolean) => void) | undefined;
    fault.current = (command, input, send) => {
      if (command !== 'UpdateItemCommand' || !String(input.UpdateExpression).startsWith('SET #a0'))
        return undefined;
      if ((input.Key as { pk: string }).pk !== 'DST') return undefined;
      fault.current = undefined;
      return new Promise<void>((resolve) => {
        held = () => resolve();
      }).then(() => send(input));
    };
    const created = slow.createDestination(fields('198.18.0.1'));
    await vi.waitFor(() => expect(held).toBeDefined(), { timeout: 5000, interval: 5 });
    // Another instance finishes the committed change (reading the version does), then deletes the destination.
    await fast.configVersion();
    const [d] = await fast.listDestinations();
    expect(d?.address).toBe('198.18.0.1');
    expect(await fast.deleteDestination(d!.id)).toBe(true);
    // The stalled write lands now: it must not bring the destination back.
    held!(true);
    expect((await created).id).toBe(d!.id);
    expect(await fast.getDestination(d!.id)).toBeUndefined();
    expect(await slow.listDestinations()).toEqual([]);

    // Same for an update: the older image must not overwrite a newer one.
    const e = await fast.createDestination(fields('198.18.0.2'));
    fault.current = (command, input, send) => {
      if (command !== 'UpdateItemCommand' || (input.Key as { sk: string }).sk !== e.id) return undefined;
      fault.current = undefined;
      return new Promise<void>((resolve) => {
        held = () => resolve();
      }).then(() => send(input));
    };
    held = undefined;
    const replaced = slow.replaceDestination(e.id, { ...e, ttl: 5 });
    await vi.waitFor(() => expect(held).toBeDefined(), { timeout: 5000, interval: 5 });
    await fast.configVersion();
    await fast.replaceDestination(e.id, { ...e, ttl: 9 });
    held!(true);
    await replaced;
    expect((await fast.getDestination(e.id))?.ttl).toBe(9);
    await fast.close();
    await slow.close();
  });

  it('reads a bounded number of pages per request under a sparse filter, and the cursor carries on', async () => {
    const fault: { current?: Fault } = {};
    const { store } = await faultyStore(fault);
    const { owner, dst } = await seed(store);
    // Three timeouts, then more replies above them than one request may read past.
    const base = 1_763_780_000_000_000_000n;
    const timeouts = results(dst.id, 3, base).map((r) => ({ ...r, ...TIMED_OUT }));
    const replies = results(dst.id, 1000 * MAX_PAGES_PER_PARTITION, base + 1_000_000_000n);
    for (let i = 0; i < replies.length; i += 1000) await store.putResults(owner, replies.slice(i, i + 1000));
    await store.putResults(owner, timeouts);

    let queries = 0;
    fault.current = (command) => {
      if (command === 'QueryCommand') queries++;
      return undefined;
    };
    const found: string[] = [];
    let cursor: string | undefined;
    let requests = 0;
    const perRequest: number[] = [];
    do {
      queries = 0;
      const page = await store.listResults({ destination: dst.id, status: 'timeout', limit: 2, cursor });
      perRequest.push(queries);
      found.push(...page.results.map((r) => r.rtime));
      cursor = page.cursor ?? undefined;
      // A short page (even an empty one) with a cursor means "not done yet".
      if (++requests === 1) expect(page).toMatchObject({ results: [], cursor: expect.any(String) });
    } while (cursor && requests < 10);
    expect(Math.max(...perRequest)).toBeLessThanOrEqual(MAX_PAGES_PER_PARTITION);
    expect(requests).toBeGreaterThan(1);
    expect(cursor).toBeUndefined();
    expect(found).toEqual(timeouts.map((r) => r.rtime).reverse());
    await store.close();
  });

  it('refuses results for a destination another instance deleted after this one cached it, even mid-change', async () => {
    const s = await dynamo();
    const tableName = await s.createTable();
    const ingest = createDynamoStore({ tableName, client: s.client(), now: () => new Date(CONTRACT_NOW) });
    const fault: { current?: Fault } = {};
    const { store: admin } = await faultyStore(fault, { tableName });
    const { owner, dst } = await seed(admin);
    // 120 more: a batch naming them all is validated by a listing of the partition, not by key.
    const many = [dst.id];
    for (let i = 0; i < 120; i++)
      many.push(
        (await admin.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.2' }))).id,
      );
    const spread = (base: bigint) =>
      results(dst.id, 121, base).map((r, i) => ({ ...r, destination: many[i]! }));
    const base = 1_763_780_000_000_000_000n;
    for (let k = 0n; k < 3n; k++) await ingest.putResults(owner, spread(base + k * 1_000_000_000n));
    // Deleted by another instance: refused at once, though this instance had it cached as live.
    expect(await admin.deleteDestination(many[5]!)).toBe(true);
    await expect(ingest.putResults(owner, spread(base + 9_000_000_000n))).rejects.toMatchObject({
      code: 'not_found',
      path: 'results.5.destination',
    });
    // Created by another instance: accepted at once.
    const fresh = await admin.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.3' }));
    expect(await ingest.putResults(owner, results(fresh.id, 2, base))).toEqual({ stored: 2, duplicates: 0 });
    // A delete committed whose apply step failed (the deleting instance died): the batch finishes it and is
    // refused.
    for (let k = 10n; k < 12n; k++)
      await ingest.putResults(owner, results(dst.id, 2, base + k * 1_000_000_000n));
    let claimed = false;
    fault.current = (command, input) => {
      if (command !== 'UpdateItemCommand') return undefined;
      if (claimed) throw throttled();
      claimed = String(input.UpdateExpression).startsWith('SET seq');
      return undefined;
    };
    expect(await admin.deleteDestination(dst.id)).toBe(true);
    fault.current = undefined;
    await expect(ingest.putResults(owner, results(dst.id, 2, base + 20_000_000_000n))).rejects.toMatchObject({
      code: 'not_found',
    });
    await ingest.close();
    await admin.close();
  });

  it('answers a throttled read with UnavailableError', async () => {
    const fault: { current?: Fault } = { current: () => Promise.reject(throttled()) };
    const { store } = await faultyStore(fault);
    await expect(store.configVersion()).rejects.toBeInstanceOf(UnavailableError);
    await expect(store.listResults({ limit: 5 })).rejects.toBeInstanceOf(UnavailableError);
    await store.close();
  });
});

describe('dynamodb stats', () => {
  it('compacts hours and days in prune, and reads 30 days of a pair in 3 Queries', async () => {
    const s = await dynamo();
    let now = new Date(CONTRACT_NOW);
    const tableName = await s.createTable();
    const store = createDynamoStore({ tableName, client: s.client(), now: () => now });
    const { owner, dst } = await seed(store);
    // One probe an hour for 30 days before now, posted now.
    const end = BigInt(CONTRACT_NOW) * 1_000_000n;
    const batch = Array.from({ length: 720 }, (_, i) => ({
      ...results(dst.id, 1)[0]!,
      rtime: `${end - BigInt(720 - i) * 3_600_000_000_000n + 1_000_000_000n}`,
      rseq: i,
      rtt: 100 + (i % 7),
      // One in three timed by the process on send: the count rides through fragments into the compacted items.
      timing: { send: i % 3 === 0 ? 'process' : 'kernel', receive: 'kernel', lateness: 0 } as const,
    }));
    await store.putResults(owner, batch);
    const read = () =>
      store.stats!.readStats({
        from: end - 30n * 86_400_000_000_000n,
        to: end,
        destination: dst.id,
        source: owner.id,
      });
    const totals = [{ destination: dst.id, source: owner.id, sent: 720, received: 720, processTimed: 240 }];
    expect(await store.stats!.totals({})).toEqual(totals);
    const before = await read();
    // Minutes of the last two days: from the fragments now (every hour is dirty), from the compacted minute
    // items of each hour once prune ran.
    const readMinutes = () =>
      store.stats!.readStats({
        from: end - 2n * 86_400_000_000_000n,
        to: end,
        step: 60,
        destination: dst.id,
        source: owner.id,
      });
    const minutesBefore = await readMinutes();
    expect(minutesBefore.series[0]!.points).toHaveLength(48);
    expect(before.step).toBe(3_600);
    expect(before.series[0]!.points.reduce((n, p) => n + p.sent, 0)).toBe(720);

    // Two passes a few minutes apart: hours first, then the days once their hours are swept and quiet.
    for (const _ of [1, 2]) {
      now = new Date(now.getTime() + 120_000);
      let passes = 0;
      while ((await store.stats!.prune(now)).more) passes++;
      expect(passes).toBeLessThan(100);
    }
    const mark = s.operations.length;
    const after = await read();
    const queries = s.operations.slice(mark).filter((op) => op === 'Query').length;
    expect(after).toEqual(before);
    const minuteMark = s.operations.length;
    expect(await readMinutes()).toEqual(minutesBefore);
    // The dirty items and the destination's minute items; no fragment of the shard is read.
    expect(s.operations.slice(minuteMark).filter((op) => op === 'Query').length).toBe(2);
    // The running totals: the same from the compacted days as from the fragments before.
    expect(await store.stats!.totals({})).toEqual(totals);
    expect(await store.stats!.totals({ destination: 'dst_unknown' })).toEqual([]);
    // The dirty-slot items and the hour items: every hour is compacted and clean.
    expect(queries).toBeLessThanOrEqual(3);
    // The 24-hour summary reads every pair through the time index: the dirty items, then one Query per shard
    // (8) and day for the whole hours (two days) and each partial hour at the ends.
    const summaryMark = s.operations.length;
    const rows = await store.stats!.summary({ to: end, window: 86_400, sort: 'loss' });
    // The window is (now − 24 h + 1 min, now + 1 min]: the probe at now − 24 h + 1 s is just outside it.
    expect(rows.map((r) => r.sent)).toEqual([23]);
    expect(s.operations.slice(summaryMark).filter((op) => op === 'Query').length).toBeLessThanOrEqual(41);
    const days = await store.stats!.readStats({
      from: end - 30n * 86_400_000_000_000n,
      to: end,
      step: 86_400,
      destination: dst.id,
    });
    expect(days.series[0]!.points.reduce((n, p) => n + p.sent, 0)).toBe(720);
    const count = async (prefix: string) =>
      (
        await s.client().send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
            ExpressionAttributeValues: { ':pk': { S: `U#${dst.id}` }, ':p': { S: prefix } },
            Select: 'COUNT',
          }),
        )
      ).Count;
    // A compacted item per hour (and one of its minutes) and per day with results (now is a UTC midnight);
    // fragments live in the packed items of the shard's partitions, none in the destination's.
    expect([await count('m#'), await count('n#'), await count('h#'), await count('d#')]).toEqual([
      0, 720, 720, 30,
    ]);
    await store.close();
  }, 60_000);
});
