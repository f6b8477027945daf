import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TIMED_OUT } from '../../helpers/factories.js';
import { errorOf, type Fixture, makeFixture, resultFor } from './fixture.js';

describe('GET /v1/results', () => {
  let f: Fixture;
  let a: Awaited<ReturnType<Fixture['source']>>;
  let b: Awaited<ReturnType<Fixture['source']>>;
  let d1: string;
  let d2: string;
  const T0 = 1_763_780_000_000_000_000n;
  beforeEach(async () => {
    f = await makeFixture();
    a = await f.source('a');
    b = await f.source('b');
    d1 = (await f.destination({ address: '198.18.0.1' })).id;
    d2 = (await f.destination({ address: '198.18.0.2' })).id;
    // 120 results from a (d1/d2 alternating, one every ms), 30 from b to d1, 10 of them timeouts.
    const timeout = TIMED_OUT;
    const mine = Array.from({ length: 120 }, (_, i) =>
      resultFor(i % 2 ? d2 : d1, i, { rtime: `${T0 + BigInt(i) * 1_000_000n}` }),
    );
    const theirs = Array.from({ length: 30 }, (_, i) =>
      resultFor(d1, i, { rtime: `${T0 + BigInt(i) * 1_000_000n}`, ...(i < 10 ? timeout : {}) }),
    );
    for (const [token, results] of [
      [a.token, mine],
      [b.token, theirs],
    ] as const) {
      const res = await f.request('POST', '/v1/agent/results', { token, body: { results } });
      expect(res.status).toBe(200);
    }
  });
  afterEach(() => f.close());

  type Page = {
    results: { rtime: string; source: string; destination: string; status: string }[];
    cursor: string | null;
  };
  const get = async (query: string) => {
    const res = await f.request('GET', `/v1/results?${query}`);
    expect(res.status, query).toBe(200);
    return (await res.json()) as Page;
  };
  async function walk(query: string) {
    const all: Page['results'] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page: Page = await get(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      all.push(...page.results);
      if (!page.cursor) return all;
      cursor = page.cursor;
    }
    throw new Error('too many pages');
  }

  it('pages newest first with a cursor, without gaps or repeats', async () => {
    const first = await get('limit=7');
    expect(first.results).toHaveLength(7);
    expect(first.cursor).toEqual(expect.any(String));
    const all = await walk('limit=7');
    expect(all).toHaveLength(150);
    expect(new Set(all.map((r) => `${r.source}${r.destination}${r.rtime}`)).size).toBe(150);
    const times = all.map((r) => BigInt(r.rtime));
    expect(times).toEqual([...times].sort((x, y) => (x < y ? 1 : x > y ? -1 : 0)));
    expect((await get('')).results).toHaveLength(100); // the default page
  });

  it('filters by destination, source, status and from/to (ns or ISO 8601)', async () => {
    expect(await walk(`destination=${d2}&limit=50`)).toHaveLength(60);
    expect(await walk(`source=${b.id}&limit=50`)).toHaveLength(30);
    expect((await walk('status=timeout&limit=50')).every((r) => r.status === 'timeout')).toBe(true);
    expect(await walk('status=timeout&limit=50')).toHaveLength(10);
    const from = T0 + 100n * 1_000_000n;
    expect(await walk(`from=${from}&limit=50`)).toHaveLength(20);
    const iso = new Date(Number((T0 + 20n * 1_000_000n) / 1_000_000n)).toISOString();
    expect(await walk(`to=${encodeURIComponent(iso)}&source=${a.id}&limit=50`)).toHaveLength(21);
  });

  it('streams every matching page as NDJSON', async () => {
    const res = await f.request('GET', `/v1/results?format=ndjson&limit=16&source=${a.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(120);
    const rows = lines.map((l) => JSON.parse(l) as { source: string; rtime: string });
    expect(rows.every((r) => r.source === a.id)).toBe(true);
    expect(rows[0]!.rtime).toBe(`${T0 + 119n * 1_000_000n}`);
  });

  it('refuses a bad query or a foreign cursor with 400 naming the parameter', async () => {
    for (const [query, path] of [
      ['limit=0', 'limit'],
      ['limit=10001', 'limit'],
      ['limit=ten', 'limit'],
      ['status=lost', 'status'],
      ['from=yesterday', 'from'],
      ['format=csv', 'format'],
      ['colour=red', 'colour'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['cursor=bm90LWEtY3Vyc29y&format=ndjson', 'cursor'],
    ]) {
      const res = await f.request('GET', `/v1/results?${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).issues?.[0]?.path, query).toBe(path);
    }
    // A time that is neither form is told both forms.
    const res = await f.request('GET', '/v1/results?from=yesterday');
    expect((await errorOf(res)).issues?.[0]?.message).toBe(
      'must be an ISO 8601 time (2026-01-02T03:04:05Z) or nanoseconds since the epoch',
    );
  });

  it('is not open to agent tokens: an agent cannot read any source, its own included', async () => {
    for (const query of ['', `source=${b.id}`, `source=${a.id}`]) {
      expect((await f.request('GET', `/v1/results?${query}`, { token: a.token })).status).toBe(403);
    }
    expect((await f.request('GET', '/v1/sources', { token: a.token })).status).toBe(403);
    expect((await f.request('GET', `/v1/sources/${b.id}`, { token: a.token })).status).toBe(403);
  });
});
