/**
 * The overview's ranking and filters, and the graph's step choice: the dashboard's pure parts, checked on
 * constructed inputs (the browser tests check them again through the page against a real server).
 */
import { describe, expect, it } from 'vitest';
import type { Destination, Source, SummaryRow } from '../../../contract/index.js';
import { filterRows, pairRows } from '../../../web/src/overview-rows.js';
import { stepFor } from '../../../web/src/stats-range.js';

const at = '2026-12-05T00:00:00.000Z';
const dest = (id: string, extra: Partial<Destination> = {}): Destination => ({
  id,
  active: true,
  address: `198.18.0.${id.length}`,
  protocol: 'icmp',
  port: null,
  interval: 1000,
  timeout: 1000,
  ttl: 64,
  data: '',
  sources: [],
  labels: {},
  createdAt: at,
  updatedAt: at,
  ...extra,
});
const src = (id: string, name: string): Source => ({
  id,
  name,
  location: 0,
  host: 0,
  sourceid: id.length,
  address: null,
  labels: {},
  lastSeen: null,
  createdAt: at,
});
const row = (destination: string, source: string, loss: number, p50: number | null): SummaryRow => ({
  destination,
  source,
  sent: 100,
  received: Math.round(100 * (1 - loss)),
  loss,
  processTimed: 0,
  min: p50,
  mean: p50,
  stddev: 0,
  p10: p50,
  p25: p50,
  p50,
  p75: p50,
  p90: p50,
  p99: p50,
  max: p50,
  jitter: 0,
  lastResult: '1764892800000000000',
  lastStatus: loss >= 1 ? 'timeout' : 'reply',
});

describe('pairRows', () => {
  const sources = [src('s1', 'ams'), src('s2', 'fra')];
  const destinations = [
    dest('d1', { address: '198.18.0.1', labels: { site: 'ams' } }),
    dest('d2', { address: '198.18.0.2', protocol: 'tcp', port: 443, sources: ['s2'] }),
    dest('d3', { address: '198.18.0.3', active: false }),
    dest('d4', { address: '198.18.0.4' }),
  ];
  const summary = [
    row('d1', 's1', 0, 5_000),
    row('d1', 's2', 0, 9_000),
    row('d2', 's2', 0.25, 1_000),
    row('d4', 's1', 1, null),
    row('d4', 's2', 0.5, 2_000),
  ];

  it('makes one row per pair a destination is probed from, worst first: down, loss, no data, up, paused', () => {
    const rows = pairRows(destinations, sources, summary);
    expect(rows.map((r) => `${r.key} ${r.status}`)).toEqual([
      'd4/s1 down',
      'd4/s2 loss',
      'd2/s2 loss',
      'd1/s2 up',
      'd1/s1 up',
      'd3/s1 paused',
      'd3/s2 paused',
    ]);
  });

  it('keeps a pair that has figures but is no longer configured, and marks pairs without figures', () => {
    const rows = pairRows([dest('d2', { sources: ['s2'] })], sources, [
      row('d2', 's1', 0, 1),
      row('d2', 's2', 0, 1),
    ]);
    expect(rows.map((r) => r.key).sort()).toEqual(['d2/s1', 'd2/s2']);
    expect(pairRows([dest('d9')], sources, []).map((r) => r.status)).toEqual(['no data', 'no data']);
  });

  it('filters by text (address, label, source name), protocol, source and label', () => {
    const rows = pairRows(destinations, sources, summary);
    const keys = (f: Partial<Parameters<typeof filterRows>[1]>) =>
      filterRows(rows, { text: '', protocol: '', source: '', label: '', ...f })
        .map((r) => r.key)
        .sort();
    expect(keys({ text: '198.18.0.2' })).toEqual(['d2/s2']);
    expect(keys({ text: 'AMS' })).toEqual(['d1/s1', 'd1/s2', 'd3/s1', 'd4/s1']);
    expect(keys({ protocol: 'tcp' })).toEqual(['d2/s2']);
    expect(keys({ source: 's1', label: 'site=ams' })).toEqual(['d1/s1']);
    expect(keys({ label: 'site=fra' })).toEqual([]);
  });
});

describe('stepFor', () => {
  it('gives whole minutes, at most one point per pixel of the chart', () => {
    const cases: [number, number][] = [
      [3_600, 1_238],
      [86_400, 1_238],
      [30 * 86_400, 1_238],
      [365 * 86_400, 1_238],
      [3_600, 300],
      [30 * 86_400, 0],
    ];
    for (const [span, width] of cases) {
      const step = stepFor(span, width);
      expect(step % 60, `${span} s over ${width} px`).toBe(0);
      expect(span / step).toBeLessThanOrEqual(Math.max(100, width));
    }
    expect(stepFor(3_600, 1_238)).toBe(60);
    expect(stepFor(30 * 86_400, 1_238)).toBe(3_600);
  });
});
