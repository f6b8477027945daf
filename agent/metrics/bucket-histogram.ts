/**
 * A label-less Prometheus histogram for the agent's per-probe path (the scheduler's lateness, 10,000 observations a
 * second): `observe()` is a short scan of the bucket bounds and three additions on numbers it owns. prom-client's
 * Histogram builds a label object and a closure and hashes the labels on every call (~300 ns each).
 *
 * It registers in a prom-client {@link Registry} like any metric there and exports exactly what a label-less
 * prom-client Histogram with the same buckets exports: the same `get()` values, so the same /metrics lines
 * (`_bucket{le="…"}` cumulative, `le="+Inf"`, `_sum`, `_count`).
 */
import type { Metric, Registry } from 'prom-client';

export interface BucketHistogramConfig {
  name: string;
  help: string;
  /** Upper bounds (inclusive), ascending and finite; `+Inf` is implied. */
  buckets: readonly number[];
  registers: readonly Registry[];
}

/** One exported sample, shaped as prom-client's Histogram#get() returns them. */
export interface HistogramSample {
  value: number;
  labels: { le?: number | '+Inf' };
  metricName: string;
}

export class BucketHistogram {
  readonly type = 'histogram';
  /** How a cluster registry combines workers' values (prom-client's default for histograms). */
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot counts those above the largest bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(config: BucketHistogramConfig) {
    const { buckets } = config;
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) {
        throw new RangeError(`[agent:metrics] ${config.name}: buckets must be finite and ascending`);
      }
    }
    this.name = config.name;
    this.help = config.help;
    this.#bounds = [...buckets];
    this.#counts = new Float64Array(buckets.length + 1);
    // The registry only ever calls get() and reset(); its type names prom-client's own classes.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** Records one observation. Throws on a value that is not a finite number, as prom-client does. */
  observe(value: number): void {
    if (!Number.isFinite(value))
      throw new TypeError(`[agent:metrics] ${this.name}: not a finite number: ${value}`);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** The samples, as prom-client's Histogram#get() gives them. */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: HistogramSample[];
  }> {
    const bucket = `${this.name}_bucket`;
    const values: HistogramSample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i]!;
      values.push({ value: cumulative, labels: { le: this.#bounds[i]! }, metricName: bucket });
    }
    values.push(
      { value: this.#count, labels: { le: '+Inf' }, metricName: bucket },
      { value: this.#sum, labels: {}, metricName: `${this.name}_sum` },
      { value: this.#count, labels: {}, metricName: `${this.name}_count` },
    );
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}
