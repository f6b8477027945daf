import { describe, expect, it } from 'vitest';
import {
  type Column,
  details,
  formatLabels,
  formatRtime,
  formatRtt,
  orEmpty,
  table,
} from '../../../cli/format.js';

describe('table', () => {
  const columns: Column<{ name: string; n: number }>[] = [
    { heading: 'NAME', cell: (r) => r.name },
    { heading: 'N', cell: (r) => String(r.n), align: 'right' },
    { heading: 'LAST', cell: () => '' },
  ];

  it('aligns columns to the widest cell, right-aligns numbers and trims line ends', () => {
    expect(
      table(columns, [
        { name: 'a', n: 1000 },
        { name: 'longer', n: 7 },
      ]),
    ).toBe(['NAME       N  LAST', 'a       1000', 'longer     7'].join('\n'));
  });

  it('prints only the heading for no rows', () => {
    expect(table(columns, [])).toBe('NAME  N  LAST');
  });

  it('counts code points, so µ and – do not shift columns', () => {
    const out = table(
      [
        { heading: 'X', cell: (r: string) => r },
        { heading: 'Y', cell: () => 'y' },
      ],
      ['µµ', 'ab'],
    );
    expect(out.split('\n')).toEqual(['X   Y', 'µµ  y', 'ab  y']);
  });

  it('escapes newlines and tabs so one row stays one line', () => {
    expect(table([{ heading: 'NAME', cell: (r: string) => r }], ['a\nb\tc'])).toBe('NAME\na\\nb\\tc');
  });
});

describe('details', () => {
  it('aligns values after the longest key', () => {
    expect(
      details([
        ['id', 'src_1'],
        ['last seen', 'never'],
      ]),
    ).toBe('id:        src_1\nlast seen: never');
  });
});

describe('value formatting', () => {
  it('shows rtime ns as ISO 8601 with microseconds, truncating below', () => {
    expect(formatRtime('1795000000123456789')).toBe('2026-11-18T11:06:40.123456Z');
    expect(formatRtime('1795000000000000999')).toBe('2026-11-18T11:06:40.000000Z');
    expect(formatRtime('1795000000999999999')).toBe('2026-11-18T11:06:40.999999Z');
    expect(formatRtime('0')).toBe('1970-01-01T00:00:00.000000Z');
  });

  it('shows rtt µs as ms with µs precision', () => {
    expect(formatRtt(41)).toBe('0.041 ms');
    expect(formatRtt(41.4)).toBe('0.041 ms');
    expect(formatRtt(12_345.678)).toBe('12.346 ms');
    expect(formatRtt(1234.5)).toBe('1.235 ms');
    expect(formatRtt(999.5)).toBe('1.000 ms');
    expect(formatRtt(3_600_000_000)).toBe('3600000.000 ms');
    expect(formatRtt(0)).toBe('0.000 ms');
    expect(formatRtt(null)).toBe('-');
  });

  it('shows labels sorted as k=v, and blanks as -', () => {
    expect(formatLabels({ rack: '2', dc: 'ams' })).toBe('dc=ams,rack=2');
    expect(formatLabels({})).toBe('-');
    expect([orEmpty(null), orEmpty(undefined), orEmpty(''), orEmpty(0), orEmpty(false)]).toEqual([
      '-',
      '-',
      '-',
      '0',
      'false',
    ]);
  });
});
