/**
 * Statistics benchmark, store level (issue 10), in-process on temp SQLite files:
 *
 * - ingest with rollups against the same ingest without (`rollups: false`, the baseline), alternating, same
 *   batches: 1,000-result batches over 20 destinations (the HTTP ingest benchmark's shape: ~20 (pair, minute)
 *   slots per batch) and over 1,000 destinations (a slot per result or two: the rollups' worst case);
 * - `readStats` for one pair over 30 days of minute data (one probe every 10 s: 43,200 minute rows), with the
 *   automatic step (hour tier) and a 5-minute step (minute tier, 5 rows merged per point).
 *
 *   node --import tsx bench/stats/store.ts [--runs 3] [--batches 100] [--reads 20]
 *
 * No network. Every loop is bounded in count. Medians of the runs are printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ResultInput } from '../../contract/index.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import { median } from '../ingest/stats.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    batches: { type: 'string', default: '100' },
    reads: { type: 'string', default: '20' },
  },
});
const RUNS = Number(args.runs);
const BATCHES = Number(args.batches);
const READS = Number(args.reads);
const BATCH = 1000;
const T0 = 1_763_769_600_000_000_000n;

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

/** Results/s storing BATCHES batches; each destination probed once a second, as an agent would. */
async function ingest(rollups: boolean, destinations: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  const store = createSqliteStore({ path: join(dir, 'p.db'), rollups });
  try {
    const src = await store.createSource(
      { name: 's', location: 0, host: 0, address: null, labels: {} },
      'b'.repeat(64),
    );
    const ids: string[] = [];
    for (let d = 0; d < destinations; d++) {
      ids.push(
        (
          await store.createDestination({
            active: true,
            address: `198.18.${d >> 8}.${d & 255}`,
            protocol: 'icmp',
            port: null,
            interval: 1000,
            timeout: 1000,
            ttl: 64,
            data: '',
            labels: {},
            sources: [],
          })
        ).id,
      );
    }
    const owner = { id: src.id, location: 0, host: 0 };
    const batch = (b: number) =>
      Array.from({ length: BATCH }, (_, i) => {
        const n = b * BATCH + i;
        // Probe n is destination n mod D in round n div D, one round a second.
        const rtime =
          T0 + BigInt(Math.floor(n / destinations)) * 1_000_000_000n + BigInt(n % destinations) * 1000n;
        return result(ids[n % destinations]!, rtime, n);
      });
    for (let b = 0; b < 5; b++) await store.putResults(owner, batch(b)); // warm-up
    const bodies = Array.from({ length: BATCHES }, (_, b) => batch(b + 5));
    const started = performance.now();
    for (const body of bodies) await store.putResults(owner, body);
    return (BATCHES * BATCH) / ((performance.now() - started) / 1000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ms per readStats over 30 days of one pair, for the auto step and a 5-minute step. */
async function reads(): Promise<{ auto: number; fiveMinutes: number; points: [number, number] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  const store = createSqliteStore({ path: join(dir, 'p.db') });
  try {
    const src = await store.createSource(
      { name: 's', location: 0, host: 0, address: null, labels: {} },
      'b'.repeat(64),
    );
    const dst = await store.createDestination({
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
    const total = 30 * 8_640;
    for (let i = 0; i < total; i += 5000) {
      await store.putResults(
        { id: src.id, location: 0, host: 0 },
        Array.from({ length: Math.min(5000, total - i) }, (_, j) =>
          result(dst.id, T0 + BigInt(i + j) * 10_000_000_000n, i + j),
        ),
      );
    }
    const filter = {
      destination: dst.id,
      source: src.id,
      from: T0,
      to: T0 + 30n * 86_400n * 1_000_000_000n - 1n,
    };
    const time = async (step?: number) => {
      const samples: number[] = [];
      let points = 0;
      for (let r = 0; r < READS; r++) {
        const started = performance.now();
        const got = await store.stats!.readStats({ ...filter, step });
        samples.push(performance.now() - started);
        points = got.series[0]!.points.length;
      }
      return { ms: median(samples), points };
    };
    const auto = await time();
    const five = await time(300);
    return { auto: auto.ms, fiveMinutes: five.ms, points: [auto.points, five.points] };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Record<string, number[]> = {};
const add = (key: string, value: number) => {
  rows[key] ??= [];
  rows[key].push(value);
};
for (let run = 0; run < RUNS; run++) {
  for (const destinations of [20, 1000]) {
    const without = await ingest(false, destinations);
    const withRollups = await ingest(true, destinations);
    add(`ingest ${destinations} dst, without rollups (results/s)`, without);
    add(`ingest ${destinations} dst, with rollups (results/s)`, withRollups);
    add(`ingest ${destinations} dst, ratio with/without`, withRollups / without);
  }
  const r = await reads();
  add(`stats 30 d one pair, auto step (${r.points[0]} points, hour tier) ms`, r.auto);
  add(`stats 30 d one pair, step 5m (${r.points[1]} points, minute tier) ms`, r.fiveMinutes);
  console.error(`run ${run + 1}/${RUNS} done`);
}
for (const [key, values] of Object.entries(rows)) {
  const fmt = (v: number) => (v < 10 ? v.toFixed(2) : Math.round(v).toString());
  console.log(`${key}: median ${fmt(median(values))} (runs ${values.map(fmt).join(', ')})`);
}
