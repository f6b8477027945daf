import { describe, expect, it } from 'vitest';
import { ConfigReader } from '../../../agent/config/config-reader.js';
import { DESTINATION_DEFAULTS } from '../../helpers/factories.js';

const at = '2026-11-22T06:00:00.000Z';
const destination = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  ...DESTINATION_DEFAULTS,
  address: '127.0.0.1',
  sources: [],
  labels: {},
  createdAt: at,
  updatedAt: at,
  ...over,
});
const config = (version: string, destinations: unknown[]) =>
  JSON.parse(
    JSON.stringify({
      version,
      source: { id: 'src_1', name: 'a', sourceid: 7, location: 0, host: 0 },
      destinations,
    }),
  ) as unknown;

describe('ConfigReader', () => {
  it('sees a census settings change even under the same updatedAt, and reuses an unchanged census', () => {
    const reader = new ConfigReader();
    const census = { rate: 5000, retries: 1, split: false, goneAfter: 2 };
    const prefix = { address: '198.19.0.0/16', interval: 1_800_000, census };
    const first = reader.read(config('1', [destination('c', prefix)]));
    if (!first.success) throw new Error('first config refused');
    const same = reader.read(config('2', [destination('c', prefix)]));
    if (!same.success) throw new Error('second config refused');
    expect(same.validated).toBe(0);
    expect(same.output.destinations[0]).toBe(first.output.destinations[0]);
    const faster = reader.read(
      config('3', [destination('c', { ...prefix, census: { ...census, rate: 20_000 } })]),
    );
    if (!faster.success) throw new Error('third config refused');
    expect(faster.validated).toBe(1);
    expect(faster.output.destinations[0]!.census?.rate).toBe(20_000);
  });

  it('validates only what changed and hands back unchanged destinations as the same objects', () => {
    const reader = new ConfigReader();
    const first = reader.read(config('1', [destination('a'), destination('b')]));
    if (!first.success) throw new Error('first config refused');
    expect(first.validated).toBe(2);
    const later = '2026-11-22T06:00:01.000Z';
    const second = reader.read(
      config('2', [destination('a'), destination('b', { ttl: 9, updatedAt: later }), destination('c')]),
    );
    if (!second.success) throw new Error('second config refused');
    expect(second.validated).toBe(2);
    expect(second.output.destinations[0]).toBe(first.output.destinations[0]);
    expect(second.output.destinations[1]).not.toBe(first.output.destinations[1]);
    expect(second.output.destinations[1]!.ttl).toBe(9);
    expect(second.output.destinations.map((d) => d.id)).toEqual(['a', 'b', 'c']);
  });

  it('compares the probe fields too: a change without a new updatedAt is still seen and validated', () => {
    const reader = new ConfigReader();
    const first = reader.read(config('1', [destination('a')]));
    if (!first.success) throw new Error('first config refused');
    const bad = reader.read(config('2', [destination('a', { address: 'not an address!' })]));
    expect(bad.success).toBe(false);
    if (bad.success) return;
    expect(bad.issues[0]!.path).toBe('destinations.0.address');
    // A refused config changes nothing: the last good one stays the reference.
    const again = reader.read(config('3', [destination('a')]));
    expect(again.success && again.output.destinations[0]).toBe(first.output.destinations[0]);
  });

  it('refuses a malformed envelope, naming the field', () => {
    const result = new ConfigReader().read({ version: 1, source: {}, destinations: [] });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.issues.map((i) => i.path)).toContain('version');
  });
});
