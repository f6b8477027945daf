/**
 * The rollup against exact oracles over the raw results: counts, loss, moments, jitter exactly; percentiles
 * within the sketch's stated 1 % of the exact value at their rank, on uniform and heavy-tailed (Pareto) RTTs;
 * and merges that give the same answer however the results were batched or the tiers grouped.
 */
import { describe, expect, it } from 'vitest';
import type { Timing } from '../../../contract/index.js';
import {
  type Bucket,
  bucketResults,
  combineMinute,
  jitterOf,
  mergeBuckets,
  mergeInto,
  minuteOf,
  type RollupResult,
} from '../../../control-plane/rollup/bucket.js';
import { figuresOf } from '../../../control-plane/rollup/figures.js';
import {
  decodeFragment,
  encodeFragment,
  minuteFromFragments,
} from '../../../control-plane/rollup/fragment.js';
import { encodeSketch, SKETCH_RELATIVE_ACCURACY } from '../../../control-plane/rollup/sketch.js';
import { at, oracle, pareto, random } from '../../helpers/stats-oracle.js';

/** A minute boundary, in ns, well past 2^53. */
const BASE = 1_767_225_600_000_000_000n;

function oneBucket(results: readonly RollupResult<string>[]): Bucket {
  return mergeBuckets(bucketResults(results).map((m) => m.bucket));
}

/** Checks every figure of `bucket` against the oracle over `results`. */
function expectFigures(bucket: Bucket, results: readonly RollupResult<string>[]) {
  const got = figuresOf(bucket);
  const want = oracle(results);
  expect(got.sent).toBe(want.sent);
  expect(got.received).toBe(want.received);
  expect(got.processTimed).toBe(want.processTimed);
  expect(got.loss).toBeCloseTo(want.loss, 12);
  expect(got.min).toBe(want.min);
  expect(got.max).toBe(want.max);
  for (const key of ['mean', 'stddev', 'jitter'] as const) {
    if (want[key] === null) expect(got[key], key).toBeNull();
    else expect(Math.abs(got[key]! - want[key]!) / Math.max(1, want[key]!), key).toBeLessThan(1e-9);
  }
  for (const key of ['p10', 'p25', 'p50', 'p75', 'p90', 'p99'] as const) {
    if (want[key] === null) {
      expect(got[key], key).toBeNull();
      continue;
    }
    // A zero RTT (a reply stamped within the clock's resolution) is in the sketch's exact zero bucket.
    const error = want[key] === 0 ? Math.abs(got[key]!) : Math.abs(got[key]! - want[key]!) / want[key]!;
    expect(error, `${key}: ${got[key]} vs exact ${want[key]}`).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY);
  }
}

const KERNEL: Timing = { send: 'kernel', receive: 'kernel', lateness: 0 };
const PROCESS_SEND: Timing = { send: 'process', receive: 'kernel', lateness: 0 };
const PROCESS_RECEIVE: Timing = { send: 'kernel', receive: 'process', lateness: 12 };

/** A result with a timing mark (none: an older agent's). */
const timed = (r: RollupResult<string>, timing: Timing | undefined) => ({ ...r, timing });

/**
 * `n` results of one destination at 1 s spacing from BASE, every `lossEvery`-th a timeout; of each seven, one
 * process-timed on send, one on receive, one unmarked, the rest kernel-timed.
 */
function series(n: number, rtt: (i: number) => number, lossEvery = 0, spacing = 1): RollupResult<string>[] {
  return Array.from({ length: n }, (_, i) =>
    timed(
      lossEvery > 0 && i % lossEvery === 0
        ? at('d', BASE, i * spacing, 'timeout', null)
        : at('d', BASE, i * spacing, 'reply', rtt(i)),
      [PROCESS_SEND, PROCESS_RECEIVE, undefined][i % 7] ?? KERNEL,
    ),
  );
}

