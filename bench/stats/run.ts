/**
 * Statistics benchmark (issue 10), in-process on the SQLite store; writes "Statistics (issue 10)" in
 * BENCHMARKS.md with `--write`. (bench/stats/store.ts, phase 1's, prints the store-level ingest and 30-day read
 * figures alone; this one measures the reads through the app and adds the summary and the bytes.)
 *
 * 1. ingest with rollups against the same ingest without (`rollups: false`, the store's switch for this
 *    baseline): `putResults` of 1,000-result batches on a fresh file each, for two shapes of traffic — 20
 *    destinations (a batch touches a few dozen (pair, minute) slots) and 1,000 destinations probed every second
 *    (a batch touches 1,000 slots: the worst case for rollups per result). The two modes alternate order per run.
 * 2. database bytes per million results, by table (SQLite's dbstat), with and without rollups, and what the
 *    default retention keeps at steady state for 10,000 destinations probed every second.
 * 3. `GET /v1/stats` for one pair over 30 days (through the app, `app.request`): server-chosen step (hour tier)
 *    and step=5m (minute tier).
 * 4. `GET /v1/stats/summary` over 10,000 destinations, windows 5m and 1h.
 *
 *   node --import tsx bench/stats/run.ts [--runs 3] [--batches 100] [--write]
 *
 * No network traffic at all; every loop is bounded in count.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { ResultInput } from '../../contract/index.js';
import { createApp } from '../../control-plane/app.js';
import { generateToken } from '../../control-plane/auth.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import type { ResultOwner } from '../../control-plane/store/store.js';
import { median } from '../ingest/stats.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    batches: { type: 'string', default: '100' },
    reads: { type: 'string', default: '15' },
    write: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const BATCHES = Number(args.batches);
const READS = Number(args.reads);
const BATCH = 1000;
const NS = 1_000_000_000n;
/** A Monday, 00:00 UTC: where the synthetic traffic starts. */
const BASE_S = 1_764_547_200;

const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const loads: number[] = [];

function result(destination: string, rtimeNs: bigint, n: number): ResultInput {
  const timeout = n % 50 === 0;
  return {
    destination,
    rtime: `${rtimeNs}`,
    target: '198.18.0.1',
    protocol: 'icmp',
    address: timeout ? null : '198.18.0.1',
    rtt: timeout ? null : 250 + ((n * 7919) % 1000) / 7,
    rtype: timeout ? null : 0,
    rcode: timeout ? null : 0,
    rid: 4242,
    rseq: n % 65_536,
    datamatch: timeout ? null : true,
    status: timeout ? 'timeout' : 'reply',
    ttl: timeout ? null : 63,
  };
}

/**
 * Batch `b` of traffic where each of `destinations` is probed every `everyS` seconds, results in time order:
 * result n goes to destination n mod D at tick n div D.
 */
function batchOf(destinations: string[], b: number, everyS = 1): ResultInput[] {
  const d = destinations.length;
  return Array.from({ length: BATCH }, (_, i) => {
    const n = b * BATCH + i;
    const tick = BigInt(Math.floor(n / d));
    const offset = (BigInt(n % d) * NS) / BigInt(d);
    return result(destinations[n % d]!, BigInt(BASE_S) * NS + tick * BigInt(everyS) * NS + offset, n);
  });
}

async function setUp(path: string, destinations: number, rollups = true) {
  const store = createSqliteStore({ path, rollups });
  const { hash } = await generateToken('agent');
  const owner: ResultOwner = await store.createSource(
    { name: 'bench', location: 0, host: 0, labels: {} } as never,
    hash,
  );
  const ids: string[] = [];
  for (let i = 0; i < destinations; i++) {
    const d = await store.createDestination({
      active: true,
      address: `198.18.${(i >> 8) & 255}.${i & 255}`,
      protocol: 'icmp',
      port: null,
      interval: 1000,
      timeout: 1000,
      ttl: 64,
      data: '',
      sources: [],
      labels: {},
    });
    ids.push(d.id);
  }
  return { store, owner, ids };
}

/** Bytes per table group of a closed-and-checkpointed file. */
function tableBytes(path: string): { raw: number; rollups: number; total: number } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare<[], { name: string; bytes: number }>(
        'SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name',
      )
      .all();
    let raw = 0;
    let rollups = 0;
    let total = 0;
    for (const { name, bytes } of rows) {
      total += bytes;
      if (name.startsWith('results') || name.startsWith('sqlite_autoindex_results')) raw += bytes;
      if (name.startsWith('rollup_')) rollups += bytes;
    }
    return { raw, rollups, total };
  } finally {
    db.close();
  }
}

