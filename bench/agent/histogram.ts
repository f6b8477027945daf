/**
 * Quantiles of a Prometheus histogram between two scrapes, as PromQL's histogram_quantile computes them: the
 * difference of the cumulative bucket counts, then linear interpolation inside the bucket the rank falls in.
 */

/** Cumulative `le` → count of one histogram in a scrape (the text exposition format). */
export function buckets(metricsText: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const m of metricsText.matchAll(re)) {
    const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
    out.set(le, (out.get(le) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Cumulative `le` → count of a histogram read in-process (prom-client's `get()`, or the agent's own). */
export async function bucketsOf(histogram: {
  get(): Promise<{ values: { metricName?: string; labels: { le?: number | string }; value: number }[] }>;
}): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const v of (await histogram.get()).values) {
    if (v.metricName?.endsWith('_bucket'))
      out.set(Number(v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : v.labels.le), v.value);
  }
  return out;
}

/** The q-quantile (0–1) of the observations made between `before` and `after`, or NaN when there were none. */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const n = counts.at(-1) ?? 0;
  if (n <= 0) return Number.NaN;
  const rank = q * n;
  for (let i = 0; i < les.length; i++) {
    if (counts[i]! >= rank) {
      const lo = i === 0 ? 0 : les[i - 1]!;
      const hi = les[i]!;
      // Past the last finite bucket there is nothing to interpolate towards: report its lower edge.
      if (!Number.isFinite(hi)) return lo;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return inBucket === 0 ? hi : lo + ((hi - lo) * (rank - below)) / inBucket;
    }
  }
  return Number.NaN;
}
