/**
 * Slices of a split census (control-plane/census/slices.ts), checked against what a slicing must be: disjoint,
 * covering every address exactly once, sized in proportion to the budgets (each within one address of its exact
 * share), and the same slices for the same inputs in any order.
 */
import { describe, expect, it } from 'vitest';
import { assignSlices, type SliceMember } from '../../../control-plane/census/slices.js';

/** Every address's owner, and the addresses owned twice. */
function owners(
  addresses: number,
  members: SliceMember[],
): { owner: (string | undefined)[]; twice: number[] } {
  const owner = new Array<string | undefined>(addresses).fill(undefined);
  const twice: number[] = [];
  for (const [id, s] of assignSlices(addresses, members)) {
    expect(s.of).toBe(addresses);
    for (let i = s.from; i < s.to; i++) {
      if (owner[i] !== undefined) twice.push(i);
      owner[i] = id;
    }
  }
  return { owner, twice };
}

describe('assignSlices', () => {
  const cases: [number, SliceMember[]][] = [
    [
      65_534,
      [
        { id: 'a', pps: 20_000 },
        { id: 'b', pps: 20_000 },
      ],
    ],
    [
      65_534,
      [
        { id: 'b', pps: 1 },
        { id: 'a', pps: 3 },
      ],
    ],
    [
      65_536,
      [
        { id: 'x', pps: 7 },
        { id: 'y', pps: 11 },
        { id: 'z', pps: 13 },
      ],
    ],
    [
      254,
      [
        { id: 's1', pps: 10_000_000 },
        { id: 's2', pps: 1 },
      ],
    ],
    [
      3,
      [
        { id: 'a', pps: 5 },
        { id: 'b', pps: 5 },
        { id: 'c', pps: 5 },
        { id: 'd', pps: 5 },
      ],
    ],
    [1, [{ id: 'only', pps: 100 }]],
  ];

  it.each(cases)('%i addresses: disjoint slices cover every address exactly once', (addresses, members) => {
    const { owner, twice } = owners(addresses, members);
    expect(twice).toEqual([]);
    expect(owner.flatMap((o, i) => (o === undefined ? [i] : []))).toEqual([]);
  });

  it.each(cases)('%i addresses: each slice is within one address of its pps share', (addresses, members) => {
    const total = members.reduce((n, m) => n + m.pps, 0);
    const slices = assignSlices(addresses, members);
    for (const m of members) {
      const s = slices.get(m.id)!;
      expect(Math.abs(s.to - s.from - (addresses * m.pps) / total)).toBeLessThan(1);
    }
  });

  it('orders slices by source id, numbered index of count', () => {
    const slices = assignSlices(100, [
      { id: 'c', pps: 1 },
      { id: 'a', pps: 1 },
      { id: 'b', pps: 2 },
    ]);
    expect(Object.fromEntries(slices)).toEqual({
      a: { from: 0, to: 25, of: 100, index: 0, count: 3 },
      b: { from: 25, to: 75, of: 100, index: 1, count: 3 },
      c: { from: 75, to: 100, of: 100, index: 2, count: 3 },
    });
  });

  it('is stable: the same sources and budgets, in any order, give the same slices', () => {
    const members = [
      { id: 'src-b', pps: 3000 },
      { id: 'src-a', pps: 5000 },
      { id: 'src-c', pps: 1234 },
    ];
    const first = Object.fromEntries(assignSlices(65_534, members));
    expect(Object.fromEntries(assignSlices(65_534, [...members].reverse()))).toEqual(first);
    expect(Object.fromEntries(assignSlices(65_534, [members[1]!, members[2]!, members[0]!]))).toEqual(first);
  });

  it('a source leaving gives the rest the whole census', () => {
    const both = assignSlices(65_534, [
      { id: 'a', pps: 20_000 },
      { id: 'b', pps: 20_000 },
    ]);
    expect(both.get('a')).toEqual({ from: 0, to: 32_767, of: 65_534, index: 0, count: 2 });
    expect(Object.fromEntries(assignSlices(65_534, [{ id: 'b', pps: 20_000 }]))).toEqual({
      b: { from: 0, to: 65_534, of: 65_534, index: 0, count: 1 },
    });
  });

  it('gives nothing to nobody, and counts a source listed twice once', () => {
    expect(assignSlices(100, []).size).toBe(0);
    const twice = assignSlices(10, [
      { id: 'a', pps: 1 },
      { id: 'a', pps: 1 },
    ]);
    expect(Object.fromEntries(twice)).toEqual({ a: { from: 0, to: 10, of: 10, index: 0, count: 1 } });
  });
});
