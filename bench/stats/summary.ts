/**
 * Summary benchmark (issues 10 and 12): `summary` for 10,000 destinations (one source) over 5 min, 1 h and
 * 24 h, the rolling summary (rolling-summary.ts) against the tiers added up over the window (the store's
 * `rollingSummary: false`, the peer), in the same run, alternating read by read, at the store and through the
 * app (`app.request('/v1/stats/summary?window=…')`, JSON included). Wall and process CPU time (user + system)
 * per read, medians.
 *
 * The data is summary-data.ts's (shared with store.ts): tiers filled directly, the last 3 minutes posted as
 * results, the window ending off every boundary. The tiers are not each other's sums there, so the two paths'
 * figures differ; this measures time only (test/store/rolling-summary.test.ts checks they agree).
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
import { createApp } from '../../control-plane/app.js';
import { generateToken } from '../../control-plane/auth.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import type { Store } from '../../control-plane/store/store.js';
import { median } from '../ingest/stats.js';
import { fillSummaryData } from './summary-data.js';

const { values: args } = parseArgs({
  options: {
    reads: { type: 'string', default: '5' },
    levels: { type: 'string', default: 'store,http' },
    windows: { type: 'string', default: '5m,1h,24h' },
  },
});
const READS = Number(args.reads);
const PAIRS = 10_000;
const NS = 1_000_000_000n;

/** Makes the file (summary-data.ts, with the rolling state's slots and a read token); returns the window's end. */
async function fill(path: string): Promise<number> {
  const { end } = await fillSummaryData(path, {
    pairs: PAIRS,
    rolling: true,
    after: async (store) => {
      const { token, hash } = await generateToken('read');
      await store.createToken({ hash, kind: 'read', sourceId: null, name: 'bench' });
      tokenOf = token;
    },
  });
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
