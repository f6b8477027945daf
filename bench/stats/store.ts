/**
 * Statistics benchmark, store level (issue 10), in-process on temp SQLite files:
 *
 * - ingest with rollups against the same ingest without (`rollups: false`, the baseline), alternating, same
 *   batches: 1,000-result batches over 20 destinations (the HTTP ingest benchmark's shape: ~20 (pair, minute)
 *   slots per batch) and over 1,000 destinations (a slot per result or two: the rollups' worst case);
 *   Database bytes per million results (the file after close, WAL checkpointed) are noted for both. The
 *   1,000-destination run spans 600 batches (10 minutes of probes) after 2 minutes of warm-up, so the
 *   open-minute cache closes 10 minutes of minute rows inside the timed part (one whole 10-minute slot);
 * - `readStats` for one pair over 30 days of minute data (one probe every 10 s: 43,200 minute rows), with the
 *   automatic step (hour tier) and a 5-minute step (minute tier, 5 rows merged per point);
 * - `summary` for 10,000 destinations (one source) over 5 min, 1 h and 24 h ending at hh:37 (off every 10-minute
 *   boundary: the 24 h window then reads 23 rows per pair). The tiers are filled directly, with exactly the rows
 *   the summaries read, made from real buckets (24 h of 10,000 pairs is too many results to post); the last 3
 *   minutes are posted as results (one per pair every 10 s), so the open-minute cache holds what it would live.
 *
 *   node --import tsx bench/stats/store.ts [--runs 3] [--batches 100] [--batches-wide 600] [--reads 20]
 *     [--summary-reads 5] [--only ingest|reads|summary] [--interleave] [--destinations 20,1000]
 *     [--rollups both|on|off]
 *
 * Ingest runs each side in its own store one after the other (order flipped each run), or with --interleave
 * both at once, batch by batch; --rollups on|off runs one side alone (for node --cpu-prof).
 *
 * No network. Every loop is bounded in count. Medians of the runs are printed.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ResultInput } from '../../contract/index.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import { destinationInput, sourceInput } from '../../test/helpers/factories.js';
import { median } from '../ingest/stats.js';
import { fillSummaryData, result, T0 } from './summary-data.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    batches: { type: 'string', default: '100' },
    'batches-wide': { type: 'string', default: '600' },
    'summary-reads': { type: 'string', default: '5' },
    only: { type: 'string' },
    // For profiling one side alone (node --cpu-prof): on, off, or both (alternating; the default).
    rollups: { type: 'string', default: 'both' },
    // Both sides in one process, batch by batch (see ingestInterleaved), instead of one store after the other.
    interleave: { type: 'boolean', default: false },
    // Destinations per batch to run: 20, 1000 or both (the default).
    destinations: { type: 'string', default: '20,1000' },
    reads: { type: 'string', default: '20' },
  },
});
const RUNS = Number(args.runs);
const BATCHES = Number(args.batches);
const BATCHES_WIDE = Number(args['batches-wide']);
const SUMMARY_READS = Number(args['summary-reads']);
const READS = Number(args.reads);
const BATCH = 1000;

/** A store with one source and `destinations` destinations, and the benchmark's batches for it. */
async function ingestStore(rollups: boolean, destinations: number) {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  const file = join(dir, 'p.db');
  const store = createSqliteStore({ path: file, rollups });
  const src = await store.createSource(sourceInput({ name: 's' }), 'b'.repeat(64));
  const ids: string[] = [];
  for (let d = 0; d < destinations; d++) {
    ids.push(
      (
        await store.createDestination(
          destinationInput({ address: `198.18.${d >> 8}.${d & 255}`, interval: 1000 }),
        )
      ).id,
    );
  }
  const owner = { id: src.id, location: 0, host: 0 };
  return {
    /** Batch b: probe n is destination n mod D in round n div D, one round a second, as an agent sends. */
    batch: (b: number) =>
      Array.from({ length: BATCH }, (_, i) => {
        const n = b * BATCH + i;
        const rtime =
          T0 + BigInt(Math.floor(n / destinations)) * 1_000_000_000n + BigInt(n % destinations) * 1000n;
        return result(ids[n % destinations]!, rtime, n);
      }),
    put: (body: ResultInput[]) => store.putResults(owner, body),
    /** Closes (checkpointing the WAL into the file) and gives the file's bytes per million results. */
    async close(results: number) {
      try {
        await store.close();
        const bytes = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
        return (bytes / results) * 1e6;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Batches put before the timed part: at least 5, and 2 minutes of probes (the open-minute cache's grace), so
 * that the timed part of a run of N minutes closes about N minutes' worth of minute rows. With 1,000
 * destinations (a second of probes per batch) and minutes closed in whole 10-minute slots, a timed part of 600
 * batches that began at the first batch would close none; begun 2 minutes in, it closes the first 10-minute
 * slot (at 11:00) and its cost is in the figures.
 */
function warmUp(destinations: number): number {
  return Math.max(5, Math.ceil(120 / (BATCH / destinations)));
}

interface IngestFigures {
  rate: number;
  cpuMsPer1000: number;
  bytesPerMillion: number;
}

/** Results/s storing `batches` batches, and bytes on disk per million results. */
async function ingest(rollups: boolean, destinations: number, batches: number): Promise<IngestFigures> {
  const s = await ingestStore(rollups, destinations);
  const warm = warmUp(destinations);
  for (let b = 0; b < warm; b++) await s.put(s.batch(b));
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let building = 0;
  for (let b = 0; b < batches; b++) {
    // Built inside the loop (600 batches held at once would weigh on the GC), its time taken out.
    const t = performance.now();
    const body = s.batch(b + warm);
    building += performance.now() - t;
    await s.put(body);
  }
  const rate = (batches * BATCH) / ((performance.now() - started - building) / 1000);
  // CPU of this process (user + system) per 1,000 results, building included (the same in both): what the
  // store costs whatever else the machine runs.
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMsPer1000 = (cpu.user + cpu.system) / 1000 / batches;
  return { rate, cpuMsPer1000, bytesPerMillion: await s.close((batches + warm) * BATCH) };
}

/**
 * Both sides in one process, batch by batch: each batch is put into the store without rollups and into the
 * one with, in an order that flips every batch, and each put is timed on its own (wall and process CPU, the
 * batch's building left out). On a shared machine whose load drifts over seconds, the two sides then see the
 * same load; what one side's garbage costs may be collected during the other's put, which the sequential
 * mode does not mix.
 */
async function ingestInterleaved(
  destinations: number,
  batches: number,
): Promise<{ without: IngestFigures; with: IngestFigures }> {
  const sides = [await ingestStore(false, destinations), await ingestStore(true, destinations)];
  const warm = warmUp(destinations);
  for (let b = 0; b < warm; b++) for (const s of sides) await s.put(s.batch(b));
  const wall = [0, 0];
  const cpu = [0, 0];
  for (let b = 0; b < batches; b++) {
    for (const k of b % 2 === 0 ? [0, 1] : [1, 0]) {
      const s = sides[k]!;
      const body = s.batch(b + warm);
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      await s.put(body);
      const used = process.cpuUsage(cpuStarted);
      wall[k]! += performance.now() - started;
      cpu[k]! += (used.user + used.system) / 1000;
    }
  }
  const figures = async (k: number) => ({
    rate: (batches * BATCH) / (wall[k]! / 1000),
    cpuMsPer1000: cpu[k]! / batches,
    bytesPerMillion: await sides[k]!.close((batches + warm) * BATCH),
  });
  return { without: await figures(0), with: await figures(1) };
}

/** ms per readStats over 30 days of one pair, for the auto step and a 5-minute step. */
async function reads(): Promise<{ auto: number; fiveMinutes: number; points: [number, number] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  const store = createSqliteStore({ path: join(dir, 'p.db') });
  try {
    const src = await store.createSource(sourceInput({ name: 's' }), 'b'.repeat(64));
    const dst = await store.createDestination(destinationInput({ interval: 10_000 }));
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

/** ms per summary of 10,000 pairs for each window (see the module header for the data). */
async function summaries(): Promise<Record<string, number>> {
  const PAIRS = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-stats-'));
  const path = join(dir, 'p.db');
  try {
    const { end } = await fillSummaryData(path, { pairs: PAIRS });
    const store = createSqliteStore({ path });
    const out: Record<string, number> = {};
    for (const [name, window] of [
      ['5m', 300],
      ['1h', 3_600],
      ['24h', 86_400],
    ] as const) {
      const samples: number[] = [];
      for (let r = 0; r < SUMMARY_READS; r++) {
        const started = performance.now();
        const rows = await store.stats!.summary({
          to: BigInt(end - 1) * 1_000_000_000n,
          window,
          sort: 'loss',
        });
        samples.push(performance.now() - started);
        if (rows.length !== PAIRS) throw new Error(`summary ${name}: ${rows.length} rows, not ${PAIRS}`);
      }
      out[`${name} window`] = median(samples);
    }
    await store.close();
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Record<string, number[]> = {};
const add = (key: string, value: number) => {
  rows[key] ??= [];
  rows[key].push(value);
};
const only = args.only;
for (let run = 0; run < RUNS; run++) {
  if (!only || only === 'ingest') {
    const sizes = (
      [
        [20, BATCHES],
        [1000, BATCHES_WIDE],
      ] as const
    ).filter(([d]) => args.destinations.split(',').includes(String(d)));
    for (const [destinations, batches] of sizes) {
      if (args.rollups !== 'both') {
        const one = await ingest(args.rollups === 'on', destinations, batches);
        add(`ingest ${destinations} dst, rollups ${args.rollups} (results/s)`, one.rate);
        add(
          `ingest ${destinations} dst, rollups ${args.rollups}, CPU ms per 1,000 results`,
          one.cpuMsPer1000,
        );
        continue;
      }
      let without: IngestFigures;
      let withRollups: IngestFigures;
      if (args.interleave) {
        ({ without, with: withRollups } = await ingestInterleaved(destinations, batches));
      } else {
        // Alternating, the order flipped each run: the machine's load drifts.
        const order = run % 2 === 0 ? [false, true] : [true, false];
        const got: Record<string, IngestFigures> = {};
        for (const rollups of order) got[String(rollups)] = await ingest(rollups, destinations, batches);
        without = got.false!;
        withRollups = got.true!;
      }
      add(`ingest ${destinations} dst, without rollups (results/s)`, without.rate);
      add(`ingest ${destinations} dst, with rollups (results/s)`, withRollups.rate);
      add(`ingest ${destinations} dst, ratio with/without`, withRollups.rate / without.rate);
      add(`ingest ${destinations} dst, CPU ms per 1,000 results without rollups`, without.cpuMsPer1000);
      add(`ingest ${destinations} dst, CPU ms per 1,000 results with rollups`, withRollups.cpuMsPer1000);
      add(
        `ingest ${destinations} dst, CPU ratio without/with`,
        without.cpuMsPer1000 / withRollups.cpuMsPer1000,
      );
      add(
        `ingest ${destinations} dst, MB per million results without rollups`,
        without.bytesPerMillion / 1e6,
      );
      add(
        `ingest ${destinations} dst, MB per million results with rollups`,
        withRollups.bytesPerMillion / 1e6,
      );
    }
  }
  if (!only || only === 'reads') {
    const r = await reads();
    add(`stats 30 d one pair, auto step (${r.points[0]} points, hour tier) ms`, r.auto);
    add(`stats 30 d one pair, step 5m (${r.points[1]} points, minute tier) ms`, r.fiveMinutes);
  }
  if (!only || only === 'summary') {
    for (const [window, ms] of Object.entries(await summaries())) add(`summary 10,000 dst, ${window} ms`, ms);
  }
  console.error(
    `run ${run + 1}/${RUNS}: ${Object.entries(rows)
      .map(([k, v]) => `${k} = ${v.at(-1)!.toFixed(2)}`)
      .join('; ')}`,
  );
}
for (const [key, values] of Object.entries(rows)) {
  const fmt = (v: number) => (v < 10 ? v.toFixed(2) : Math.round(v).toString());
  console.log(`${key}: median ${fmt(median(values))} (runs ${values.map(fmt).join(', ')})`);
}
