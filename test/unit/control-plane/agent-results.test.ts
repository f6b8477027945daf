import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, type Fixture, makeFixture, resultFor } from './fixture.js';

describe('POST /v1/agent/results', () => {
  let f: Fixture;
  let a: Awaited<ReturnType<Fixture['source']>>;
  let dst: string;
  beforeEach(async () => {
    f = await makeFixture();
    a = await f.source('a', { location: 31, host: 32 });
    dst = (await f.destination({ address: '198.18.0.1' })).id;
  });
  afterEach(() => f.close());

  const post = (token: string, body: unknown, headers: Record<string, string> = {}) =>
    f.request('POST', '/v1/agent/results', { token, body, headers });
  const stored = async () => (await f.store.listResults({ limit: 10_000 })).results;

  it('stores a batch stamped with the source of the token, and the same batch twice only once', async () => {
    const batch = { results: [resultFor(dst, 1), resultFor(dst, 2), resultFor(dst, 3)] };
    const res = await post(a.token, batch);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stored: 3, duplicates: 0 });
    const again = await post(a.token, batch);
    expect(await again.json()).toEqual({ stored: 0, duplicates: 3 });
    const rows = await stored();
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatchObject({ source: a.id, rsite: 31, rhost: 32 });
    expect((await f.store.getSource(a.id))?.lastSeen).not.toBeNull();
  });

  it('never takes the source, rsite or rhost from the body', async () => {
    for (const field of ['source', 'rsite', 'rhost']) {
      const res = await post(a.token, {
        results: [{ ...resultFor(dst, 1), [field]: field === 'source' ? 'src_other' : 1 }],
      });
      expect(res.status, field).toBe(400);
      expect((await errorOf(res)).issues).toContainEqual({
        path: `results.0.${field}`,
        message: 'is not a known field',
      });
    }
    expect(await stored()).toEqual([]);
  });

  it('refuses the whole batch for an unknown destination or a bad field, storing nothing', async () => {
    const cases: [object, string, string][] = [
      [resultFor('dst_unknown', 9), 'results.2.destination', 'destination dst_unknown does not exist'],
      [resultFor(dst, 9, { rtt: -1 }), 'results.2.rtt', 'must be at least 0'],
      [resultFor(dst, 9, { rseq: 65_536 }), 'results.2.rseq', 'must be at most 65535'],
      [
        resultFor(dst, 9, { rtime: '12.5' }),
        'results.2.rtime',
        'must be a decimal string of nanoseconds since the epoch',
      ],
      [
        resultFor(dst, 9, { rtime: 1 }),
        'results.2.rtime',
        'must be a decimal string of nanoseconds since the epoch',
      ],
      [
        resultFor(dst, 9, { status: 'lost' }),
        'results.2.status',
        'must be one of reply, timeout, ttl-exceeded, unreachable, reset, error',
      ],
      [resultFor(dst, 9, { target: 'example.net' }), 'results.2.target', 'must be an IPv4 or IPv6 address'],
      [resultFor(dst, 9, { status: 'timeout' }), 'results.2', 'a timeout has rtt and address null'],
    ];
    for (const [bad, path, message] of cases) {
      const res = await post(a.token, { results: [resultFor(dst, 1), resultFor(dst, 2), bad] });
      expect(res.status, path).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe('bad_request');
      expect(err.issues, JSON.stringify(bad)).toContainEqual({ path, message });
    }
    expect(await stored()).toEqual([]);
  });

  it("refuses results for another source's destination with 403 naming it", async () => {
    const b = await f.source('b');
    const bOnly = (await f.destination({ address: '198.18.0.2', sources: [b.id] })).id;
    const res = await post(a.token, { results: [resultFor(dst, 1), resultFor(bOnly, 1)] });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).issues).toEqual([
      { path: 'results.1.destination', message: `${bOnly} is not probed by this source` },
    ]);
    expect(await stored()).toEqual([]);
    // The owner may; and an inactive destination still takes late results.
    await f.request('PATCH', `/v1/destinations/${bOnly}`, { body: { active: false } });
    expect((await post(b.token, { results: [resultFor(bOnly, 1)] })).status).toBe(200);
  });

  it('takes results a source probed before its destination was moved to another source, and no others', async () => {
    const b = await f.source('b');
    const moved = await f.destination({ address: '198.18.0.2', sources: [a.id] });
    const never = await f.destination({ address: '198.18.0.3', sources: [b.id] });
    const createdMs = Date.parse((await f.store.getDestination(moved.id))!.createdAt);
    // Probed half a millisecond after both destinations were created, spooled while the agent was cut off...
    const rtime = (BigInt(createdMs) * 1_000_000n + 500_000n).toString();
    await untilClockPasses(createdMs);
    // ...and meanwhile the operator moved `moved` to b.
    await f.request('PATCH', `/v1/destinations/${moved.id}`, { body: { sources: [b.id] } });

    const late = await post(a.token, { results: [resultFor(moved.id, 1, { rtime })] });
    expect(late.status).toBe(200);
    // A destination that never concerned a, already there at rtime and unchanged since: still refused.
    const foreign = await post(a.token, { results: [resultFor(never.id, 2, { rtime })] });
    expect(foreign.status).toBe(403);
    expect((await errorOf(foreign)).issues).toEqual([
      { path: 'results.0.destination', message: `${never.id} is not probed by this source` },
    ]);
    // Nor does the moved one take what a probed after the move, or before it existed.
    const after = (
      BigInt(Date.parse((await f.store.getDestination(moved.id))!.updatedAt)) * 1_000_000n
    ).toString();
    const before = (BigInt(createdMs - 1) * 1_000_000n).toString();
    for (const t of [after, before]) {
      expect((await post(a.token, { results: [resultFor(moved.id, 3, { rtime: t })] })).status, t).toBe(403);
    }
    expect((await stored()).map((r) => [r.destination, r.source, r.rseq])).toEqual([[moved.id, a.id, 1]]);
  });

  it('sees changes to destinations and sources at once (nothing stale between batches)', async () => {
    const b = await f.source('b');
    expect((await post(a.token, { results: [resultFor(dst, 1)] })).status).toBe(200);
    await f.request('PATCH', `/v1/destinations/${dst}`, { body: { sources: [b.id] } });
    expect((await post(a.token, { results: [resultFor(dst, 2)] })).status).toBe(403);
    await f.request('PATCH', `/v1/destinations/${dst}`, { body: { sources: [] } });
    await f.request('PATCH', `/v1/sources/${a.id}`, { body: { location: 77 } });
    expect((await post(a.token, { results: [resultFor(dst, 3)] })).status).toBe(200);
    const rsites = (await stored()).map((r) => [r.rseq, r.rsite]);
    expect(rsites).toEqual([
      [3, 77],
      [1, 31],
    ]);
    await f.request('DELETE', `/v1/destinations/${dst}`);
    const gone = await post(a.token, { results: [resultFor(dst, 4)] });
    expect(gone.status).toBe(400);
    expect((await errorOf(gone)).issues?.[0]?.path).toBe('results.0.destination');
  });

  it('accepts a gzip body and refuses broken gzip', async () => {
    const batch = { results: [resultFor(dst, 1), resultFor(dst, 2)] };
    const res = await post(a.token, gzipSync(JSON.stringify(batch)), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stored: 2, duplicates: 0 });
    const broken = await post(a.token, new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4]), {
      'content-encoding': 'gzip',
    });
    expect(broken.status).toBe(400);
    expect((await errorOf(broken)).issues).toEqual([{ path: 'body', message: 'is not valid gzip' }]);
    const other = await post(a.token, JSON.stringify(batch), { 'content-encoding': 'br' });
    expect(other.status).toBe(415);
  });

  it('answers 413 past 2 MB, counted after gunzip (a gzip bomb is cut short)', async () => {
    const filler = 'x'.repeat(512);
    const big = JSON.stringify({
      results: Array.from({ length: 4100 }, (_, i) => resultFor(dst, i, { target: '198.18.0.1', x: filler })),
    });
    expect(big.length).toBeGreaterThan(2 * 1024 * 1024);
    const plain = await post(a.token, big);
    expect(plain.status).toBe(413);
    expect((await errorOf(plain)).code).toBe('payload_too_large');
    // 64 MB of zeros compresses to ~64 KB: refused once 2 MB have been inflated.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(100_000);
    const res = await post(a.token, bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(await stored()).toEqual([]);
  });

  it('checks a declared Content-Length before reading, and still counts what a gzip body inflates to', async () => {
    const tooLong = await post(a.token, JSON.stringify({ results: [] }), {
      'content-length': String(3 * 1024 * 1024),
    });
    expect(tooLong.status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
    const declared = await post(a.token, bomb, {
      'content-encoding': 'gzip',
      'content-length': String(bomb.length),
    });
    expect(declared.status).toBe(413);
    const batch = gzipSync(JSON.stringify({ results: [resultFor(dst, 1)] }));
    const fine = await post(a.token, batch, {
      'content-encoding': 'gzip',
      'content-length': String(batch.length),
    });
    expect(await fine.json()).toEqual({ stored: 1, duplicates: 0 });
  });

  it('refuses more than 5,000 results', async () => {
    const results = Array.from({ length: 5001 }, (_, i) =>
      resultFor(dst, i % 65_536, { rtime: `${1_700_000_000_000_000_000n + BigInt(i)}` }),
    );
    const res = await post(a.token, { results });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues).toContainEqual({
      path: 'results',
      message: 'must hold at most 5000 results',
    });
    expect(await stored()).toEqual([]);
  });

  it('answers 401 for the token of a deleted source', async () => {
    await f.request('DELETE', `/v1/sources/${a.id}`);
    expect((await post(a.token, { results: [resultFor(dst, 1)] })).status).toBe(401);
  });
});

/** Returns once the wall clock has moved past `ms` (a few milliseconds at most; bounded). */
async function untilClockPasses(ms: number) {
  const deadline = performance.now() + 1_000;
  while (Date.now() <= ms + 1) {
    if (performance.now() > deadline) throw new Error('the clock did not move');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
