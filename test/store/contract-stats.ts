/**
 * The store contract for statistics (issue 10): rollups written with the results and counted exactly once,
 * tiers that agree with their minutes, the summary, and retention that never loses what is inside it. Every
 * figure is compared with the exact answer computed from the raw results (test/helpers/stats-oracle.ts).
 *
 * Registered by `testStore` for every backend (SQLite and DynamoDB).
 *
 * Retention is checked as "after `prune(now)` at a time `now`, what is past retention at `now` is gone and the
 * rest is all there": SQLite deletes it in that pass; DynamoDB deletes nothing there (its TTL does, later) and
 * hides what has expired by its clock, which the suite moves to `now` through the fixture's `setNow`.
 */
import { describe, expect, it } from 'vitest';
import type { ResultInput, StatsPoint, Status, Timing } from '../../contract/index.js';
import type { ResultOwner, Store } from '../../control-plane/store/store.js';
import { StoreError } from '../../control-plane/store/store.js';
import { destinationInput as destination, resultInput, sourceInput as source } from '../helpers/factories.js';
import { oracle, pareto, random } from '../helpers/stats-oracle.js';
import type { StoreFixture } from './contract.js';

const NS = 1_000_000_000n;
/** A UTC midnight (2025-11-22), so minute, hour and day slots all start here. */
const DAY0 = 1_763_769_600;
const T = BigInt(DAY0) * NS;
const MINUTE = 60;
const HOUR = 3_600;
const DAY = 86_400;

const hash = (n: number) => String(n).padStart(64, 'f');

/**
 * The timing mark of the i-th probe: of each six, one process-timed on send, one on receive, one unmarked (an
 * agent older than the mark), three kernel-timed on both ends.
 */
function timingOf(i: number): Timing | undefined {
  switch (i % 6) {
    case 0:
      return { send: 'process', receive: 'kernel', lateness: 17 };
    case 1:
      return { send: 'kernel', receive: 'process', lateness: 0 };
    case 2:
      return undefined;
    default:
      return { send: 'kernel', receive: 'kernel', lateness: i % 50 };
  }
}

/**
 * `n` probes of `dest` from `start` seconds past DAY0, `spacing` s apart, seeded RTTs, some lost or refused,
 * timed as {@link timingOf} says.
 */
function probes(dest: string, start: number, n: number, spacing: number, seed: number): ResultInput[] {
  return untimedProbes(dest, start, n, spacing, seed).map((r, i) => {
    const timing = timingOf(i);
    if (timing === undefined) return r;
    return { ...r, timing: r.rtt === null ? { ...timing, receive: null } : timing };
  });
}

function untimedProbes(dest: string, start: number, n: number, spacing: number, seed: number): ResultInput[] {
  const rand = random(seed);
  return Array.from({ length: n }, (_, i) => {
    const rtime = `${T + BigInt(Math.round((start + i * spacing) * 1e9))}`;
    const roll = rand();
    const rseq = i % 65_536;
    if (roll < 0.08) {
      return resultInput(dest, {
        rtime,
        rseq,
        status: 'timeout',
        address: null,
        rtt: null,
        rtype: null,
        rcode: null,
        datamatch: null,
        ttl: null,
      });
    }
    if (roll < 0.1)
      return resultInput(dest, { rtime, rseq, status: 'unreachable', rtype: 3, rcode: 1, rtt: 99 });
    return resultInput(dest, { rtime, rseq, rtt: pareto(rand, 800, 1.6) });
  });
}

/** Seconds since the epoch of a result. */
const secondsOf = (r: ResultInput) => Number(BigInt(r.rtime) / NS);

/** Expects a point (or summary row) to carry the exact figures of `results`, percentiles within 1 %. */
function expectExact(got: Omit<StatsPoint, 't'>, results: readonly ResultInput[], label = '') {
  const want = oracle(results);
  expect(got.sent, `${label} sent`).toBe(want.sent);
  expect(got.received, `${label} received`).toBe(want.received);
  expect(got.processTimed, `${label} processTimed`).toBe(want.processTimed);
  expect(got.loss, `${label} loss`).toBeCloseTo(want.loss, 12);
  expect(got.min, `${label} min`).toBe(want.min);
  expect(got.max, `${label} max`).toBe(want.max);
  for (const key of ['mean', 'stddev', 'jitter'] as const) {
    if (want[key] === null) expect(got[key], `${label} ${key}`).toBeNull();
    else
      expect(Math.abs(got[key]! - want[key]!) / Math.max(1, want[key]!), `${label} ${key}`).toBeLessThan(
        1e-9,
      );
  }
  for (const key of ['p10', 'p25', 'p50', 'p75', 'p90', 'p99'] as const) {
    if (want[key] === null) expect(got[key], `${label} ${key}`).toBeNull();
    else expect(Math.abs(got[key]! - want[key]!) / want[key]!, `${label} ${key}`).toBeLessThanOrEqual(0.01);
  }
}

