/**
 * The agent's Prometheus metrics (prom-client) on a registry of its own, and the optional `/metrics` endpoint: a
 * tiny node:http server bound to 127.0.0.1, so the numbers are visible to a local scraper and nobody else.
 *
 * Every component takes an {@link AgentMetrics} and defaults to a fresh one, so tests read the same counters that
 * production exports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { PROTOCOLS, type Protocol, STATUSES, type Status } from '../../contract/index.js';
import { BucketHistogram } from './bucket-histogram.js';

/** Why results were dropped (never silently): spool over its byte bound, memory over its bound, or a refused batch. */
export type DropReason = 'spool_full' | 'memory_full' | 'rejected';

/**
 * What the scheduler counts per probe (tens of thousands of updates a second), as plain numbers: a prom-client
 * counter or gauge update costs ~40–100 ns and a label hash each. The metrics read them at scrape time, through
 * their `collect()` hook, so /metrics shows the same series and values as if they were updated per probe.
 */
export interface ProbeCounts {
  /** Probes handed to the prober, by protocol. */
  readonly sent: Record<Protocol, number>;
  /** Results, by status. */
  readonly results: Record<Status, number>;
  /** Probes sent and not yet resolved. */
  inflight: number;
  /**
   * Answered results whose RTT is not kernel-timed on both ends (`timing` in the contract): timed in part by the
   * process's clock, so longer by the agent's own delay there.
   */
  processTimed: number;
}

/** One 0 per label value, so that every key exists from the start (a fast object, no missing-key check). */
function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = 0;
  return out;
}

/**
 * A `collect()` hook that brings a labelled counter up to the plain counts: it adds what was counted since the
 * last scrape, so increments made on the counter itself still add up.
 */
function exportCounts<K extends string, L extends string>(
  counts: Record<K, number>,
  label: L,
): (this: Counter<L>) => void {
  const keys = Object.keys(counts) as K[];
  const exported = zeros(keys);
  return function collect() {
    for (const key of keys) {
      const delta = counts[key] - exported[key];
      if (delta <= 0) continue;
      const labels: Partial<Record<L, string>> = {};
      labels[label] = key;
      this.inc(labels, delta);
      exported[key] = counts[key];
    }
  };
}

