/**
 * `from`/`to` of `GET /v1/results`: ns since the epoch or ISO 8601, and an ISO time means the same instant on every
 * server, whatever its time zone.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ResultQuerySchema } from '../../../contract/index.js';

const from = (value: string) => {
  const result = v.safeParse(ResultQuerySchema, { from: value });
  return result.success ? result.output.from : result.issues[0]!.message;
};
const FORMS = 'must be an ISO 8601 time (2026-01-02T03:04:05Z) or nanoseconds since the epoch';

describe('results time bounds', () => {
  it('take ns, a date (midnight UTC) or a time with its offset', () => {
    expect(from('1767323045000000000')).toBe('1767323045000000000');
    expect(from('2026-01-02T03:04:05Z')).toBe('1767323045000000000');
    expect(from('2026-01-02T04:04:05.5+01:00')).toBe('1767323045500000000');
    expect(from('2026-01-02')).toBe('1767312000000000000');
  });

  it.each([
    ['a time without an offset (the server would read it in its own time zone)', '2026-01-02T03:04:05'],
    ['a US date', '12/31/2025'],
    ['words Date.parse happens to read', 'March 7'],
    ['a date that does not exist', '2026-13-01'],
    ['neither form', 'yesterday'],
  ])('refuse %s, naming both forms', (_what, value) => {
    expect(from(value)).toBe(FORMS);
  });
});
