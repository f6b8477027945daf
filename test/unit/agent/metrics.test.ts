import { describe, expect, it } from 'vitest';
import { createAgentMetrics, metricValue, serveMetrics } from '../../../agent/metrics.js';

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
});