describe('rollup: figures against the exact answer', () => {
  it('percentiles within 1 % on uniform RTTs, everything else exact', () => {
    const rand = random(1);
    const results = series(20_000, () => 200 + rand() * 50_000, 37, 0.05);
    expectFigures(oneBucket(results), results);
  });

  it('percentiles within 1 % on heavy-tailed (Pareto, alpha 1.2) RTTs', () => {
    for (const seed of [2, 3, 4]) {
      const rand = random(seed);
      const results = series(20_000, () => pareto(rand, 300, 1.2), 0, 0.02);
      expectFigures(oneBucket(results), results);
    }
  });

  it('percentiles within 1 % on small sets, including equal and zero RTTs', () => {
    const rand = random(5);
    for (const n of [1, 2, 3, 10, 101]) {
      const results = series(n, () => Math.round(rand() * 4) * 250);
      expectFigures(oneBucket(results), results);
    }
  });

  it('loss and jitter exact on a constructed series', () => {
    // Replies 10, 12, (timeout), 9, 9, (unreachable), 15: Δ 2, 3, 0, 6 → jitter 11/4; 5 of 7 received.
    const results = [
      at('d', BASE, 0, 'reply', 10),
      at('d', BASE, 1, 'reply', 12),
      at('d', BASE, 2, 'timeout', null),
      at('d', BASE, 3, 'reply', 9),
      at('d', BASE, 4, 'reply', 9),
      at('d', BASE, 5, 'unreachable', 3),
      at('d', BASE, 6, 'reply', 15),
    ];
    const f = figuresOf(oneBucket([...results].reverse()));
    expect(f).toMatchObject({ sent: 7, received: 5, loss: 2 / 7, min: 9, max: 15, jitter: 11 / 4 });
    // An unreachable's RTT (a router's answer) is not latency to the destination.
    expect(f.mean).toBe(55 / 5);
  });

  it('gives null RTT figures without replies and null jitter with a single reply', () => {
    expect(
      figuresOf(oneBucket([at('d', BASE, 0, 'timeout', null), at('d', BASE, 1, 'error', null)])),
    ).toEqual({
      sent: 2,
      received: 0,
      loss: 1,
      processTimed: 0,
      min: null,
      mean: null,
      stddev: null,
      p10: null,
      p25: null,
      p50: null,
      p75: null,
      p90: null,
      p99: null,
      max: null,
      jitter: null,
    });
    expect(figuresOf(oneBucket([at('d', BASE, 0, 'reply', 7)]))).toMatchObject({
      jitter: null,
      stddev: 0,
      p99: 7,
    });
  });

  it('buckets per (destination, minute), counts each status, keeps the newest result', () => {
    const results = [
      at('a', BASE, 59.999, 'reply', 1),
      at('a', BASE, 60, 'ttl-exceeded', 2),
      at('b', BASE, 30, 'reset', 3),
      at('a', BASE, 0, 'error', null),
    ];
    const buckets = bucketResults(results);
    const first = BASE / 1_000_000_000n;
    expect(buckets.map((b) => [b.destination, b.minute - Number(first), b.bucket.statuses])).toEqual([
      ['a', 0, [1, 0, 0, 0, 0, 1]],
      ['a', 60, [0, 0, 1, 0, 0, 0]],
      ['b', 0, [0, 0, 0, 0, 1, 0]],
    ]);
    expect(buckets[0]!.bucket.lastResult).toEqual({ rtime: BASE + 59_999_000_000n, status: 'reply' });
    expect(minuteOf('59999999999')).toBe(0);
    expect(minuteOf('60000000000')).toBe(60);
    expect(minuteOf('5')).toBe(0);
  });
});

