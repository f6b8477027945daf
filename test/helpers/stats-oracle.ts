/**
 * Exact answers from raw results, for the rollup tests to compare with: sorted-array percentiles at the
 * sketch's rank, two-pass moments, jitter straight from its definition. Plus seeded random RTTs.
 */
import { kernelTimed, type Status } from '../../contract/index.js';
import type { RollupResult } from '../../control-plane/rollup/bucket.js';

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Pareto(xm, alpha) by inversion: a heavy tail (alpha 1.2: finite mean, infinite variance). */
export function pareto(rand: () => number, xm: number, alpha: number): number {
  return xm / (1 - rand()) ** (1 / alpha);
}

/** The value at the sketch's rank q·(n−1), rounded down: the element its percentile approximates. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** Every figure of a set of results computed the slow, obvious way. */
export function oracle(results: readonly RollupResult<unknown>[]) {
  const ordered = [...results].sort((a, b) => (BigInt(a.rtime) < BigInt(b.rtime) ? -1 : 1));
  const replies = ordered.filter((r) => r.status === 'reply').map((r) => r.rtt!);
  const sorted = [...replies].sort((a, b) => a - b);
  const n = replies.length;
  const mean = n === 0 ? null : replies.reduce((s, x) => s + x, 0) / n;
  const variance = mean === null ? null : replies.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  // Δ between consecutive replies of the same minute only (the documented rule).
  let jitterSum = 0;
  let jitterCount = 0;
  let previous: { minute: bigint; rtt: number } | undefined;
  for (const r of ordered) {
    if (r.status !== 'reply') continue;
    const minute = BigInt(r.rtime) / 60_000_000_000n;
    if (previous && previous.minute === minute) {
      jitterSum += Math.abs(r.rtt! - previous.rtt);
      jitterCount++;
    }
    previous = { minute, rtt: r.rtt! };
  }
  return {
    sent: results.length,
    received: n,
    // Any status with an RTT counts, not only replies: the agent's own count is the same.
    processTimed: results.filter((r) => r.rtt !== null && !kernelTimed(r)).length,
    loss: results.length === 0 ? 0 : 1 - n / results.length,
    min: n === 0 ? null : sorted[0]!,
    max: n === 0 ? null : sorted[n - 1]!,
    mean,
    stddev: variance === null ? null : Math.sqrt(variance),
    p10: n === 0 ? null : exactQuantile(sorted, 0.1),
    p25: n === 0 ? null : exactQuantile(sorted, 0.25),
    p50: n === 0 ? null : exactQuantile(sorted, 0.5),
    p75: n === 0 ? null : exactQuantile(sorted, 0.75),
    p90: n === 0 ? null : exactQuantile(sorted, 0.9),
    p99: n === 0 ? null : exactQuantile(sorted, 0.99),
    jitter: jitterCount === 0 ? null : jitterSum / jitterCount,
  };
}

/** A result of destination `d` sent at `base + i` seconds (+ `ns`), with a status and an RTT. */
export function at(
  d: string,
  base: bigint,
  seconds: number,
  status: Status,
  rtt: number | null,
): RollupResult<string> {
  return { destination: d, rtime: `${base + BigInt(Math.round(seconds * 1e9))}`, status, rtt };
}
