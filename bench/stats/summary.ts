/**
 * Summary benchmark (issues 10 and 12): `summary` for 10,000 destinations (one source) over 5 min, 1 h and
 * 24 h, the rolling summary (rolling-summary.ts) against the tiers added up over the window (the store's
 * `rollingSummary: false`, the peer), in the same run, alternating read by read, at the store and through the
 * app (`app.request('/v1/stats/summary?window=…')`, JSON included). Wall and process CPU time (user + system)
 * per read, medians.
 *
 * The data is bench/stats/store.ts's: the tiers filled directly with the rows the windows read (made from real
 * 60-result buckets; 24 h of 10,000 pairs is too many results to post), the last 3 minutes posted as results
 * so the open-minute cache holds 30,000 slots as it would live; the window ends at 01:37 UTC, off every
 * boundary. The tiers are not each other's sums here (only the slots read exist), so the two paths' figures
 * differ; this measures time only (test/store/rolling-summary.test.ts checks they agree).
 *
 * Rows per window: `slow` (peer), `rolling, first` (the state built: one slow pass per window length and
 * process), `rolling` (state current), `rolling, 1 min on` (each read a minute later than the last: the
 * minute leaving read back and taken away, min/max read again where they left).
 *
 *   node --import tsx bench/stats/summary.ts [--reads 5] [--levels store,http] [--windows 5m,1h,24h]
 *
 * No network. Every loop is bounded in count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { ResultInput } from '../../contract/index.js';
import { createApp } from '../../control-plane/app.js';
import { generateToken } from '../../control-plane/auth.js';
import { bucketResults, mergeBuckets } from '../../control-plane/rollup/bucket.js';
import { ROLLUP_COLUMNS, rowParams } from '../../control-plane/store/sqlite/rollup-rows.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import { cover, SUMMARY_WIDTHS } from '../../control-plane/store/sqlite/stats-read.js';
import type { Store } from '../../control-plane/store/store.js';
import { median } from '../ingest/stats.js';

const { values: args } = parseArgs({
  options: {
    reads: { type: 'string', default: '5' },
    levels: { type: 'string', default: 'store,http' },
    windows: { type: 'string', default: '5m,1h,24h' },
  },
});
const READS = Number(args.reads);
const PAIRS = 10_000;
const T0 = 1_763_769_600_000_000_000n;
const NS = 1_000_000_000n;

function result(destination: string, rtime: bigint, i: number): ResultInput {
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

/** Makes the file; returns the window's end (seconds). */
async function fill(path: string): Promise<number> {
  const store = createSqliteStore({ path });
  const src = await store.createSource(
    { name: 's', location: 0, host: 0, address: null, labels: {} },
    'b'.repeat(64),
  );
  const first = await store.createDestination({
    active: true,
    address: '198.18.0.1',
    protocol: 'icmp',
    port: null,
    interval: 10_000,
    timeout: 1000,
    ttl: 64,
    data: '',
    labels: {},
    sources: [],
  });
  await store.close();
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
    for (const [from, to] of [
      [end - window, end],
      [end - window, end + 86_400],
    ]) {
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
    for (let d = 1; d < PAIRS; d++) {
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
      for (let p = 0; p < PAIRS; p++) insert[tier].run(keys[p], source, Number(t), ...encoded[tier][p % 10]!);
    }
    console.error(`summary data: ${slots.size} slots × ${PAIRS} pairs`);
  })();
  db.close();
  const store2 = createSqliteStore({ path });
  const owner = { id: src.id, location: 0, host: 0 };
  for (let s = 0; s < 180; s += 10) {
    await store2.putResults(
      owner,
      ids.map((id, p) => result(id, BigInt(end - 180 + s) * NS + BigInt(p) * 1000n, p + s)),
    );
  }
  const { token, hash } = await generateToken('read');
  await store2.createToken({ hash, kind: 'read', sourceId: null, name: 'bench' });
  tokenOf = token;
  await store2.close();
  return end;
}
let tokenOf = '';

interface Sample {
  wall: number;
  cpu: number;
}

async function timed(work: () => Promise<number>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const rows = await work();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (rows !== PAIRS) throw new Error(`summary: ${rows} rows, not ${PAIRS}`);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

type Level = 'store' | 'http';
function reader(store: Store, level: Level, at: { seconds: number }) {
  const app = createApp({ store, clock: { now: () => new Date(at.seconds * 1000 - 1) } });
  const name = { 300: '5m', 3600: '1h', 86400: '24h' } as Record<number, string>;
  return async (window: number) => {
    if (level === 'store') {
      return (await store.stats!.summary({ to: BigInt(at.seconds) * NS - 1n, window, sort: 'loss' })).length;
    }
    const response = await app.request(`/v1/stats/summary?window=${name[window]}`, {
      headers: { authorization: `Bearer ${tokenOf}` },
    });
    const body = (await response.json()) as { rows: unknown[] };
    return body.rows.length;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-summary-'));
try {
  const path = join(dir, 'p.db');
  const end = await fill(path);
  const figures = new Map<string, Sample[]>();
  const add = (key: string, s: Sample) => {
    figures.set(key, [...(figures.get(key) ?? []), s]);
  };
  for (const level of args.levels.split(',') as Level[]) {
    for (const [name, window] of [
      ['5m', 300],
      ['1h', 3_600],
      ['24h', 86_400],
    ] as const) {
      if (!args.windows.split(',').includes(name)) continue;
      // Fresh instances per window: the rolling one's first read builds its state.
      const at = { seconds: end };
      const slowStore = createSqliteStore({ path, rollingSummary: false });
      const fastStore = createSqliteStore({ path });
      const slow = reader(slowStore, level, at);
      const fast = reader(fastStore, level, at);
      add(`${level} ${name} rolling, first`, await timed(() => fast(window)));
      for (let r = 0; r < READS; r++) {
        add(`${level} ${name} slow (peer)`, await timed(() => slow(window)));
        add(`${level} ${name} rolling`, await timed(() => fast(window)));
      }
      for (let r = 0; r < 3; r++) {
        at.seconds += 60;
        add(`${level} ${name} rolling, 1 min on`, await timed(() => fast(window)));
      }
      await slowStore.close();
      await fastStore.close();
      for (const [key, samples] of figures) {
        if (!key.startsWith(`${level} ${name} `)) continue;
        console.log(
          `${key}: wall ${median(samples.map((s) => s.wall)).toFixed(0)} ms, cpu ${median(samples.map((s) => s.cpu)).toFixed(0)} ms ` +
            `(n ${samples.length}; wall ${samples.map((s) => s.wall.toFixed(0)).join(', ')})`,
        );
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
