/**
 * The summary benchmarks' data (bench/stats/store.ts and summary.ts): `pairs` destinations of one source, the
 * tiers filled directly with the rows the 5 min, 1 h and 24 h windows read (made from ten real 60-result buckets,
 * reused; 24 h of 10,000 pairs is too many results to post), then the last 3 minutes posted as results so that
 * the open-minute cache holds what it would live. The window ends at 25:37 after T0 (01:37 UTC), off every
 * boundary. The tiers are not each other's sums (only the slots read exist): the data measures time only.
 */
import Database from 'better-sqlite3';
import type { ResultInput } from '../../contract/index.js';
import { bucketResults, mergeBuckets } from '../../control-plane/rollup/bucket.js';
import { ROLLUP_COLUMNS, rowParams } from '../../control-plane/store/sqlite/rollup-rows.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import { cover, SUMMARY_WIDTHS } from '../../control-plane/store/sqlite/stats-read.js';
import type { Store } from '../../control-plane/store/store.js';
import { destinationInput, sourceInput } from '../../test/helpers/factories.js';

/** 2025-11-22 00:00 UTC, in ns: the benchmarks' time origin. */
export const T0 = 1_763_769_600_000_000_000n;
const NS = 1_000_000_000n;

/** The `i`th result of a destination: an ICMP reply of 250–393 µs, every 50th a timeout. */
export function result(destination: string, rtime: bigint, i: number): ResultInput {
  const timeout = i % 50 === 0;
  return {
    destination,
    rtime: `${rtime}`,
    target: '198.18.0.1',
    protocol: 'icmp',
    address: timeout ? null : '198.18.0.1',
    rtt: timeout ? null : 250 + (i % 1000) / 7,
    rtype: timeout ? null : 0,
    rcode: timeout ? null : 0,
    rid: 4242,
    rseq: i % 65_536,
    datamatch: timeout ? null : true,
    status: timeout ? 'timeout' : 'reply',
    ttl: timeout ? null : 63,
  };
}

export interface SummaryDataOptions {
  pairs: number;
  /** Also the slots the rolling summary's state is built from (those past each window's end). */
  rolling?: boolean;
  /** Runs on the store before it is closed (e.g. to add a token). */
  after?: (store: Store) => Promise<void>;
}

/** Makes the file at `path`; returns the window's end (seconds) and the destination ids. */
export async function fillSummaryData(
  path: string,
  { pairs, rolling = false, after }: SummaryDataOptions,
): Promise<{ end: number; ids: string[] }> {
  const setup = createSqliteStore({ path });
  const src = await setup.createSource(sourceInput({ name: 's' }), 'b'.repeat(64));
  const first = await setup.createDestination(destinationInput({ interval: 10_000 }));
  await setup.close();
  const end = Number(T0 / NS) + 25 * 3_600 + 37 * 60;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const ids = [first.id];
  const numOf = db.prepare<[string], { num: number }>('SELECT num FROM result_keys WHERE id = ?');
  const keys = [numOf.get(first.id)!.num];
  const source = numOf.get(src.id)!.num;
  const templates = Array.from(
    { length: 10 },
    (_, k) =>
      bucketResults(
        Array.from({ length: 60 }, (_, i) => {
          const r = result('d', T0 + BigInt(i) * NS, k * 997 + i * 13);
          return { destination: 0, rtime: r.rtime, status: r.status, rtt: r.rtt };
        }),
      )[0]!.bucket,
  );
  const WIDTH = { minute: 60, tenmin: 600, hour: 3_600, sixhour: 21_600 } as const;
  const merged = (n: number) => templates.map((b) => mergeBuckets(Array(n).fill(b)));
  const bucketsOf = { minute: templates, tenmin: merged(10), hour: merged(60), sixhour: merged(360) };
  // The slots the slow path reads, and those the rolling state is built from (its window's start onwards).
  const slots = new Set<string>();
  for (const window of [300, 3_600, 86_400]) {
    // With `rolling`, also the slots past the window's end that the rolling state is built from.
    for (const [from, to] of rolling
      ? [
          [end - window, end],
          [end - window, end + 86_400],
        ]
      : [[end - window, end]]) {
      for (const [tier, a, b] of cover(from!, to!, SUMMARY_WIDTHS)) {
        for (let t = a; t < b; t += WIDTH[tier]) if (t < end - 180) slots.add(`${tier}/${t}`);
      }
    }
  }
  db.transaction(() => {
    const row = db.prepare('SELECT * FROM destinations WHERE id = ?').get(first.id) as Record<
      string,
      unknown
    >;
    const insertDestination = db.prepare(
      `INSERT INTO destinations (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row)
        .map((k) => `@${k}`)
        .join(', ')})`,
    );
    const addKey = db.prepare('INSERT INTO result_keys (id) VALUES (?) RETURNING num');
    for (let d = 1; d < pairs; d++) {
      const id = `dst_bench${String(d).padStart(11, '0')}`;
      insertDestination.run({ ...row, id, address: `198.18.${d >> 8}.${d & 255}` });
      ids.push(id);
      keys.push((addKey.get(id) as { num: number }).num);
    }
    const columns = `(${ROLLUP_COLUMNS.join(', ')}) VALUES (${ROLLUP_COLUMNS.map(() => '?').join(', ')})`;
    const insert = {
      minute: db.prepare(`INSERT INTO rollup_minute ${columns}`),
      tenmin: db.prepare(`INSERT INTO rollup_tenmin ${columns}`),
      hour: db.prepare(`INSERT INTO rollup_hour ${columns}`),
      sixhour: db.prepare(`INSERT INTO rollup_sixhour ${columns}`),
    };
    const encoded = Object.fromEntries(
      Object.entries(bucketsOf).map(([tier, list]) => [
        tier,
        list.map((b) => rowParams(0, source, 0, b).slice(3)),
      ]),
    ) as Record<keyof typeof WIDTH, unknown[][]>;
    for (const slot of slots) {
      const [tier, t] = slot.split('/') as [keyof typeof WIDTH, string];
      for (let p = 0; p < pairs; p++) insert[tier].run(keys[p], source, Number(t), ...encoded[tier][p % 10]!);
    }
    console.error(`summary data: ${slots.size} slots × ${pairs} pairs`);
  })();
  db.close();
  const store = createSqliteStore({ path });
  try {
    const owner = { id: src.id, location: 0, host: 0 };
    for (let s = 0; s < 180; s += 10) {
      await store.putResults(
        owner,
        ids.map((id, p) => result(id, BigInt(end - 180 + s) * NS + BigInt(p) * 1000n, p + s)),
      );
    }
    await after?.(store);
  } finally {
    await store.close();
  }
  return { end, ids };
}
