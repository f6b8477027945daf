/**
 * The in-order appender against bucketResults, its oracle: results appended one at a time (those it refuses
 * bucketed and joined as the open-minute cache does) give the same bucket, field for field and sketch byte
 * for byte, as bucketing all of them at once — in order, shuffled, with ties, with statuses other than reply.
 */
import { describe, expect, it } from 'vitest';
import {
  type Bucket,
  bucketResults,
  combineMinute,
  jitterOf,
  type RollupResult,
} from '../../../control-plane/rollup/bucket.js';
import { MinuteAppender } from '../../../control-plane/rollup/minute-appender.js';
import { encodeSketch } from '../../../control-plane/rollup/sketch.js';
import { at, random } from '../../helpers/stats-oracle.js';

/** A minute boundary, in ns, well past 2^53. */
const BASE = 1_767_225_600_000_000_000n;
const MINUTE = Number(BASE / 1_000_000_000n);

/** Feeds `batches` in turn the way open-minutes.ts does; returns the appender and how many it refused. */
function feed(batches: readonly RollupResult<string>[][]) {
  const slot = new MinuteAppender('d', MINUTE);
  let refused = 0;
  for (const batch of batches) {
    const unordered = batch.filter((r) => !slot.append(r.rtime, r.status, r.rtt));
    refused += unordered.length;
    slot.settle();
    if (unordered.length === 0) continue;
    const { bucket } = bucketResults(unordered)[0]!;
    if (!combineMinute(slot.bucket, bucket).exact) {
      // What the store does: the jitter of the minute's replies, all of them, in send order.
      const replies = batches
        .flat()
        .filter((r) => r.status === 'reply' && r.rtt !== null)
        .sort((a, b) => (BigInt(a.rtime) < BigInt(b.rtime) ? -1 : 1));
      const seen = new Set(batches.slice(0, batches.indexOf(batch) + 1).flat());
      const j = jitterOf(replies.filter((r) => seen.has(r)).map((r) => r.rtt!));
      slot.bucket.jitterSum = j.sum;
      slot.bucket.jitterCount = j.count;
    }
    slot.resync();
  }
  return { slot, refused };
}

function expectSame(got: Bucket, want: Bucket) {
  const { sketch: gotSketch, ...gotRest } = got;
  const { sketch: wantSketch, ...wantRest } = want;
  expect({ ...gotRest, jitterSum: undefined }).toEqual({ ...wantRest, jitterSum: undefined });
  expect(Math.abs(got.jitterSum - want.jitterSum)).toBeLessThan(1e-6);
  expect(encodeSketch(gotSketch)).toEqual(encodeSketch(wantSketch));
}

/** 60 results of one minute, a timeout every 7th and an unreachable every 11th. */
function minute(seed: number): RollupResult<string>[] {
  const rand = random(seed);
  return Array.from({ length: 60 }, (_, i) =>
    i % 7 === 3
      ? at('d', BASE, i + 0.25, 'timeout', null)
      : i % 11 === 5
        ? at('d', BASE, i + 0.25, 'unreachable', 900)
        : at('d', BASE, i + 0.25, 'reply', Math.round(200 + 800 * rand())),
  );
}

describe('MinuteAppender', () => {
  it('equals bucketResults for results in send order, batch by batch, taking every one', () => {
    const results = minute(1);
    const { slot, refused } = feed([results.slice(0, 17), results.slice(17, 18), results.slice(18)]);
    expect(refused).toBe(0);
    expectSame(slot.bucket, bucketResults(results)[0]!.bucket);
  });

  it('equals bucketResults when batches arrive out of order or shuffled, refusing what comes before', () => {
    for (let seed = 2; seed < 40; seed++) {
      const rand = random(seed);
      const results = minute(seed);
      const shuffled = [...results].sort(() => rand() - 0.5);
      const cut = [0, 10 + Math.floor(rand() * 20), 35 + Math.floor(rand() * 20), 60];
      const batches = [0, 1, 2].map((k) => shuffled.slice(cut[k], cut[k + 1]));
      const { slot, refused } = feed(batches);
      expect(refused).toBeGreaterThan(0);
      expectSame(slot.bucket, bucketResults(results)[0]!.bucket);
    }
    // A late batch wholly before what is stored: refused, joined with one linking Δ.
    const results = minute(41);
    const { slot, refused } = feed([results.slice(30), results.slice(0, 30)]);
    expect(refused).toBe(30);
    expectSame(slot.bucket, bucketResults(results)[0]!.bucket);
  });

  it('refuses a result at the same rtime as the newest taken, and starts from a bucket it is given', () => {
    const results = minute(50);
    const slot = new MinuteAppender('d', MINUTE, bucketResults(results.slice(0, 20))[0]!.bucket);
    expect(slot.append(results[19]!.rtime, 'reply', 300)).toBe(false);
    expect(slot.unsettled).toBe(false);
    for (const r of results.slice(20)) expect(slot.append(r.rtime, r.status, r.rtt)).toBe(true);
    expect(slot.unsettled).toBe(true);
    slot.settle();
    expectSame(slot.bucket, bucketResults(results)[0]!.bucket);
  });
});
