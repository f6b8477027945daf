/**
 * From a bucket to the figures users read: loss, RTT min/mean/stddev/percentiles/max and jitter.
 */
import type { StatsPoint } from '../../contract/index.js';
import { type Bucket, REPLY } from './bucket.js';

/** The figures of a stats point or summary row, without its time. */
export type Figures = Omit<StatsPoint, 't'>;

/** Figures of a bucket. RTT figures are null without a reply; jitter is null without a pair of replies. */
export function figuresOf(b: Bucket): Figures {
  const received = b.statuses[REPLY]!;
  // (sent − received) / sent rather than 1 − received / sent: 6 of 60 lost reads 0.1, not 0.09999999999999998.
  const loss = b.sent === 0 ? 0 : (b.sent - received) / b.sent;
  if (received === 0) {
    return {
      sent: b.sent,
      received,
      loss,
      processTimed: b.processTimed,
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
    };
  }
  const mean = b.rttSum / received;
  // Population variance from the moments; rounding can take it a hair below zero for equal RTTs.
  const variance = Math.max(0, b.rttSumSquares / received - mean * mean);
  // The sketch's bin representative may lie a little outside the exact extremes: the extremes are exact.
  const quantile = (q: number) => Math.min(b.rttMax, Math.max(b.rttMin, b.sketch.getValueAtQuantile(q)));
  return {
    sent: b.sent,
    received,
    loss,
    processTimed: b.processTimed,
    min: b.rttMin,
    mean,
    stddev: Math.sqrt(variance),
    p10: quantile(0.1),
    p25: quantile(0.25),
    p50: quantile(0.5),
    p75: quantile(0.75),
    p90: quantile(0.9),
    p99: quantile(0.99),
    max: b.rttMax,
    jitter: b.jitterCount === 0 ? null : b.jitterSum / b.jitterCount,
  };
}
