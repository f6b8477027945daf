/**
 * A census destination in the contract: a prefix address with its own defaults, every bad input refused with the
 * field and the rule, and single-host destinations exactly as before.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  CENSUS_DEFAULTS,
  DestinationCreateSchema,
  DestinationPatchSchema,
  DestinationSchema,
  flattenIssues,
  parsePrefix,
} from '../../../contract/index.js';

const create = (body: object) => v.safeParse(DestinationCreateSchema, body);
const issuesOf = (body: object) => {
  const r = create(body);
  if (r.success) throw new Error(`accepted ${JSON.stringify(body)}`);
  return flattenIssues(r.issues);
};

describe('census destination', () => {
  it('leaves a single-host destination as it was: 1 s interval, no census field', () => {
    const r = create({ address: '198.18.0.1' });
    expect(r.success && r.output).toEqual({
      active: true,
      address: '198.18.0.1',
      protocol: 'icmp',
      port: null,
      interval: 1000,
      timeout: 1000,
      ttl: 64,
      data: '',
      sources: [],
      labels: {},
    });
    expect(create({ address: '198.18.0.1', census: null }).output).not.toHaveProperty('census');
  });

  it('gives a prefix a 30-minute interval and every census default', () => {
    const r = create({ address: '198.19.0.0/16' });
    expect(r.success).toBe(true);
    expect(r.output).toMatchObject({
      address: '198.19.0.0/16',
      interval: 1_800_000,
      census: { rate: 5000, retries: 1, split: false, goneAfter: 2 },
    });
    expect(CENSUS_DEFAULTS.interval).toBe(30 * 60 * 1000);
  });

  it('takes what is given and defaults the rest', () => {
    const r = create({
      address: 'fd00:198:18::/112',
      protocol: 'tcp6',
      port: 443,
      interval: 60_000,
      census: { rate: 20_000, split: true },
    });
    expect(r.success && r.output).toMatchObject({
      interval: 60_000,
      census: { rate: 20_000, retries: 1, split: true, goneAfter: 2 },
    });
  });

  it.each([
    ['198.19.0.0/16', 4, 16, 65_536],
    ['198.19.4.0/22', 4, 22, 1024],
    ['198.19.4.7/32', 4, 32, 1],
    ['198.19.4.6/31', 4, 31, 2],
    ['fd00:198:18::/112', 6, 112, 65_536],
    ['FD00:198:18::ff00/120', 6, 120, 256],
    ['fd00:198:18::1/128', 6, 128, 1],
  ])('accepts %s', (address, family, bits, size) => {
    expect(create({ address, protocol: family === 6 ? 'icmp6' : 'icmp' }).success).toBe(true);
    const parsed = parsePrefix(address);
    expect('prefix' in parsed && parsed.prefix).toMatchObject({ family, bits, size });
  });

  it.each([
    [
      { address: '10.0.0.0/8' },
      'address',
      'is a /8 of 16,777,216 addresses; a census sweeps at most 65,536 (IPv4 /16 or longer)',
    ],
    [
      { address: '198.18.0.0/15' },
      'address',
      'is a /15 of 131,072 addresses; a census sweeps at most 65,536 (IPv4 /16 or longer)',
    ],
    [
      { address: 'fd00:198:18::/64', protocol: 'icmp6' },
      'address',
      'is a /64 of 18,446,744,073,709,551,616 addresses; a census sweeps at most 65,536 (IPv6 /112 or longer)',
    ],
    [
      { address: '198.19.0.5/16' },
      'address',
      'has host bits set: the network of this prefix is 198.19.0.0/16',
    ],
    [
      { address: 'fd00:198:18::5/120', protocol: 'icmp6' },
      'address',
      'has host bits set: its last 16 bits must be a multiple of 256 for a /120',
    ],
    [{ address: '198.19.0.0/33' }, 'address', 'must have a prefix length of 0–32 after the / (IPv4)'],
    [{ address: '198.19.0.0/' }, 'address', 'must have a prefix length of 0–32 after the / (IPv4)'],
    [{ address: '198.19.0.0/1x' }, 'address', 'must have a prefix length of 0–32 after the / (IPv4)'],
    [
      { address: 'fd00::/129', protocol: 'icmp6' },
      'address',
      'must have a prefix length of 0–128 after the / (IPv6)',
    ],
    [
      { address: 'example.com/24' },
      'address',
      'must be an IPv4 or IPv6 prefix (address/length) when it contains a /',
    ],
    [
      { address: '300.1.1.0/24' },
      'address',
      'must be an IPv4 or IPv6 prefix (address/length) when it contains a /',
    ],
    [{ address: 'not a host!' }, 'address', 'must be an IPv4 address, an IPv6 address or a host name'],
    [{ address: 'fd00:198:18::/112' }, 'address', 'is an IPv6 prefix but protocol icmp probes over IPv4'],
    [
      { address: '198.19.0.0/16', protocol: 'udp6', port: 53 },
      'address',
      'is an IPv4 prefix but protocol udp6 probes over IPv6',
    ],
    [{ address: '198.19.0.0/16', protocol: 'tcp' }, 'port', 'is required for protocol tcp'],
    [
      { address: '198.18.0.1', census: {} },
      'census',
      'is only for a prefix address (a census); use null or leave it out',
    ],
    [{ address: '198.19.0.0/16', census: { rate: 0 } }, 'census.rate', 'must be at least 1'],
    [{ address: '198.19.0.0/16', census: { rate: 10_000_001 } }, 'census.rate', 'must be at most 10000000'],
    [{ address: '198.19.0.0/16', census: { rate: 1.5 } }, 'census.rate', 'must be an integer'],
    [{ address: '198.19.0.0/16', census: { rate: '5000' } }, 'census.rate', 'must be a number'],
    [{ address: '198.19.0.0/16', census: { retries: -1 } }, 'census.retries', 'must be at least 0'],
    [{ address: '198.19.0.0/16', census: { retries: 6 } }, 'census.retries', 'must be at most 5'],
    [{ address: '198.19.0.0/16', census: { goneAfter: 0 } }, 'census.goneAfter', 'must be at least 1'],
    [{ address: '198.19.0.0/16', census: { split: 'yes' } }, 'census.split', 'must be true or false'],
    [{ address: '198.19.0.0/16', census: { every: 5 } }, 'census.every', expect.any(String)],
    [{ address: '198.19.0.0/16', census: 'fast' }, 'census', expect.any(String)],
    [{ address: '198.19.0.0/16', interval: 5 }, 'interval', 'must be at least 10'],
  ] as const)('refuses %j at %s', (body, path, message) => {
    expect(issuesOf(body)).toContainEqual({ path, message });
  });

  it('lets a patch set or clear the census, and an agent read a destination without one', () => {
    expect(v.safeParse(DestinationPatchSchema, { census: { rate: 100 } }).success).toBe(true);
    expect(v.safeParse(DestinationPatchSchema, { census: null }).success).toBe(true);
    expect(v.safeParse(DestinationPatchSchema, { census: { rate: 0 } }).success).toBe(false);
    const stored = {
      id: 'dst_1',
      active: true,
      address: '198.19.0.0/16',
      protocol: 'icmp',
      port: null,
      interval: 1_800_000,
      timeout: 1000,
      ttl: 64,
      data: '',
      sources: [],
      labels: {},
      createdAt: '2026-12-05T00:00:00.000Z',
      updatedAt: '2026-12-05T00:00:00.000Z',
    };
    expect(v.safeParse(DestinationSchema, stored).success).toBe(true);
    expect(v.safeParse(DestinationSchema, { ...stored, address: '10.0.0.0/8' }).success).toBe(false);
  });
});
