/**
 * `GET /metrics` (read or admin token): what smokeping_prober users scrape, per (destination, source):
 *
 * - `pinger_probes_sent_total`, `pinger_probes_received_total`: counters read from the store's running totals
 *   (rollup_total in SQLite), which are added to in the same transaction as the results and never pruned. So
 *   a counter only grows: across control-plane restarts a scraper sees the series carry on where it was (no
 *   reset, as the totals live in the database, not in this process), retention passes take nothing from it,
 *   and a batch posted twice adds once. It resets only with a new database; a deleted destination's series
 *   ends. Results that arrive late (a replayed spool) are added when they arrive, as a counter should.
 * - `pinger_results_process_timed_total`: a counter of the same kind, of the results whose RTT is not timed by
 *   the kernel on both ends (contract `kernelTimed`; the agent's `pinger_agent_results_process_timed_total`
 *   counts the same on its side): such an RTT includes some of the agent's own delay.
 * - `pinger_rtt_seconds{quantile="0.5"|"0.9"|"0.99"}` and `pinger_loss_ratio`: the last complete minute (the
 *   one before the minute holding "now"), from the minute tier; absent for a pair without results in it.
 *
 * Labels: `destination` and `source` (ids), `address`, `protocol`, and each destination label as
 * `label_<key>` (characters Prometheus does not allow in a name become `_`; keys differing only in those
 * collide, and the last one in key order wins). Built with prom-client on a registry per scrape; Prometheus
 * text by default, OpenMetrics when the scraper asks for it (`Accept: application/openmetrics-text`).
 */
import { Hono } from 'hono';
import { Counter, Gauge, Registry, type RegistryContentType } from 'prom-client';
import type { Destination } from '../../contract/index.js';
import type { AuthEnv } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { statsOf } from './stats-access.js';

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
] as const;

/** A destination label key as a Prometheus label name. */
export function labelName(key: string): string {
  return `label_${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export function metricsRoutes({ store, guard, clock }: RouteDeps) {
  return new Hono<AuthEnv>().get('/', guard.reader, async (c) => {
    const stats = statsOf(store);
    const now = clock.now();
    const lastMinute = BigInt(now.getTime() - 60_000) * 1_000_000n;
    const [totals, minute, destinations] = await Promise.all([
      stats.totals({}),
      stats.summary({ to: lastMinute, window: 60, sort: 'loss' }),
      store.listDestinations(),
    ]);
    const byId = new Map<string, Destination>(destinations.map((d) => [d.id, d]));
    const keys = [...new Set(destinations.flatMap((d) => Object.keys(d.labels)))].sort();
    const labelNames = ['destination', 'source', 'address', 'protocol', ...new Set(keys.map(labelName))];
    const labelsOf = (destination: Destination, source: string) => {
      const out: Record<string, string> = {
        destination: destination.id,
        source,
        address: destination.address,
        protocol: destination.protocol,
      };
      for (const key of keys) {
        const value = destination.labels[key];
        if (value !== undefined) out[labelName(key)] = value;
      }
      return out;
    };

    const openMetrics = (c.req.header('accept') ?? '').includes('application/openmetrics-text');
    const registry = new Registry<RegistryContentType>();
    if (openMetrics) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registers = [registry];
    const sent = new Counter({
      name: 'pinger_probes_sent_total',
      help: 'Probes sent (results stored, any status) from the source to the destination',
      labelNames,
      registers,
    });
    const received = new Counter({
      name: 'pinger_probes_received_total',
      help: 'Probes answered (results with status reply) from the source to the destination',
      labelNames,
      registers,
    });
    const processTimed = new Counter({
      name: 'pinger_results_process_timed_total',
      help: "Results whose RTT is not timed by the kernel on both ends: it includes some of the agent's own delay",
      labelNames,
      registers,
    });
    const rtt = new Gauge({
      name: 'pinger_rtt_seconds',
      help: 'Round-trip time quantiles of the replies in the last complete minute (sketch, 1 % relative error)',
      labelNames: [...labelNames, 'quantile'],
      registers,
    });
    const loss = new Gauge({
      name: 'pinger_loss_ratio',
      help: 'Share of the probes of the last complete minute that got no reply (0 to 1)',
      labelNames,
      registers,
    });
    for (const total of totals) {
      const destination = byId.get(total.destination);
      if (!destination) continue;
      const labels = labelsOf(destination, total.source);
      sent.inc(labels, total.sent);
      received.inc(labels, total.received);
      processTimed.inc(labels, total.processTimed);
    }
    for (const row of minute) {
      const destination = byId.get(row.destination);
      if (!destination) continue;
      const labels = labelsOf(destination, row.source);
      loss.set(labels, row.loss);
      for (const [quantile, field] of QUANTILES) {
        const value = row[field];
        if (value !== null) rtt.set({ ...labels, quantile }, value / 1e6);
      }
    }
    c.header('Content-Type', registry.contentType);
    return c.body(await registry.metrics());
  });
}
