/** The stats contract: steps, label filters, time bounds and retention settings, parsed or refused by name. */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION,
  formatDuration,
  parseDuration,
  parseRetention,
  RetentionError,
  StatsQuerySchema,
  SummaryQuerySchema,
} from '../../../contract/index.js';

function issues(schema: v.GenericSchema, input: unknown) {
  const parsed = v.safeParse(schema, input);
  if (parsed.success) throw new Error(`expected issues, parsed ${JSON.stringify(parsed.output)}`);
  return parsed.issues.map((i) => ({
    path: i.path?.map((p) => String(p.key)).join('.'),
    message: i.message,
  }));
}

describe('durations', () => {
  it('read units and bare seconds, and write back in the largest unit', () => {
    expect(['90s', '5m', '1h', '1d', '2w', '2y', '300'].map(parseDuration)).toEqual([
      90, 300, 3600, 86400, 1_209_600, 63_072_000, 300,
    ]);
    expect(['', 'm', '1.5h', '-1m', '5 minutes', '1M'].map(parseDuration)).toEqual(Array(6).fill(undefined));
    expect([60, 300, 3600, 86400, 90, 7200].map(formatDuration)).toEqual([
      '1m',
      '5m',
      '1h',
      '1d',
      '90s',
      '2h',
    ]);
  });
});

describe('stats query', () => {
  it('takes a step as a duration or seconds, both bounds in either form, and label filters', () => {
    const q = v.parse(StatsQuerySchema, {
      destination: 'dst_a',
      from: '2026-01-02T00:00:00Z',
      to: '1767323045000000000',
      step: '5m',
      label: ['dc:ams1', 'role:edge:1'],
    });
    expect(q).toEqual({
      destination: 'dst_a',
      from: '1767312000000000000',
      to: '1767323045000000000',
      step: 300,
      label: { dc: 'ams1', role: 'edge:1' },
    });
    expect(v.parse(StatsQuerySchema, { step: '3600', label: 'dc:x' })).toEqual({
      step: 3600,
      label: { dc: 'x' },
    });
    expect(v.parse(StatsQuerySchema, {})).toEqual({});
  });

  it('refuses a bad step naming the rule', () => {
    expect(issues(StatsQuerySchema, { step: 'soon' })).toEqual([
      { path: 'step', message: 'must be a duration like 1m, 5m, 1h, 1d or seconds' },
    ]);
    expect(issues(StatsQuerySchema, { step: '30s' })[0]).toEqual({
      path: 'step',
      message: 'must be at least 1m (the finest rollup)',
    });
    expect(issues(StatsQuerySchema, { step: '90s' })[0]!.message).toBe('must be a whole number of minutes');
    expect(issues(StatsQuerySchema, { step: '2y' })[0]!.message).toBe('must be at most 366d');
  });

  it('refuses from after to on `from`, a bad bound, a bad label and unknown fields', () => {
    expect(issues(StatsQuerySchema, { from: '2026-01-02', to: '2026-01-01' })).toEqual([
      { path: 'from', message: 'must not be after to' },
    ]);
    expect(issues(StatsQuerySchema, { to: 'yesterday' })[0]!.path).toBe('to');
    expect(issues(StatsQuerySchema, { label: 'nocolon' })[0]!.path).toBe('label');
    expect(issues(StatsQuerySchema, { limit: '5' })[0]!.path).toBe('limit');
  });
});

describe('summary query', () => {
  it('defaults to the last hour sorted by loss and refuses other windows', () => {
    expect(v.parse(SummaryQuerySchema, {})).toEqual({ window: '1h', sort: 'loss' });
    expect(issues(SummaryQuerySchema, { window: '2h' })).toEqual([
      { path: 'window', message: 'must be one of 5m, 1h, 24h' },
    ]);
    expect(issues(SummaryQuerySchema, { sort: 'max' })[0]!.path).toBe('sort');
  });
});

describe('retention', () => {
  it('keeps raw 14 d, minute 60 d, hour 2 y and day forever unless told', () => {
    expect(parseRetention('')).toEqual(DEFAULT_RETENTION);
    expect(DEFAULT_RETENTION).toEqual({ raw: 1_209_600, minute: 5_184_000, hour: 63_072_000, day: null });
  });

  it('overrides the kinds named, forever included', () => {
    expect(parseRetention('raw=7d, minute=8w,hour=forever,day=10y')).toEqual({
      raw: 604_800,
      minute: 4_838_400,
      hour: null,
      day: 315_360_000,
    });
  });

  it('refuses unknown kinds, repeats, short or malformed durations with a named error', () => {
    for (const [text, rule] of [
      ['weekly=1d', 'kind one of raw, minute, hour, day'],
      ['raw=1d,raw=2d', 'raw is given twice'],
      ['raw=1h', 'raw must be a duration of at least 1d'],
      ['minute=soon', 'minute must be a duration of at least 1d'],
      ['raw', 'kind=duration'],
    ] as const) {
      expect(() => parseRetention(text), text).toThrow(RetentionError);
      expect(() => parseRetention(text), text).toThrow(rule);
    }
  });
});