function byTable(path: string): Map<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    return new Map(
      db
        .prepare<[], { name: string; bytes: number }>(
          'SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name',
        )
        .all()
        .map((r) => [r.name, r.bytes]),
    );
  } finally {
    db.close();
  }
}

interface IngestFigures {
  withPerSecond: number;
  withoutPerSecond: number;
  bytesWith: number;
  bytesWithout: number;
  rawBytes: number;
  rollupBytes: number;
  tables: Map<string, number>;
}

async function ingestRun(destinations: number, run: number): Promise<IngestFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  try {
    const modes = run % 2 === 0 ? [true, false] : [false, true];
    const rate = new Map<boolean, number>();
    const bytes = new Map<boolean, ReturnType<typeof tableBytes>>();
    let tables = new Map<string, number>();
    for (const rollups of modes) {
      const path = join(dir, `${rollups ? 'with' : 'without'}.db`);
      const { store, owner, ids } = await setUp(path, destinations, rollups);
      // Warm-up first in time too: batches then follow one another as an agent's do (a batch that lands among a
      // minute's stored replies makes the store recompute that minute's jitter: a different, rarer path).
      for (let b = 0; b < 5; b++) await store.putResults(owner, batchOf(ids, b));
      const batches = Array.from({ length: BATCHES }, (_, b) => batchOf(ids, b + 5));
      const started = performance.now();
      for (const batch of batches) await store.putResults(owner, batch);
      rate.set(rollups, (BATCHES * BATCH) / ((performance.now() - started) / 1000));
      await store.close();
      bytes.set(rollups, tableBytes(path));
      if (rollups) tables = byTable(path);
    }
    loads.push(load());
    const results = (BATCHES + 5) * BATCH;
    return {
      withPerSecond: rate.get(true)!,
      withoutPerSecond: rate.get(false)!,
      bytesWith: bytes.get(true)!.total / results,
      bytesWithout: bytes.get(false)!.total / results,
      rawBytes: bytes.get(true)!.raw / results,
      rollupBytes: bytes.get(true)!.rollups / results,
      tables,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timed(app: ReturnType<typeof createApp>, path: string, token: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < READS; i++) {
    const started = performance.now();
    const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body}`);
  }
  return times;
}

/** One pair, a probe every 10 s for 30 days: the rollup rows of 30 days at any interval (43,200 minutes). */
async function statsReads(): Promise<{ auto: number; fiveMinutes: number; step: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  try {
    const { store, owner, ids } = await setUp(join(dir, 'p.db'), 1);
    const batches = Math.ceil((30 * 86_400) / 10 / BATCH);
    for (let b = 0; b < batches; b++) await store.putResults(owner, batchOf(ids, b, 10));
    const end = new Date((BASE_S + 30 * 86_400) * 1000);
    const app = createApp({ store, clock: { now: () => end } });
    const { token, hash } = await generateToken('read');
    await store.createToken({ hash, kind: 'read', sourceId: null, name: 'bench' });
    const from = `${BigInt(BASE_S) * NS}`;
    const query = `/v1/stats?destination=${ids[0]}&source=${owner.id}&from=${from}`;
    const first = (await (
      await app.request(query, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      step: number;
      series: { points: unknown[] }[];
    };
    const step = `${first.step} s, ${first.series[0]?.points.length} points`;
    const runs = [];
    for (let run = 0; run < RUNS; run++) {
      const auto = median(await timed(app, query, token));
      const fiveMinutes = median(await timed(app, `${query}&step=5m`, token));
      runs.push({ auto, fiveMinutes, step });
      console.error(
        `stats 30 days, reads ${run + 1}/${RUNS}: ${JSON.stringify(runs.at(-1))}; load ${load()}`,
      );
      loads.push(load());
    }
    await store.close();
    return runs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 10,000 destinations, each probed once a minute for 61 minutes; the summary at hh:30:30 (no whole hour). */
async function summaryReads(): Promise<{ fiveMinutes: number; hour: number; rows: number }[]> {
  // Setting up 10,000 destinations is 10,000 synced commits: tmpfs makes that quick; reads hit the page cache
  // either way.
  const root = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(root, 'pinger-bench-summary-'));
  try {
    const { store, owner, ids } = await setUp(join(dir, 's.db'), 10_000);
    const minutes = 61;
    for (let b = 0; b < (minutes * ids.length) / BATCH; b++)
      await store.putResults(owner, batchOf(ids, b, 60));
    const now = new Date((BASE_S + 30 * 60 + 30) * 1000);
    const app = createApp({ store, clock: { now: () => now } });
    const { token, hash } = await generateToken('read');
    await store.createToken({ hash, kind: 'read', sourceId: null, name: 'bench' });
    const rows = (
      (await (
        await app.request('/v1/stats/summary?window=5m', { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        rows: unknown[];
      }
    ).rows.length;
    const runs = [];
    for (let run = 0; run < RUNS; run++) {
      const fiveMinutes = median(await timed(app, '/v1/stats/summary?window=5m', token));
      const hour = median(await timed(app, '/v1/stats/summary?window=1h', token));
      runs.push({ fiveMinutes, hour, rows });
      console.error(
        `summary 10,000, reads ${run + 1}/${RUNS}: ${JSON.stringify(runs.at(-1))}; load ${load()}`,
      );
      loads.push(load());
    }
    await store.close();
    return runs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine(): string {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  const nproc = execFileSync('nproc').toString().trim();
  return `${nproc} CPUs (nproc), ${model}, Node ${process.version}`;
}

const started = new Date();
const shapes = [20, 1000];
const ingest = new Map<number, IngestFigures[]>();
for (const d of shapes) {
  const runs: IngestFigures[] = [];
  for (let run = 0; run < RUNS; run++) {
    const f = await ingestRun(d, run);
    console.error(
      `ingest ${d} destinations, run ${run + 1}/${RUNS}: with rollups ${Math.round(f.withPerSecond)}/s, ` +
        `without ${Math.round(f.withoutPerSecond)}/s (${(f.withPerSecond / f.withoutPerSecond).toFixed(2)}×); ` +
        `${Math.round(f.bytesWith)} vs ${Math.round(f.bytesWithout)} bytes/result; load ${load()}`,
    );
    runs.push(f);
  }
  ingest.set(d, runs);
}
const statsRuns = await statsReads();
const summaryRuns = await summaryReads();
const finished = new Date();

const k = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(1);
const list = <T>(xs: T[], f: (x: T) => string) => xs.map(f).join(', ');
const ingestRows = shapes
  .map((d) => {
    const runs = ingest.get(d)!;
    const ratio = runs.map((r) => r.withPerSecond / r.withoutPerSecond);
    return [
      `| ${d} destinations: results/s with rollups | ${k(median(runs.map((r) => r.withPerSecond)))} | ${list(runs, (r) => k(r.withPerSecond))} | ≥ 50,000 |`,
      `| ${d} destinations: results/s without (peer) | ${k(median(runs.map((r) => r.withoutPerSecond)))} | ${list(runs, (r) => k(r.withoutPerSecond))} | |`,
      `| ${d} destinations: ratio with / without | ${median(ratio).toFixed(2)}× | ${list(ratio, (r) => `${r.toFixed(2)}×`)} | ≥ 0.8× |`,
      `| ${d} destinations: bytes per result with rollups (raw + rollups) | ${k(median(runs.map((r) => r.bytesWith)))} (${k(median(runs.map((r) => r.rawBytes)))} + ${k(median(runs.map((r) => r.rollupBytes)))}) | ${list(runs, (r) => k(r.bytesWith))} | |`,
      `| ${d} destinations: bytes per result without | ${k(median(runs.map((r) => r.bytesWithout)))} | ${list(runs, (r) => k(r.bytesWithout))} | |`,
    ].join('\n');
  })
  .join('\n');

// Steady state under the default retention, 10,000 destinations probed every second: raw 14 days; a minute,
// hour and day row per pair per slot for 60 days, 2 years and (here) 2 years. Row sizes from the 1,000
// destination runs (each minute row there holds 60 results, as at a 1 s interval).
const tables = ingest.get(1000)!.at(-1)!.tables;
const resultsIn = (BATCHES + 5) * BATCH;
const perRaw =
  ((tables.get('results') ?? 0) +
    [...tables]
      .filter(([n]) => n.startsWith('results_') || n.startsWith('sqlite_autoindex_results'))
      .reduce((s, [, b]) => s + b, 0)) /
  resultsIn;
const minuteRows = resultsIn / 60;
const perMinuteRow = ((tables.get('rollup_minute') ?? 0) + (tables.get('rollup_minute_t') ?? 0)) / minuteRows;
const destinationsAtScale = 10_000;
const rawBytes = perRaw * destinationsAtScale * 86_400 * 14;
const minuteBytes = perMinuteRow * destinationsAtScale * 1_440 * 60;
// Hour and day rows hold a bigger sketch than a minute's (more distinct RTTs); take a minute row's size as
// their floor: both are small beside the minute tier and raw.
const hourBytes = perMinuteRow * destinationsAtScale * 24 * 730;
const dayBytes = perMinuteRow * destinationsAtScale * 730;
const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;

const sr = (pick: (r: (typeof statsRuns)[number]) => number) => median(statsRuns.map(pick));
const su = (pick: (r: (typeof summaryRuns)[number]) => number) => median(summaryRuns.map(pick));
const section = `## Statistics (issue 10)

\`node --import tsx bench/stats/run.ts --runs ${RUNS} --batches ${BATCHES} --reads ${READS} --write\` (${started.toISOString().slice(0, 16)}–${finished.toISOString().slice(11, 16)} UTC)

Machine: ${machine()}; ingest files on ${tmpdir()}.
**The machine was shared with other work while this ran** (1-minute load average ${list(loads, (l) => l.toFixed(1))} at the end of each step, on ${cpus().length} cores):
absolute rates are lower than on a quiet machine; the with/without ratios, measured back to back in the same
run with alternating order, are the figures to trust.

In-process on the SQLite store (WAL, synchronous=FULL, one commit per batch), so the figures are the store's
own cost, without HTTP or JSON parsing (see "Ingest (issue 2)" for the whole path; what rollups add there is
this same work). ${BATCHES} batches of ${BATCH} new results per run after 5 warm-up batches, each mode on a
fresh file; 2 % timeouts, RTTs spread over 250–393 µs. "20 destinations": a batch spans 50 s of their
probing, touching ~40 (pair, minute) slots. "1,000 destinations": each probed every second, a batch spans 1 s
and touches 1,000 slots — every result updates its own minute, hour, day and total rows, the worst case.
Peer: the same store with \`rollups: false\` (no rollup rows written), in the same run. Medians of ${RUNS} runs.

| figure | median | runs | goal |
| --- | --- | --- | --- |
${ingestRows}
| \`GET /v1/stats\`, one pair, 30 days, step chosen by the server (${statsRuns[0]!.step}) | ${ms(sr((r) => r.auto))} ms | ${list(statsRuns, (r) => ms(r.auto))} | ≤ 50 ms |
| \`GET /v1/stats\`, one pair, 30 days, step=5m (minute tier, 8,640 points) | ${ms(sr((r) => r.fiveMinutes))} ms | ${list(statsRuns, (r) => ms(r.fiveMinutes))} | |
| \`GET /v1/stats/summary\`, ${k(summaryRuns[0]!.rows)} pairs, window=5m | ${ms(su((r) => r.fiveMinutes))} ms | ${list(summaryRuns, (r) => ms(r.fiveMinutes))} | ≤ 300 ms |
| \`GET /v1/stats/summary\`, ${k(summaryRuns[0]!.rows)} pairs, window=1h (60 minute rows each: no whole hour in it) | ${ms(su((r) => r.hour))} ms | ${list(summaryRuns, (r) => ms(r.hour))} | ≤ 300 ms |

Reads go through the app (\`app.request\`: auth, validation, store, JSON): ${RUNS} groups of ${READS} requests on one
file, the median of each group in "runs"; the stats file holds one pair probed every 10 s for 30 days (the same 43,200 minute and 720 hour rows as at 1 s);
the summary file (on tmpfs, to set up 10,000 destinations quickly; reads hit the page cache either way) holds
10,000 destinations probed once a minute for 61 minutes, asked at hh:30:30.

Bytes per million results with rollups: ${k(median(ingest.get(20)!.map((r) => r.bytesWith)) * 1e6)} (20 destinations)
and ${k(median(ingest.get(1000)!.map((r) => r.bytesWith)) * 1e6)} (1,000 destinations) against
${k(median(ingest.get(20)!.map((r) => r.bytesWithout)) * 1e6)} without (dbstat, all tables and indexes). With the
default retention (raw 14 days, minute 60 days, hour 2 years, day forever), 10,000 destinations probed every
second keep at steady state about ${gb(rawBytes)} of raw results (${k(perRaw)} bytes each), ${gb(minuteBytes)} of
minute rows (${k(perMinuteRow)} bytes each) and at least ${gb(hourBytes)} of hour rows, plus ${gb(dayBytes)} of day
rows per two years: raw results dominate, and retention is what bounds the file.
`;
console.log(section);
if (args.write) {
  const path = new URL('../../BENCHMARKS.md', import.meta.url);
  const current = readFileSync(path, 'utf8');
  const pattern = /## Statistics \(issue 10\)\n[\s\S]*?(?=\n## |$)/;
  const next = pattern.test(current)
    ? current.replace(pattern, `${section.trimEnd()}\n`)
    : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(path, next.endsWith('\n') ? next : `${next}\n`);
  console.error('BENCHMARKS.md updated');
}
