import { describe, expect, it } from 'vitest';
import { addressSpace } from '../../../../agent/schedule/census/address-space.js';
import { Permutation } from '../../../../agent/schedule/census/permutation.js';
import { type Prefix, parsePrefix } from '../../../../contract/index.js';
import { mulberry32 } from '../../../helpers/prng.js';

const prefix = (s: string): Prefix => {
  const p = parsePrefix(s);
  if (!('prefix' in p)) throw new Error(p.issue);
  return p.prefix;
};

describe('census permutation', () => {
  it.each([1, 2, 3, 5, 254, 1000, 4094, 65_534, 65_536])('visits each of %i values exactly once', (n) => {
    const perm = new Permutation(n, 12345);
    const seen = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const x = perm.at(i);
      expect(x >= 0 && x < n && Number.isInteger(x)).toBe(true);
      seen[x]! += 1;
    }
    expect(seen.every((c) => c === 1)).toBe(true);
  });

  it('gives another order for another seed, the same for the same seed', () => {
    const order = (seed: number) => Array.from({ length: 1000 }, (_, i) => new Permutation(1000, seed).at(i));
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
  });

  /** The most probes any one /24 of a /16 takes within any 256 consecutive probes of `order` (offsets). */
  const burstiness = (order: number[]) => {
    let worst = 0;
    for (let start = 0; start + 256 <= order.length; start += 64) {
      const counts = new Map<number, number>();
      for (let i = start; i < start + 256; i++) {
        const subnet = (order[i]! + 1) >> 8;
        counts.set(subnet, (counts.get(subnet) ?? 0) + 1);
      }
      worst = Math.max(worst, ...counts.values());
    }
    return worst;
  };

  it('never hits one /24 of a /16 in a burst: no worse than a truly random shuffle', () => {
    const n = 65_534;
    const sequential = Array.from({ length: n }, (_, i) => i);
    // The oracle: a Fisher–Yates shuffle from a seeded PRNG, the spread a uniform random order gives.
    const random = mulberry32(7);
    const shuffled = [...sequential];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const oracle = burstiness(shuffled);
    expect(burstiness(sequential)).toBeGreaterThanOrEqual(255);
    expect(oracle).toBeLessThanOrEqual(10);
    for (const seed of [1, 2, 3]) {
      const perm = new Permutation(n, seed);
      expect(burstiness(Array.from({ length: n }, (_, i) => perm.at(i)))).toBeLessThanOrEqual(oracle + 1);
    }
  });

  it('refuses an empty or huge range', () => {
    expect(() => new Permutation(0, 1)).toThrow(/1 ≤ n/);
    expect(() => new Permutation(2 ** 31, 1)).toThrow(/1 ≤ n/);
  });
});

describe('census address space', () => {
  it('skips network and broadcast of an IPv4 prefix shorter than /31', () => {
    const s = addressSpace(prefix('198.19.0.0/16'));
    expect(s.count).toBe(65_534);
    expect(s.at(0)).toBe('198.19.0.1');
    expect(s.at(254)).toBe('198.19.0.255');
    expect(s.at(s.count - 1)).toBe('198.19.255.254');
    const small = addressSpace(prefix('198.19.4.0/30'));
    expect(Array.from({ length: small.count }, (_, i) => small.at(i))).toEqual(['198.19.4.1', '198.19.4.2']);
  });

  it('keeps both addresses of a /31 and the one of a /32', () => {
    const p31 = addressSpace(prefix('198.19.4.6/31'));
    expect([p31.count, p31.at(0), p31.at(1)]).toEqual([2, '198.19.4.6', '198.19.4.7']);
    const p32 = addressSpace(prefix('198.19.4.9/32'));
    expect([p32.count, p32.at(0)]).toEqual([1, '198.19.4.9']);
  });

  it('gives every address of an IPv6 prefix, in canonical form', () => {
    const s = addressSpace(prefix('fd00:198:18:0::ff00/120'));
    expect(s.count).toBe(256);
    expect(s.at(0)).toBe('fd00:198:18::ff00');
    expect(s.at(255)).toBe('fd00:198:18::ffff');
    const whole = addressSpace(prefix('fd00:198:18::/112'));
    expect([whole.count, whole.at(0), whole.at(65_535)]).toEqual([
      65_536,
      'fd00:198:18::',
      'fd00:198:18::ffff',
    ]);
  });
});
