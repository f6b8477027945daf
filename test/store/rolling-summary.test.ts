/**
 * The rolling summary (control-plane/store/sqlite/rolling-summary.ts) against the reference it replaces: the
 * tiers added up over the window plus the open minutes, which a second store on the same file computes
 * (`rollingSummary: false`; it only reads, and its open-minute cache is rebuilt from the same raw rows). Time
 * is the results' own and the summary's `to`: no sleeping, minutes close as an agent's results move on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION,
  type ResultInput,
  type Retention,
  type SummaryRow,
} from '../../contract/index.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import type { SummaryFilter } from '../../control-plane/store/store.js';
import { destinationInput, RTIME, resultInput, sourceInput, TIMED_OUT } from '../helpers/factories.js';
import { mulberry32 } from '../helpers/prng.js';

const NS = 1_000_000_000n;
const WINDOWS = [300, 3_600, 86_400];
/** A UTC midnight: the 6-hour, hour and 10-minute boundaries fall where a reader expects them. */
const DAY0 = (RTIME / (86_400n * NS)) * 86_400n * NS;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempPath() {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-rolling-'));
  dirs.push(dir);
  return join(dir, 'pinger.db');
}

/** The reference: the same file read by a store that adds up the tiers over the window, for each filter. */
async function slowSummaries(path: string, retention: Retention | undefined, filters: SummaryFilter[]) {
  const slow = createSqliteStore({ path, rollingSummary: false, ...(retention ? { retention } : {}) });
  try {
    const out: SummaryRow[][] = [];
    for (const filter of filters) out.push(await slow.stats!.summary(filter));
    return out;
  } finally {
    await slow.close();
  }
}
const slowSummary = async (path: string, retention: Retention | undefined, filter: SummaryFilter) =>
  (await slowSummaries(path, retention, [filter]))[0]!;

/** Same rows, order and figures; the moments (float sums added in another order) equal to 1e-9. */
function expectSame(fast: SummaryRow[], slow: SummaryRow[], context: string) {
  expect(
    fast.map((r) => `${r.destination}/${r.source}`),
    context,
  ).toEqual(slow.map((r) => `${r.destination}/${r.source}`));
  for (const [i, row] of fast.entries()) {
    const want = slow[i]!;
    const { mean, stddev, jitter, ...exact } = row;
    const { mean: wantMean, stddev: wantStddev, jitter: wantJitter, ...wantExact } = want;
    expect(exact, context).toEqual(wantExact);
    for (const [got, expected] of [
      [mean, wantMean],
      [jitter, wantJitter],
      // The standard deviation comes from sum of squares − mean²: its rounding is the mean's scale.
      [stddev, wantStddev],
    ] as const) {
      if (expected === null) expect(got, context).toBeNull();
      else expect(Math.abs(got! - expected), context).toBeLessThanOrEqual(1e-9 * (wantMean ?? 1));
    }
  }
}

interface Pair {
  destination: string;
  source: { id: string; location: number; host: number };
  /** Seconds between results. */
  every: number;
  /** Whether the pair sends at second s (gaps and an end, so pairs leave windows). */
  live: (s: number) => boolean;
  /** Whether a result at second s is held back and posted late (a spool replayed after an outage). */
  held: (s: number) => boolean;
  rseq: number;
}

