/**
 * The open-minute cache (control-plane/store/sqlite/open-minutes.ts) after a real crash: a child process
 * ingests (interleaving halves, duplicates, late results) until it is SIGKILLed mid-ingest; the store opened
 * again must count every stored raw result exactly once in every tier — the cached minutes rebuilt from raw
 * rows, the closed ones left as they were — and go on counting correctly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Result, StatsPoint } from '../../contract/index.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import type { Store } from '../../control-plane/store/store.js';
import { destinationInput, sourceInput } from '../helpers/factories.js';
import { oracle } from '../helpers/stats-oracle.js';
import { until } from '../helpers/until.js';
import { CRASH_BATCHES, CRASH_T0, postCrashBatch } from './fixtures/ingest-until-killed.js';

const NS = 1_000_000_000n;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function rawResults(store: Store, destination: string): Promise<Result[]> {
  const out: Result[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const got = await store.listResults({ destination, limit: 5000, cursor });
    out.push(...got.results);
    if (!got.cursor) return out;
    cursor = got.cursor;
  }
  throw new Error('too many pages');
}

/** Every point of `step` for each destination equals the exact figures of its raw results. */
async function expectCountedOnce(store: Store, destinations: readonly string[], step: number) {
  for (const destination of destinations) {
    const raw = await rawResults(store, destination);
    const slots = new Map<number, Result[]>();
    for (const r of raw) {
      const s = Number(BigInt(r.rtime) / NS);
      const slot = s - (s % step);
      slots.set(slot, [...(slots.get(slot) ?? []), r]);
    }
    const got = await store.stats!.readStats({
      destination,
      from: CRASH_T0,
      to: CRASH_T0 + 2n * 86_400n * NS,
      step,
    });
    const points = got.series[0]?.points ?? [];
    expect(points.map((p) => Number(BigInt(p.t) / NS))).toEqual([...slots.keys()].sort((a, b) => a - b));
    for (const p of points) expectExact(p, slots.get(Number(BigInt(p.t) / NS))!, `${destination} ${p.t}`);
  }
}

/** The running totals (closed minutes from rollup_total, open ones from the cache) equal the raw results. */
async function expectTotalsExact(store: Store, destinations: readonly string[]) {
  const totals = await store.stats!.totals({});
  expect(totals.map((t) => t.destination)).toEqual([...destinations].sort());
  for (const total of totals) {
    const raw = await rawResults(store, total.destination);
    expect([total.sent, total.received, total.processTimed], total.destination).toEqual([
      raw.length,
      raw.filter((r) => r.status === 'reply').length,
      oracle(raw).processTimed,
    ]);
  }
  return totals;
}

function expectExact(got: StatsPoint, results: readonly Result[], label: string) {
  const want = oracle(results);
  expect([got.sent, got.received, got.processTimed, got.min, got.max], label).toEqual([
    want.sent,
    want.received,
    want.processTimed,
    want.min,
    want.max,
  ]);
  for (const key of ['mean', 'stddev', 'jitter'] as const) {
    if (want[key] === null) expect(got[key], `${label} ${key}`).toBeNull();
    else
      expect(Math.abs(got[key]! - want[key]!) / Math.max(1, want[key]!), `${label} ${key}`).toBeLessThan(
        1e-9,
      );
  }
  expect(Math.abs(got.p50! - want.p50!) / want.p50!, `${label} p50`).toBeLessThanOrEqual(0.01);
}

describe('sqlite rollups across a crash', () => {
  it('counts every stored result once after a SIGKILL mid-ingest, and keeps counting once after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pinger-crash-'));
    dirs.push(dir);
    const path = join(dir, 'pinger.db');
    let store = createSqliteStore({ path });
    const source = await store.createSource(sourceInput(), 'c'.repeat(64));
    const destinations: string[] = [];
    for (let d = 0; d < 5; d++)
      destinations.push(
        (await store.createDestination(destinationInput({ address: `198.18.0.${d + 1}` }))).id,
      );
    await store.close();

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures', 'ingest-until-killed.ts'),
        path,
        JSON.stringify({ source: source.id, destinations }),
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const acked = () => Number(out.trim().split('\n').at(-1)?.split(' ')[1] ?? -1);
    try {
      // 80 batches are 800 s of probes: the first 10-minute slot has closed (minutes close in whole 10-minute
      // slots, 2 minutes after their end: open-minutes.ts), the minutes after it are still open.
      await until(
        () => `80 batches acked (stdout ${out.slice(-200)}, stderr ${err.slice(-500)})`,
        () => acked() >= 80,
        60_000,
      );
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const last = acked();
    expect(last).toBeLessThan(CRASH_BATCHES - 1);

    // The crash left both kinds of minute: closed ones in the tiers, and raw rows after the watermark.
    const raw = new Database(path, { readonly: true });
    const { minute: watermark } = raw.prepare('SELECT minute FROM rollup_watermark').get() as {
      minute: number;
    };
    const after = raw
      .prepare('SELECT count(*) AS n FROM results WHERE rtime >= ?')
      .get((BigInt(watermark) + 60n) * NS) as { n: number };
    raw.close();
    expect(watermark).toBeGreaterThan(Number(CRASH_T0 / NS));
    expect(after.n).toBeGreaterThan(0);

    store = createSqliteStore({ path });
    for (const step of [60, 3_600, 86_400]) await expectCountedOnce(store, destinations, step);
    const totalsBefore = await expectTotalsExact(store, destinations);

    // Go on where the agent would: its unanswered batch again, then more, until every minute so far closes.
    const owner = { id: source.id, location: 0, host: 0 };
    // 70 batches, 700 s: at least one more 10-minute slot closes.
    for (let i = last + 1; i <= last + 70; i++) await postCrashBatch(store, owner, destinations, i);
    for (const step of [60, 3_600]) await expectCountedOnce(store, destinations, step);
    // Minutes closed since: the counters moved their results from the cache into rollup_total, never back.
    const totalsAfter = await expectTotalsExact(store, destinations);
    for (const [i, t] of totalsAfter.entries()) expect(t.sent).toBeGreaterThan(totalsBefore[i]!.sent);
    await store.close();

    // The tiers themselves (no cache in this reading): each closed minute holds its raw results, and the hour
    // and day rows hold their minutes.
    const db = new Database(path, { readonly: true });
    const w = (db.prepare('SELECT minute FROM rollup_watermark').get() as { minute: number }).minute;
    expect(w).toBeGreaterThan(watermark);
    const minutes = db
      .prepare(
        `SELECT m.destination, m.t, m.sent, (SELECT count(*) FROM results r WHERE r.destination = m.destination
           AND r.rtime >= m.t * 1000000000 AND r.rtime < (m.t + 60) * 1000000000) AS raw
         FROM rollup_minute m`,
      )
      .all() as { sent: number; raw: number }[];
    expect(minutes.length).toBeGreaterThanOrEqual(40);
    for (const m of minutes) expect(m.sent).toBe(m.raw);
    const rawClosed = db
      .prepare('SELECT count(*) AS n FROM results WHERE rtime < ?')
      .get((BigInt(w) + 60n) * NS) as { n: number };
    for (const tier of ['minute', 'tenmin', 'hour', 'sixhour', 'day', 'total']) {
      expect(db.prepare(`SELECT sum(sent) AS n FROM rollup_${tier}`).get(), tier).toEqual(rawClosed);
    }
    db.close();
  }, 120_000);
});