export function createAgentMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const probeCounts: ProbeCounts = {
    sent: zeros(PROTOCOLS),
    results: zeros(STATUSES),
    inflight: 0,
    processTimed: 0,
  };
  let processTimedExported = 0;
  return {
    registry,
    /** Written by the scheduler per probe; exported by probesSent, results and inflight when scraped. */
    probeCounts,
    probesSent: new Counter({
      name: 'pinger_agent_probes_sent_total',
      help: 'Probes handed to the prober, by protocol.',
      labelNames: ['protocol'] as const,
      registers,
      collect: exportCounts(probeCounts.sent, 'protocol'),
    }),
    results: new Counter({
      name: 'pinger_agent_results_total',
      help: 'Probe outcomes, by status (reply, timeout, ttl-exceeded, unreachable, reset, error).',
      labelNames: ['status'] as const,
      registers,
      collect: exportCounts(probeCounts.results, 'status'),
    }),
    processTimed: new Counter({
      name: 'pinger_agent_results_process_timed_total',
      help:
        'Answered results whose RTT was not timed by the kernel on both ends (no transmit stamp in time, or an ' +
        'arrival read without a kernel stamp): their RTT includes a delay of the agent itself.',
      registers,
      collect() {
        this.inc(probeCounts.processTimed - processTimedExported);
        processTimedExported = probeCounts.processTimed;
      },
    }),
    lateness: new BucketHistogram({
      name: 'pinger_agent_schedule_lateness_seconds',
      help: 'How late a probe left compared with its slot (timer delay plus pps budget wait).',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    lateSkipped: new Counter({
      name: 'pinger_agent_late_ticks_skipped_total',
      help: 'Ticks skipped because they were more than one interval late (counted, not bunched).',
      registers,
    }),
    destinations: new Gauge({
      name: 'pinger_agent_destinations',
      help: 'Destinations being probed.',
      registers,
    }),
    inflight: new Gauge({
      name: 'pinger_agent_inflight_probes',
      help: 'Probes sent and not yet resolved.',
      registers,
      collect() {
        this.set(probeCounts.inflight);
      },
    }),
    censusPasses: new Counter({
      name: 'pinger_agent_census_passes_total',
      help: 'Census passes completed (or stopped), per census destination.',
      labelNames: ['destination'] as const,
      registers,
    }),
    censusProbes: new Counter({
      name: 'pinger_agent_census_probes_sent_total',
      help: 'Census probes sent (first rounds and retries), per census destination.',
      labelNames: ['destination'] as const,
      registers,
    }),
    censusSkipped: new Counter({
      name: 'pinger_agent_census_passes_skipped_total',
      help: 'Census passes not started because the previous pass was still running (never overlapped).',
      labelNames: ['destination'] as const,
      registers,
    }),
    censusLastPassSeconds: new Gauge({
      name: 'pinger_agent_census_last_pass_seconds',
      help: 'Duration of the last census pass, first probe to last settled.',
      labelNames: ['destination'] as const,
      registers,
    }),
    censusLastPassAnswered: new Gauge({
      name: 'pinger_agent_census_last_pass_answered',
      help: 'Addresses that answered in the last census pass.',
      labelNames: ['destination'] as const,
      registers,
    }),
    censusLastPassAddresses: new Gauge({
      name: 'pinger_agent_census_last_pass_addresses',
      help: 'Addresses probed in the last census pass.',
      labelNames: ['destination'] as const,
      registers,
    }),
    receiveTimestamps: new Gauge({
      name: 'pinger_agent_receive_timestamps',
      help: 'Open raw sockets by where their arrival times come from: kernel (SO_TIMESTAMPNS) or process (the read).',
      labelNames: ['socket', 'source'] as const,
      registers,
    }),
    spoolBytes: new Gauge({
      name: 'pinger_agent_spool_bytes',
      help: 'Bytes of results in the disk spool awaiting confirmation.',
      registers,
    }),
    spoolSegments: new Gauge({
      name: 'pinger_agent_spool_segments',
      help: 'Segment files in the disk spool.',
      registers,
    }),
    memoryResults: new Gauge({
      name: 'pinger_agent_outbox_memory_results',
      help: 'Results held in memory, not yet written to the spool.',
      registers,
    }),
    dropped: new Counter({
      name: 'pinger_agent_results_dropped_total',
      help: 'Results dropped, by reason (spool_full, memory_full, rejected).',
      labelNames: ['reason'] as const,
      registers,
    }),
    delivered: new Counter({
      name: 'pinger_agent_results_delivered_total',
      help: 'Results the control plane confirmed (stored or already stored).',
      registers,
    }),
    deliveryFailures: new Counter({
      name: 'pinger_agent_delivery_failures_total',
      help: 'Result batch posts that failed and will be retried.',
      registers,
    }),
    lastSync: new Gauge({
      name: 'pinger_agent_last_sync_timestamp_seconds',
      help: 'Unix time of the last successful config fetch (200 or 304).',
      registers,
    }),
    syncFailures: new Counter({
      name: 'pinger_agent_sync_failures_total',
      help: 'Config fetches that failed and will be retried.',
      registers,
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;

/** Reads a counter or gauge value (sum over labels, or one label set). For tests and the shutdown summary. */
export async function metricValue(
  metric: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels?: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) =>
      labels
        ? Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)
        : true,
    )
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * Serves `GET /metrics` on 127.0.0.1:`port` (0 picks a free port). Resolves once listening, with the port and a
 * close function.
 */
export async function serveMetrics(
  metrics: AgentMetrics,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