describe('rolling summary (SQLite)', () => {
  it('equals the tiers added up over every window: 27 hours of moving reads, late batches, pruning passes', async () => {
    const path = tempPath();
    // Minutes kept 20 h (below the API's 1-day floor, which the store does not enforce): past hour 20 the 24 h
    // window starts where a pass pruned, and must not be the state's. Raw rows kept 3 h: a pass closes minutes.
    const retention: Retention = { ...DEFAULT_RETENTION, raw: 3 * 3_600, minute: 20 * 3_600 };
    const store = createSqliteStore({ path, retention });
    const s1 = await store.createSource(sourceInput({ name: 's1' }), '1'.repeat(64));
    const s2 = await store.createSource(sourceInput({ name: 's2' }), '2'.repeat(64));
    const d0 = await store.createDestination(destinationInput({ labels: { site: 'a' } }));
    const d1 = await store.createDestination(destinationInput({ address: '198.18.0.2' }));
    const d2 = await store.createDestination(destinationInput({ address: '198.18.0.3' }));
    const owner = (s: { id: string }) => ({ id: s.id, location: 0, host: 0 });
    const H = 3_600;
    const pairs: Pair[] = [
      { destination: d0.id, source: owner(s1), every: 10, live: () => true, held: () => false, rseq: 0 },
      // Interleaved late results: every other one of 6:00–6:05 held back and posted at 6:30.
      {
        destination: d0.id,
        source: owner(s2),
        every: 15,
        live: () => true,
        held: (s) => s >= 6 * H && s < 6 * H + 300 && s % 30 === 0,
        rseq: 0,
      },
      // A whole spool late: 5:00–5:10 posted at 5:40, into minutes long closed.
      {
        destination: d1.id,
        source: owner(s2),
        every: 30,
        live: () => true,
        held: (s) => s >= 5 * H && s < 5 * H + 600,
        rseq: 0,
      },
      // A gap of two hours, then silence from hour 20: the pair leaves each window in turn.
      {
        destination: d2.id,
        source: owner(s1),
        every: 20,
        live: (s) => (s < 10 * H || s >= 12 * H) && s < 20 * H,
        held: () => false,
        rseq: 0,
      },
    ];
    const rand = mulberry32(20_261_206);
    const held = new Map<string, ResultInput[]>();
    const resultAt = (pair: Pair, s: number): ResultInput => {
      const rseq = pair.rseq++ % 65_536;
      const rtime = `${DAY0 + BigInt(s) * NS + BigInt(Math.floor(rand() * 1e6))}`;
      if (rand() < 0.05) return resultInput(pair.destination, { rtime, rseq, ...TIMED_OUT });
      // ns precision in the fraction; a spike now and then, so a window's max leaves with its minute.
      const rtt = Math.round((200 + rand() * 800 + (rand() < 0.01 ? 20_000 : 0)) * 1000) / 1000;
      return resultInput(pair.destination, { rtime, rseq, rtt });
    };
    const post = async (results: ResultInput[], source: { id: string }) => {
      if (results.length > 0) await store.putResults(owner(source), results);
    };

    let compared = 0;
    const compare = async (s: number, context: string) => {
      const to = DAY0 + BigInt(s) * NS + 999_999_999n;
      const filters = WINDOWS.flatMap((window) => [
        { to, window, sort: 'loss' as const },
        { to, window, sort: 'p50' as const, labels: { site: 'a' } },
      ]);
      const fast = [];
      for (const filter of filters) fast.push(await store.stats!.summary(filter));
      const slow = await slowSummaries(path, retention, filters);
      for (const [i, filter] of filters.entries()) {
        expectSame(fast[i]!, slow[i]!, `${context}, window ${filter.window}`);
        compared++;
      }
    };

    const END = 27 * H;
    for (let s = 60; s <= END; s += 60) {
      // Each source posts the minute that just ended, destination by destination (batches as an agent sends).
      for (const source of [s1, s2]) {
        const batch: ResultInput[] = [];
        for (const pair of pairs) {
          if (pair.source.id !== source.id) continue;
          for (let t = s - 60; t < s; t += pair.every) {
            if (!pair.live(t)) continue;
            const result = resultAt(pair, t);
            if (pair.held(t)) {
              const key = `${pair.destination}/${source.id}`;
              held.set(key, [...(held.get(key) ?? []), result]);
            } else batch.push(result);
          }
        }
        await post(batch, source);
      }
      if (s === 5 * H + 40 * 60 || s === 6 * H + 30 * 60) {
        for (const [key, results] of held) await post(results, { id: key.split('/')[1]! });
        held.clear();
        await compare(s, `late batch at ${s}`);
      }
      if (s % (2 * H) === 0) {
        await store.stats!.prune(new Date(Number(DAY0 / 1_000_000n) + s * 1000));
        await compare(s, `after pruning at ${s}`);
      }
      // Reads at every minute move the states; the reference is asked every 13 minutes and at the edges.
      if (s % 780 === 0 || s % H === 0 || s % H === 60) await compare(s, `at ${s}`);
      else
        for (const window of WINDOWS)
          await store.stats!.summary({ to: DAY0 + BigInt(s) * NS, window, sort: 'loss' });
    }
    expect(compared).toBeGreaterThan(500);
    await store.close();
  }, 300_000);

  it('moves with the clock: a minute closes between two reads and the window drops its oldest minute', async () => {
    const path = tempPath();
    // Minutes close one by one, 2 minutes after (past the cache cap, here 0): not in whole 10-minute slots,
    // which would keep all 9 minutes of this test open (open-minutes.ts).
    const store = createSqliteStore({ path, maxAlignedSlots: 0 });
    const src = await store.createSource(sourceInput(), 'h'.repeat(64));
    const dst = await store.createDestination(destinationInput());
    const owner = { id: src.id, location: 0, host: 0 };
    // One result a second for 8 minutes: minute m's RTTs are 1000 + m (a window's min names its oldest minute).
    const minuteOf = (m: number) =>
      Array.from({ length: 60 }, (_, i) =>
        resultInput(dst.id, {
          rtime: `${DAY0 + BigInt(m * 60 + i) * NS}`,
          rseq: m * 60 + i,
          rtt: 1000 + m,
          ...(i === 0 && m % 2 === 0 ? TIMED_OUT : {}),
        }),
      );
    for (let m = 0; m < 8; m++) await store.putResults(owner, minuteOf(m));
    const read = (minute: number) =>
      store.stats!.summary({ to: DAY0 + BigInt(minute * 60 + 30) * NS, window: 300, sort: 'loss' });
    // At 7:30 the window is minutes 3–7; 0–5 are closed (2 minutes' grace), 6 and 7 open.
    const [before] = await read(7);
    expect([before!.sent, before!.min, before!.max]).toEqual([300, 1003, 1007]);
    // Minute 8 arrives and closes minute 6; the next read, a minute later, leaves minute 3 out.
    await store.putResults(owner, minuteOf(8));
    const [after] = await read(8);
    expect([after!.sent, after!.received, after!.min, after!.max]).toEqual([300, 297, 1004, 1008]);
    expectSame(
      await store.stats!.summary({ to: DAY0 + BigInt(8 * 60 + 30) * NS, window: 300, sort: 'loss' }),
      await slowSummary(path, undefined, { to: DAY0 + BigInt(8 * 60 + 30) * NS, window: 300, sort: 'loss' }),
      'a minute on',
    );
    // The rolling state answers, not the tiers over the window: a tier row changed behind the store's back
    // shows in the reference only.
    const db = new Database(path);
    db.prepare('UPDATE rollup_minute SET sent = sent + 1000 WHERE t = ?').run(Number(DAY0 / NS) + 5 * 60);
    db.close();
    const filter = { to: DAY0 + BigInt(8 * 60 + 30) * NS, window: 300, sort: 'loss' as const };
    expect((await store.stats!.summary(filter))[0]!.sent).toBe(300);
    expect((await slowSummary(path, undefined, filter))[0]!.sent).toBe(1_300);
    await store.close();
  });
});
