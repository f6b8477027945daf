/**
 * The contract's side of split censuses: an address's index in a census (the inverse of the agent's address
 * space, checked against it for every address of a /22 and a /118), and the slice fields of a pass report.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { addressSpace } from '../../../agent/schedule/census/address-space.js';
import {
  CensusPassReportSchema,
  censusAddressCount,
  censusAddressIndex,
  type Prefix,
  parsePrefix,
} from '../../../contract/index.js';

const prefixOf = (s: string): Prefix => {
  const parsed = parsePrefix(s);
  if ('issue' in parsed) throw new Error(parsed.issue);
  return parsed.prefix;
};

describe('censusAddressIndex', () => {
  it.each(['198.18.4.0/22', '198.18.0.8/31', '198.18.0.9/32', 'fd00:198:18::4:0/118'])(
    'is the inverse of the address space of %s',
    (text) => {
      const prefix = prefixOf(text);
      const space = addressSpace(prefix);
      expect(censusAddressCount(prefix)).toBe(space.count);
      const wrong: string[] = [];
      for (let i = 0; i < space.count; i++)
        if (censusAddressIndex(prefix, space.at(i)) !== i) wrong.push(space.at(i));
      expect(wrong).toEqual([]);
    },
  );

  it('has no index for the network and broadcast addresses, or an address outside the prefix', () => {
    const p = prefixOf('198.18.4.0/22');
    expect(censusAddressIndex(p, '198.18.4.0')).toBeUndefined();
    expect(censusAddressIndex(p, '198.18.7.255')).toBeUndefined();
    expect(censusAddressIndex(p, '198.18.8.1')).toBeUndefined();
    expect(censusAddressIndex(p, 'fd00::1')).toBeUndefined();
    // Not dotted quads (the IPv4 path reads them by hand).
    for (const bad of [
      '198.18.04.1',
      '198.18.4',
      '198.18.4.256',
      '198.18.4.1.',
      '.198.18.4.1',
      '198.18..4',
      ' 198.18.4.1',
    ])
      expect(censusAddressIndex(p, bad), bad).toBeUndefined();
    expect(censusAddressIndex(p, '198.18.4.10')).toBe(9);
    const six = prefixOf('fd00:198:18::4:0/118');
    expect(censusAddressIndex(six, 'fd00:198:19::4:1')).toBeUndefined();
    expect(censusAddressIndex(six, 'fd00:198:18::4:400')).toBeUndefined();
    expect(censusAddressIndex(six, '198.18.4.1')).toBeUndefined();
  });
});

describe('a pass report with a slice', () => {
  const report = (slice: object, addresses: number) => ({
    destination: 'dst_1',
    prefix: '198.18.0.0/24',
    start: '1763780000000000000',
    end: '1763780001000000000',
    addresses,
    probed: addresses,
    answered: 0,
    retries: 0,
    errors: 0,
    skipped: 0,
    rate: 1000,
    slice,
    answers: [],
  });
  const issues = (input: unknown) => {
    const r = v.safeParse(CensusPassReportSchema, input);
    return r.success ? [] : r.issues.map((i) => `${v.getDotPath(i)}: ${i.message}`);
  };

  it('is accepted when the slice spans the pass', () => {
    expect(issues(report({ slot: '1763780000000000000', from: 100, to: 254, of: 254 }, 154))).toEqual([]);
  });

  it('names the slice when it does not span the pass, or is upside down', () => {
    expect(issues(report({ slot: '1763780000000000000', from: 0, to: 127, of: 254 }, 254))).toEqual([
      "slice: must span the pass's 254 addresses (to − from)",
    ]);
    expect(issues(report({ slot: '1763780000000000000', from: 200, to: 100, of: 254 }, 0))).toEqual([
      'slice: must have from ≤ to ≤ of',
      "slice: must span the pass's 0 addresses (to − from)",
    ]);
    expect(issues(report({ slot: 'soon', from: 0, to: 1, of: 254 }, 1))).toEqual([
      'slice.slot: must be a decimal string of nanoseconds since the epoch',
    ]);
  });
});
