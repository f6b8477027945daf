import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BucketHistogram } from '../../../agent/metrics/bucket-histogram.js';
import { createAgentMetrics, metricValue, serveMetrics } from '../../../agent/metrics/metrics.js';

describe('agent metrics', () => {
  it('serves the Prometheus text format on 127.0.0.1, /metrics only', async () => {
    const metrics = createAgentMetrics();
    metrics.probesSent.inc({ protocol: 'icmp6' }, 3);
    metrics.dropped.inc({ reason: 'spool_full' }, 7);
    metrics.lateness.observe(0.0015);
    const server = await serveMetrics(metrics, 0);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain('pinger_agent_probes_sent_total{protocol="icmp6"} 3');
      expect(text).toContain('pinger_agent_results_dropped_total{reason="spool_full"} 7');
      expect(text).toContain('pinger_agent_schedule_lateness_seconds_bucket{le="0.002"} 1');
      expect(text).toContain('pinger_agent_schedule_lateness_seconds_bucket{le="0.001"} 0');
      expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    } finally {
      await server.close();
    }
    expect(await metricValue(metrics.dropped, { reason: 'spool_full' })).toBe(7);
    expect(await metricValue(metrics.dropped, { reason: 'rejected' })).toBe(0);
  });

  it('exports the per-probe plain counts at scrape time, once each, beside increments made on the metric', async () => {
    const metrics = createAgentMetrics();
    const { probeCounts } = metrics;
    probeCounts.sent.icmp += 5;
    probeCounts.sent.udp6 += 2;
    probeCounts.results.reply += 4;
    probeCounts.results.timeout += 1;
    probeCounts.inflight = 2;
    metrics.probesSent.inc({ protocol: 'icmp' }, 10);
    const text = await metrics.registry.metrics();
    expect(text).toContain('pinger_agent_probes_sent_total{protocol="icmp"} 15');
    expect(text).toContain('pinger_agent_probes_sent_total{protocol="udp6"} 2');
    // Only protocols and statuses that happened are series, as when the counters were updated per probe.
    expect(text).not.toContain('protocol="tcp"');
    expect(text).toContain('pinger_agent_results_total{status="reply"} 4');
    expect(text).not.toContain('status="error"');
    expect(text).toContain('pinger_agent_inflight_probes 2');
    // A second scrape adds only what was counted since.
    probeCounts.sent.icmp += 1;
    probeCounts.inflight = 0;
    expect(await metricValue(metrics.probesSent, { protocol: 'icmp' })).toBe(16);
    expect(await metricValue(metrics.probesSent)).toBe(18);
    expect(await metricValue(metrics.results)).toBe(5);
    expect(await metricValue(metrics.inflight)).toBe(0);
  });

  it('BucketHistogram exports exactly what a prom-client Histogram with the same buckets exports', async () => {
    const buckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
    const ours = new Registry();
    const theirs = new Registry();
    const name = 'pinger_test_lateness_seconds';
    const fast = new BucketHistogram({ name, help: 'h', buckets, registers: [ours] });
    const reference = new Histogram({ name, help: 'h', buckets, registers: [theirs] });
    const empty = await ours.metrics();
    expect(empty).toBe(await theirs.metrics());
    // Values on each bound (inclusive upper bounds), between them, 0, and above the largest.
    const values = [0, 7, 1e-9, ...buckets, ...buckets.map((b) => b * 1.5)];
    for (let i = 0; i < 1000; i++) values.push(((i * 7919) % 10007) / 1e6);
    for (const v of values) {
      fast.observe(v);
      reference.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const strip = (vs: { value: number; labels: object; metricName?: string }[]) =>
      vs.map(({ value, labels, metricName }) => ({ value, labels, metricName }));
    expect(strip((await fast.get()).values)).toEqual(strip((await reference.get()).values));
    expect(() => fast.observe(Number.NaN)).toThrow(TypeError);
    expect(() => new BucketHistogram({ name: 'x', help: 'x', buckets: [1, 1], registers: [] })).toThrow(
      /ascending/,
    );
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(empty);
  });
});
