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