/** Groups results by the `step`-aligned slot (seconds) they fall in. */
function bySlot(results: readonly ResultInput[], step: number): Map<number, ResultInput[]> {
  const out = new Map<number, ResultInput[]>();
  for (const r of results) {
    const s = secondsOf(r);
    const slot = s - (s % step);
    out.set(slot, [...(out.get(slot) ?? []), r]);
  }
  return out;
}

/** Every point of a one-series answer against the results of its slot. */
function expectSeries(points: readonly StatsPoint[], results: readonly ResultInput[], step: number) {
  const slots = bySlot(results, step);
  expect(points.map((p) => Number(BigInt(p.t) / NS))).toEqual([...slots.keys()].sort((a, b) => a - b));
  for (const p of points) expectExact(p, slots.get(Number(BigInt(p.t) / NS))!, `slot ${p.t}`);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to reject, it resolved');
    },
    (err: unknown) => err,
  );
}

/** Registers the statistics cases; `getFixture` gives the case's fresh store. */
export function statsContract(getFixture: () => StoreFixture): void {
  describe('statistics', () => {
    const store = () => getFixture().store;
    const setNow = (at: Date) => getFixture().setNow?.(at);
    const stats = () => {
      const s = store().stats;
      if (!s) throw new Error('the backend has no `stats`');
      return s;
    };
    const owner = (s: { id: string; location: number; host: number }): ResultOwner => ({
      id: s.id,
      location: s.location,
      host: s.host,
    });

    async function setup() {
      const a = await store().createSource(source({ name: 'a' }), hash(1));
      const b = await store().createSource(source({ name: 'b' }), hash(2));
      const d1 = await store().createDestination(
        destination({ address: '198.18.0.1', labels: { dc: 'ams' } }),
      );
      const d2 = await store().createDestination(
        destination({ address: '198.18.0.2', labels: { dc: 'fra' } }),
      );
      return { a, b, d1, d2 };
    }

    /** Posts `results` in batches of `size` (the contract's limit is 5,000). */
    async function post(who: ResultOwner, results: readonly ResultInput[], size = 1000) {
      let stored = 0;
      for (let i = 0; i < results.length; i += size) {
        stored += (await store().putResults(who, results.slice(i, i + size))).stored;
      }
      return stored;
    }

    const read = (
      from: number,
      to: number,
      extra: Partial<Parameters<NonNullable<Store['stats']>['readStats']>[0]> = {},
    ) => stats().readStats({ from: T + BigInt(from) * NS, to: T + BigInt(to) * NS - 1n, ...extra });

    it('counts each stored result in its minute: every figure matches the raw results', async () => {
      const { a, d1 } = await setup();
      const results = probes(d1.id, 0, 600, 0.5, 1);
      await post(owner(a), results, 137);
      const minutes = await read(0, 5 * MINUTE, { step: 60 });
      expect(minutes.step).toBe(60);
      expect(minutes.series.map((s) => [s.source, s.destination])).toEqual([[a.id, d1.id]]);
      expectSeries(minutes.series[0]!.points, results, 60);
      const whole = await read(0, 5 * MINUTE, { step: 300 });
      expect(whole.series[0]!.points).toHaveLength(1);
      expectExact(whole.series[0]!.points[0]!, results);
    });

    it('counts the results not kernel-timed on both ends, exactly, in every tier, the summary and the totals', async () => {
      const { a, b, d1, d2 } = await setup();
      const kernel: Timing = { send: 'kernel', receive: 'kernel', lateness: 5 };
      const processSend: Timing = { send: 'process', receive: 'kernel', lateness: 900 };
      // a → d1: 3 minutes at 1 s; of each ten, 0–1 process-timed on send, 2 unmarked, 3 a timeout whose send
      // was process-timed (not counted: no RTT), 4 a ttl-exceeded timed by the process on both ends (counted),
      // the rest kernel-timed: 4 of 10, 72 in all, 24 a minute.
      const ad1 = untimedProbes(d1.id, 0, 180, 1, 21).map((r, i): ResultInput => {
        const base = { ...r, status: 'reply' as Status, rtt: r.rtt ?? 500, address: r.address ?? r.target };
        switch (i % 10) {
          case 0:
          case 1:
            return { ...base, timing: processSend };
          case 2:
            return base;
          case 3:
            return {
              ...base,
              status: 'timeout',
              rtt: null,
              address: null,
              timing: { send: 'process', receive: null, lateness: 0 },
            };
          case 4:
            return {
              ...base,
              status: 'ttl-exceeded',
              rtype: 11,
              rcode: 0,
              timing: { send: 'process', receive: 'process', lateness: 0 },
            };
          default:
            return { ...base, timing: kernel };
        }
      });
      // b → d2: every answer kernel-timed; a → d2: an older agent's, nothing marked (all 60 with an RTT count).
      const bd2 = untimedProbes(d2.id, 0, 60, 1, 22).map((r) => ({ ...r, timing: kernel }));
      const ad2 = untimedProbes(d2.id, 0, 60, 1, 23).map((r) => ({
        ...r,
        status: 'reply' as Status,
        rtt: 800,
      }));
      await post(owner(a), [...ad1, ...ad2], 70);
      await post(owner(b), bd2);

      const minutes = await read(0, 3 * MINUTE, { destination: d1.id, step: 60 });
      expect(minutes.series[0]!.points.map((p) => p.processTimed)).toEqual([24, 24, 24]);
      for (const step of [HOUR, DAY]) {
        const got = await read(0, DAY, { step });
        const counts = got.series.map((s) => [s.destination, s.source, s.points[0]!.processTimed]);
        expect(counts).toEqual(
          expect.arrayContaining([
            [d1.id, a.id, 72],
            [d2.id, a.id, 60],
            [d2.id, b.id, 0],
          ]),
        );
        expect(counts).toHaveLength(3);
      }
      const summary = await stats().summary({ to: T + BigInt(2 * MINUTE) * NS, window: 300, sort: 'loss' });
      expect(summary.map((r) => [r.destination, r.source, r.processTimed]).sort()).toEqual(
        [
          [d1.id, a.id, 72],
          [d2.id, a.id, 60],
          [d2.id, b.id, 0],
        ].sort(),
      );
      const totals = await stats().totals({});
      expect(totals.map((t) => [t.destination, t.source, t.processTimed]).sort()).toEqual(
        [
          [d1.id, a.id, 72],
          [d2.id, a.id, 60],
          [d2.id, b.id, 0],
        ].sort(),
      );
    });

    it('counts a batch posted twice once, and of an overlapping batch only what is new', async () => {
      const { a, d1 } = await setup();
      const results = probes(d1.id, 0, 240, 0.5, 2);
      await post(owner(a), results.slice(0, 160));
      expect(await post(owner(a), results.slice(0, 160))).toBe(0);
      // Half already stored, half new; a result repeated inside the batch counts once too. What `stored` says
      // of the overlap may differ (DynamoDB recognises whole replays only, see its ingest.ts); the rollups
      // below count only what is new on every backend.
      const stored = await post(owner(a), [...results.slice(80), results[200]!]);
      expect(stored).toBeGreaterThanOrEqual(80);
      expect(stored).toBeLessThanOrEqual(160);
      expectSeries((await read(0, 2 * MINUTE, { step: 60 })).series[0]!.points, results, 60);
      expectExact((await read(0, HOUR, { step: HOUR })).series[0]!.points[0]!, results);
    });

    it('lands a batch that arrives an hour late in its own minute, in every tier', async () => {
      const { a, d1 } = await setup();
      const early = probes(d1.id, 0, 180, 1, 3);
      const late = probes(d1.id, HOUR + 60, 180, 1, 4);
      // Maintenance passes a few minutes apart, long after the results' day (five days on): inside every
      // retention, they delete nothing; where a store compacts tiers (DynamoDB), they compact.
      let clock = DAY0 + 5 * DAY;
      const maintain = async () => {
        for (const _ of [1, 2]) {
          clock += 2 * MINUTE;
          setNow(new Date(clock * 1000));
          for (let pass = 0; pass < 100 && (await stats().prune(new Date(clock * 1000))).more; pass++);
        }
      };
      const check = async (all: ResultInput[]) => {
        expectSeries((await read(0, 2 * HOUR, { step: 60 })).series[0]!.points, all, 60);
        expectSeries((await read(0, 2 * HOUR, { step: HOUR })).series[0]!.points, all, HOUR);
        expectExact((await read(0, DAY, { step: DAY })).series[0]!.points[0]!, all);
      };
      await post(owner(a), late);
      await maintain();
      await check(late);
      // The early results arrive after their hour and day were last maintained, half of them twice.
      await post(owner(a), early.slice(0, 90), 50);
      await maintain();
      await post(owner(a), early, 50);
      await check([...early, ...late]);
      await maintain();
      await check([...early, ...late]);
    });

    it('gives the same figures however the results were batched, interleaved and late batches included', async () => {
      const { a, d1 } = await setup();
      const results = probes(d1.id, 0, 360, 0.5, 5);
      const odd = results.filter((_, i) => i % 2 === 1);
      const even = results.filter((_, i) => i % 2 === 0);
      await post(owner(a), odd, 45);
      await post(owner(a), even.reverse(), 30);
      expectSeries((await read(0, 3 * MINUTE, { step: 60 })).series[0]!.points, results, 60);
      expectExact((await read(0, HOUR, { step: HOUR })).series[0]!.points[0]!, results);
    });

    it('answers hour and day steps from tiers that equal their minutes', async () => {
      const { a, d1 } = await setup();
      // Two days and a bit, one probe every 97 s.
      const results = probes(d1.id, 0, 1_900, 97, 6);
      await post(owner(a), results);
      for (const step of [MINUTE, 300, HOUR, 2 * HOUR, DAY]) {
        const got = await read(0, 3 * DAY, { step });
        expect(got.step).toBe(step);
        expectSeries(got.series[0]!.points, results, step);
      }
      // Without a step: the smallest nice one within 1,000 points (3 days → 5 min).
      expect((await read(0, 3 * DAY)).step).toBe(300);
      // A range inside a slot still gets the whole slot.
      const inner = await read(HOUR + 600, HOUR + 1200, { step: HOUR });
      expectSeries(inner.series[0]!.points, bySlot(results, HOUR).get(DAY0 + HOUR)!, HOUR);
    });

    it('filters by destination, source and labels; an unknown id matches nothing', async () => {
      const { a, b, d1, d2 } = await setup();
      const a1 = probes(d1.id, 0, 60, 1, 7);
      const a2 = probes(d2.id, 0, 60, 1, 8);
      const b1 = probes(d1.id, 0, 60, 1, 9);
      await post(owner(a), [...a1, ...a2]);
      await post(owner(b), b1);
      const pairs = async (extra: object) =>
        (await read(0, MINUTE, { step: 60, ...extra })).series
          .map((s) => `${s.destination}/${s.source}`)
          .sort();
      expect(await pairs({})).toEqual([`${d1.id}/${a.id}`, `${d1.id}/${b.id}`, `${d2.id}/${a.id}`].sort());
      expect(await pairs({ destination: d1.id })).toEqual([`${d1.id}/${a.id}`, `${d1.id}/${b.id}`].sort());
      expect(await pairs({ source: b.id })).toEqual([`${d1.id}/${b.id}`]);
      expect(await pairs({ labels: { dc: 'fra' } })).toEqual([`${d2.id}/${a.id}`]);
      expect(await pairs({ labels: { dc: 'fra' }, source: b.id })).toEqual([]);
      expect(await pairs({ labels: { dc: 'nowhere' } })).toEqual([]);
      expect(await pairs({ destination: 'dst_unknown' })).toEqual([]);
      const series = (await read(0, MINUTE, { step: 60, destination: d1.id, source: b.id })).series;
      expectExact(series[0]!.points[0]!, b1);
    });

    it('refuses a step that gives more than 10,000 points with a bad_request naming step', async () => {
      await setup();
      const err = await rejection(read(0, 30 * DAY, { step: 60 }));
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ code: 'bad_request', path: 'step' });
    });

    it('summarises each pair over the window, worst first, with its last result', async () => {
      const { a, b, d1, d2 } = await setup();
      const now = 3 * HOUR + 1_830; // the window ends with the minute holding now (3:30:30 → 3:31)
      const lossy = probes(d1.id, 0, 3_600, 3.5, 10).map((r, i) =>
        i % 4 === 0 ? { ...r, status: 'timeout' as Status, rtt: null, address: null } : r,
      );
      const slow = probes(d2.id, 0, 3_600, 3.5, 11).map((r) =>
        r.rtt === null ? r : { ...r, rtt: r.rtt * 10 },
      );
      const fine = probes(d1.id, 0, 3_600, 3.5, 12);
      await post(owner(a), [...lossy, ...slow]);
      await post(owner(b), fine);
      const end = DAY0 + now - (now % 60) + 60;
      for (const [window, sort] of [
        [300, 'loss'],
        [HOUR, 'p50'],
        [DAY, 'loss'],
      ] as const) {
        const rows = await stats().summary({ to: T + BigInt(now) * NS, window, sort });
        const inWindow = (rs: ResultInput[]) =>
          rs.filter((r) => secondsOf(r) >= end - window && secondsOf(r) < end);
        const want = new Map([
          [`${d1.id}/${a.id}`, inWindow(lossy)],
          [`${d2.id}/${a.id}`, inWindow(slow)],
          [`${d1.id}/${b.id}`, inWindow(fine)],
        ]);
        expect(rows).toHaveLength(3);
        for (const row of rows) {
          const results = want.get(`${row.destination}/${row.source}`)!;
          expectExact(row, results, `${window} ${row.destination}/${row.source}`);
          const last = results.reduce((x, y) => (BigInt(y.rtime) > BigInt(x.rtime) ? y : x));
          expect([row.lastResult, row.lastStatus]).toEqual([last.rtime, last.status]);
        }
        const key = (r: (typeof rows)[number]) => (sort === 'loss' ? r.loss : r.p50!);
        expect(rows.map(key)).toEqual(rows.map(key).sort((x, y) => y - x));
      }
      const only = await stats().summary({
        to: T + BigInt(now) * NS,
        window: HOUR,
        sort: 'loss',
        source: b.id,
      });
      expect(only.map((r) => r.destination)).toEqual([d1.id]);
      expect(await stats().summary({ to: T + BigInt(now + DAY) * NS, window: 300, sort: 'loss' })).toEqual(
        [],
      );
    });

    it('keeps each kind for its retention: raw 14 d, minute 60 d, hour 2 y, day forever', async () => {
      const { a, d1 } = await setup();
      const results = probes(d1.id, 0, 300, 1, 13);
      await post(owner(a), results);
      const pruneAll = async (at: number) => {
        setNow(new Date(at * 1000));
        for (let pass = 0; pass < 100; pass++) {
          if (!(await stats().prune(new Date(at * 1000))).more) return;
        }
        throw new Error('prune never finished');
      };
      const sent = async (step: number) =>
        (await read(0, DAY, { step })).series[0]?.points.reduce((s, p) => s + p.sent, 0) ?? 0;

      await pruneAll(DAY0 + 13 * DAY);
      expect((await store().listResults({ limit: 1000 })).results).toHaveLength(300);
      await pruneAll(DAY0 + 15 * DAY);
      expect((await store().listResults({ limit: 1000 })).results).toHaveLength(0);
      expect(await sent(MINUTE)).toBe(300);
      await pruneAll(DAY0 + 61 * DAY);
      expect(await sent(MINUTE)).toBe(0);
      expect(await sent(HOUR)).toBe(300);
      await pruneAll(DAY0 + 2 * 365 * DAY + 2 * DAY);
      expect(await sent(HOUR)).toBe(0);
      expect(await sent(DAY)).toBe(300);
      await pruneAll(DAY0 + 50 * 365 * DAY);
      expect(await sent(DAY)).toBe(300);
    });

    it('loses nothing inside retention when prune passes run during ingest', async () => {
      const { a, d1 } = await setup();
      const old = probes(d1.id, 0, 3_000, 1, 14);
      await post(owner(a), old);
      // "Now" is 15 days on: the old results are past raw retention, the new ones (a day later) inside it.
      const now = new Date((DAY0 + 15 * DAY) * 1000);
      setNow(now);
      const fresh = probes(d1.id, DAY, 3_000, 0.2, 15);
      const batches: Promise<unknown>[] = [];
      for (let i = 0; i < fresh.length; i += 100) {
        batches.push(store().putResults(owner(a), fresh.slice(i, i + 100)));
        batches.push(stats().prune(now));
      }
      await Promise.all(batches);
      for (let pass = 0; pass < 100 && (await stats().prune(now)).more; pass++);
      const listed = await store().listResults({ limit: 10_000 });
      expect(listed.results).toHaveLength(fresh.length);
      expectExact((await read(DAY, 2 * DAY, { step: DAY })).series[0]!.points[0]!, fresh);
      // The old results' minutes are inside minute retention: still counted.
      expectExact((await read(0, DAY, { step: DAY })).series[0]!.points[0]!, old);
    });
  });
}