describe('rollup: results not kernel-timed on both ends', () => {
  const results = [
    timed(at('d', BASE, 0, 'reply', 10), KERNEL),
    timed(at('d', BASE, 1, 'reply', 11), PROCESS_SEND),
    timed(at('d', BASE, 2, 'reply', 12), PROCESS_RECEIVE),
    timed(at('d', BASE, 3, 'reply', 13), undefined),
    timed(at('d', BASE, 4, 'ttl-exceeded', 5), { send: 'process', receive: 'process', lateness: 0 }),
    timed(at('d', BASE, 5, 'timeout', null), { send: 'process', receive: null, lateness: 0 }),
    timed(at('d', BASE, 6, 'timeout', null), undefined),
    timed(at('d', BASE, 61, 'reply', 14), PROCESS_SEND),
    timed(at('d', BASE, 62, 'reply', 15), KERNEL),
  ];

  it('counts every result with an RTT not kernel-timed on both ends, of any status; timeouts never', () => {
    const minutes = bucketResults(results);
    expect(minutes.map((m) => m.bucket.processTimed)).toEqual([4, 1]);
    expect(figuresOf(mergeBuckets(minutes.map((m) => m.bucket))).processTimed).toBe(5);
    expect(oracle(results).processTimed).toBe(5);
  });

  it('adds up when batches join a minute and when tiers merge', () => {
    const [stored, late] = [bucketResults(results.slice(0, 3))[0]!, bucketResults(results.slice(3, 7))[0]!];
    combineMinute(stored.bucket, late.bucket);
    expect(stored.bucket.processTimed).toBe(4);
    expect(mergeInto(stored.bucket, bucketResults(results.slice(7))[0]!.bucket).processTimed).toBe(5);
  });

  it('survives a fragment: the flag rides in the kind byte, and a fragment without it counts none', () => {
    const minute = Number(BASE / 1_000_000_000n);
    const withSeq = results.slice(0, 7).map((r, i) => ({ ...r, rseq: i }));
    const bytes = encodeFragment(minute, withSeq);
    expect(decodeFragment(bytes).map((r) => r.processTimed)).toEqual([
      false,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(minuteFromFragments(minute, [bytes])!.processTimed).toBe(4);
    // The same results taken twice (a replayed batch) count once.
    expect(minuteFromFragments(minute, [bytes, bytes])!.processTimed).toBe(4);
    // Written before the flag: version 1, one reply of 10 µs at offset 0, rseq 0, kind = reply × 4 + varint.
    const old = Uint8Array.from([1, 1, 0, 0, 0 * 4 + 1, 10]);
    expect(minuteFromFragments(minute, [old])).toMatchObject({ sent: 1, processTimed: 0 });
  });
});

describe('rollup: batching does not change the answer', () => {
  const rand = random(7);
  // Three minutes at 0.5 s, 10 % timeouts, jittery RTTs.
  const results = series(360, () => 1000 + rand() * 300, 10, 0.5);

  /** Folds batches into stored minute buckets the way the store does; returns the buckets and exactness. */
  function ingest(batches: RollupResult<string>[][]) {
    const stored = new Map<number, Bucket>();
    let exact = true;
    for (const batch of batches) {
      for (const { minute, bucket } of bucketResults(batch)) {
        const have = stored.get(minute);
        if (!have) stored.set(minute, bucket);
        else exact = combineMinute(have, bucket).exact && exact;
      }
    }
    return { stored, exact };
  }

  it('batches in order, of any sizes, give exactly the one-batch figures', () => {
    for (const size of [1, 7, 64, 359]) {
      const batches: RollupResult<string>[][] = [];
      for (let i = 0; i < results.length; i += size) batches.push(results.slice(i, i + size));
      const { stored, exact } = ingest(batches);
      expect(exact).toBe(true);
      expectFigures(mergeBuckets(stored.values()), results);
    }
  });

  it('a late batch (all before what is stored) joins exactly', () => {
    const { stored, exact } = ingest([results.slice(200), results.slice(100, 200), results.slice(0, 100)]);
    expect(exact).toBe(true);
    expectFigures(mergeBuckets(stored.values()), results);
  });

  it('interleaved batches are reported inexact, and the recomputed jitter is exact', () => {
    const odd = results.filter((_, i) => i % 2 === 1);
    const even = results.filter((_, i) => i % 2 === 0);
    const { stored, exact } = ingest([odd, even]);
    expect(exact).toBe(false);
    // What the store does then: recompute each such minute's jitter from its raw replies in send order.
    for (const [minute, bucket] of stored) {
      const rtts = results
        .filter((r) => minuteOf(r.rtime) === minute && r.status === 'reply')
        .map((r) => r.rtt!);
      const j = jitterOf(rtts);
      bucket.jitterSum = j.sum;
      bucket.jitterCount = j.count;
    }
    expectFigures(mergeBuckets(stored.values()), results);
  });
});

describe('rollup: tiers', () => {
  it('minute → hour → day equals merging every minute at once, and is associative', () => {
    const rand = random(11);
    // Two days of one probe every 97 s, hours with different RTT levels and some loss.
    const results = series(1_800, (i) => pareto(rand, 200 + (i % 24) * 10, 1.5), 13, 97);
    const minutes = bucketResults(results);
    const hours = new Map<number, Bucket>();
    for (const m of minutes) {
      const hour = m.minute - (m.minute % 3600);
      hours.set(hour, mergeInto(hours.get(hour) ?? mergeBuckets([]), m.bucket));
    }
    const days = new Map<number, Bucket>();
    for (const [hour, b] of hours) {
      const day = hour - (hour % 86_400);
      days.set(day, mergeInto(days.get(day) ?? mergeBuckets([]), b));
    }
    const direct = mergeBuckets(bucketResults(results).map((m) => m.bucket));
    const viaTiers = mergeBuckets(days.values());
    const reversed = mergeBuckets(
      bucketResults(results)
        .map((m) => m.bucket)
        .reverse(),
    );
    for (const other of [viaTiers, reversed]) {
      expect(other.sent).toBe(direct.sent);
      expect(other.statuses).toEqual(direct.statuses);
      expect(other.processTimed).toBe(direct.processTimed);
      expect(other.jitterCount).toBe(direct.jitterCount);
      expect(other.jitterSum).toBeCloseTo(direct.jitterSum, 6);
      expect(other.rttSum).toBeCloseTo(direct.rttSum, 6);
      expect(other.rttSumSquares / direct.rttSumSquares).toBeCloseTo(1, 12);
      expect([other.rttMin, other.rttMax]).toEqual([direct.rttMin, direct.rttMax]);
      expect(encodeSketch(other.sketch)).toEqual(encodeSketch(direct.sketch));
    }
    expectFigures(viaTiers, results);
  });
});
