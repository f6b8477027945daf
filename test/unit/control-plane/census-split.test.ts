/**
 * Split censuses through `app.request()` on a real SQLite store: each source's agent config carries its slice,
 * sized by the pps budget its agent reports with the config poll; the slices of the sources alive are disjoint and
 * cover the census; a held poll learns of a new source within the re-check; a silent source's slice goes to the
 * others; a source whose every probe fails is left out (its config says so, the others share its addresses) and
 * let back in on probation; a slice report with answers outside it, or members without its source, is refused,
 * naming the field.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig, CensusAssignedSlice, CensusSliceAssignment } from '../../../contract/index.js';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

const SILENT_MS = 60_000;

describe('split census config', () => {
  let f: Fixture;
  let now: number;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  let census: { id: string };

  beforeEach(async () => {
    now = Date.parse('2026-12-06T01:00:00Z');
    f = await makeFixture({
      clock: { now: () => new Date(now) },
      census: { silentAfterMs: SILENT_MS, recheckMs: 50 },
    });
    a = await f.source('a');
    b = await f.source('b');
    census = await f.destination({
      address: '198.18.0.0/24',
      sources: [a.id, b.id],
      census: { split: true, rate: 1000 },
    });
  });
  afterEach(() => f.close());

  const poll = async (who: { token: string }, query: string, etag?: string) => {
    const res = await f.request('GET', `/v1/agent/config?${query}`, {
      token: who.token,
      ...(etag ? { headers: { 'if-none-match': `"${etag}"` } } : {}),
    });
    return {
      status: res.status,
      config: res.status === 200 ? ((await res.json()) as AgentConfig) : undefined,
    };
  };
  const assignmentOf = (config: AgentConfig | undefined): CensusSliceAssignment | undefined =>
    config?.censusSlices?.[census.id];
  const sliceOf = (config: AgentConfig | undefined): CensusAssignedSlice | undefined => {
    const held = assignmentOf(config);
    return held && 'from' in held ? held : undefined;
  };

  it('slices in proportion to the reported budgets, disjoint and covering the census', async () => {
    const first = await poll(a, 'pps=3000');
    // b was never heard from: a has it all.
    expect(sliceOf(first.config)).toEqual({ from: 0, to: 254, of: 254, index: 0, count: 1, members: [a.id] });
    const fromB = sliceOf((await poll(b, 'pps=1000')).config)!;
    const fromA = sliceOf((await poll(a, 'pps=3000')).config)!;
    expect(fromA.count).toBe(2);
    expect(fromB.count).toBe(2);
    expect(fromA.members).toEqual([a.id, b.id].sort());
    expect(fromB.members).toEqual(fromA.members);
    const [lo, hi] = [fromA, fromB].sort((x, y) => x.from - y.from) as [
      CensusAssignedSlice,
      CensusAssignedSlice,
    ];
    expect([lo.from, lo.to === hi.from, hi.to]).toEqual([0, true, 254]);
    expect(Math.abs(fromA.to - fromA.from - 190.5)).toBeLessThan(1);
    expect((await f.store.getSource(b.id))?.pps).toBe(1000);
    // Nothing changed: the same slice again.
    const again = await poll(a, 'pps=3000');
    expect(sliceOf(again.config)).toEqual(fromA);
  });

  it('a held poll answers within the re-check once another source is alive', async () => {
    const first = await poll(a, 'pps=2000');
    expect(sliceOf(first.config)?.count).toBe(1);
    const held = poll(a, 'pps=2000&wait=10', first.config!.version);
    await poll(b, 'pps=2000');
    const started = performance.now();
    const answer = await held;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(answer.status).toBe(200);
    expect(sliceOf(answer.config)).toMatchObject({ count: 2 });
  });

  it('a silent source’s slice goes to the others', async () => {
    await poll(b, 'pps=1000');
    const both = await poll(a, 'pps=1000');
    expect(sliceOf(both.config)?.count).toBe(2);
    now += SILENT_MS / 2;
    expect(sliceOf((await poll(a, 'pps=1000')).config)?.count).toBe(2);
    now += SILENT_MS / 2 + 1;
    expect(sliceOf((await poll(a, 'pps=1000')).config)).toEqual({
      from: 0,
      to: 254,
      of: 254,
      index: 0,
      count: 1,
      members: [a.id],
    });
  });

  /** Posts `who`'s report of its slice of the pass at slot `i`, as its agent does. */
  const report = async (
    who: { token: string },
    i: number,
    held: CensusAssignedSlice,
    { failing = false }: { failing?: boolean } = {},
  ) => {
    const slot = 1_763_780_000_000_000_000n + BigInt(i) * 60_000_000_000n;
    const size = held.to - held.from;
    const res = await f.request('POST', '/v1/agent/census/passes', {
      token: who.token,
      body: {
        destination: census.id,
        prefix: '198.18.0.0/24',
        start: slot.toString(),
        end: (slot + 1_000_000_000n).toString(),
        addresses: size,
        probed: size,
        answered: 0,
        retries: 0,
        errors: failing ? size : 0,
        skipped: 0,
        rate: 1000,
        slice: { slot: slot.toString(), from: held.from, to: held.to, of: held.of, members: held.members },
        answers: [],
      },
    });
    expect(res.status).toBe(200);
  };

  it('leaves out a source whose every probe fails, gives its addresses to the others, and lets it back on probation', async () => {
    await poll(b, 'pps=1000');
    let sliceA = sliceOf((await poll(a, 'pps=1000')).config)!;
    let sliceB = sliceOf((await poll(b, 'pps=1000')).config)!;
    expect([sliceA.count, sliceB.count]).toEqual([2, 2]);
    // b's agent polls on, but every probe of its slice fails (its raw socket cannot send), two passes in a row.
    for (const i of [0, 1]) {
      await report(a, i, sliceA);
      await report(b, i, sliceB, { failing: true });
    }
    expect(assignmentOf((await poll(b, 'pps=1000')).config)).toEqual({
      leftOut: true,
      failed: 2,
      probationIn: 2,
    });
    sliceA = sliceOf((await poll(a, 'pps=1000')).config)!;
    expect(sliceA).toEqual({ from: 0, to: 254, of: 254, index: 0, count: 1, members: [a.id] });
    // a covers the whole census for the next two passes; then b is given a slice again, on probation.
    await report(a, 2, sliceA);
    expect(assignmentOf((await poll(b, 'pps=1000')).config)).toEqual({
      leftOut: true,
      failed: 2,
      probationIn: 1,
    });
    await report(a, 3, sliceA);
    sliceB = sliceOf((await poll(b, 'pps=1000')).config)!;
    expect(sliceB.count).toBe(2);
    // Its agent has recovered: one delivered pass and it is a full member.
    sliceA = sliceOf((await poll(a, 'pps=1000')).config)!;
    await report(a, 4, sliceA);
    await report(b, 4, sliceB);
    await report(a, 5, sliceA);
    expect(sliceOf((await poll(b, 'pps=1000')).config)).toEqual(sliceB);
    const [latest] = await f.store.census.listPasses(census.id, 1);
    expect(latest).toMatchObject({ members: [a.id, b.id].sort(), missing: [b.id], complete: false });
  });

  it('refuses a slice report whose members leave out its source or name a stranger', async () => {
    const start = 1_763_780_000_000_000_000n;
    const res = await f.request('POST', '/v1/agent/census/passes', {
      token: a.token,
      body: {
        destination: census.id,
        prefix: '198.18.0.0/24',
        start: start.toString(),
        end: start.toString(),
        addresses: 127,
        probed: 127,
        answered: 0,
        retries: 0,
        errors: 0,
        skipped: 0,
        rate: 1000,
        slice: { slot: start.toString(), from: 0, to: 127, of: 254, members: [b.id] },
      },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues).toEqual([
      { path: 'slice.members', message: `must include this source (${a.id})` },
    ]);
    // A member that does not probe the census (any more) is not kept: its absence must not count against it.
    const c = await f.source('c');
    const stranger = await f.request('POST', '/v1/agent/census/passes', {
      token: a.token,
      body: {
        destination: census.id,
        prefix: '198.18.0.0/24',
        start: start.toString(),
        end: start.toString(),
        addresses: 127,
        probed: 127,
        answered: 0,
        retries: 0,
        errors: 0,
        skipped: 0,
        rate: 1000,
        slice: { slot: start.toString(), from: 0, to: 127, of: 254, members: [a.id, c.id] },
      },
    });
    expect(stranger.status).toBe(200);
    expect(await f.store.census.listPasses(census.id, 10)).toMatchObject([
      { sources: [a.id], members: [a.id], missing: [] },
    ]);
  });

  it('refuses a bad pps, and a slice report with answers outside its slice', async () => {
    const bad = await f.request('GET', '/v1/agent/config?pps=0', { token: a.token });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).issues).toEqual([{ path: 'pps', message: 'must be at least 1' }]);
    const start = 1_763_780_000_000_000_000n;
    const res = await f.request('POST', '/v1/agent/census/passes', {
      token: a.token,
      body: {
        destination: census.id,
        prefix: '198.18.0.0/24',
        start: start.toString(),
        end: (start + 1_000_000_000n).toString(),
        addresses: 127,
        probed: 127,
        answered: 1,
        retries: 0,
        errors: 0,
        skipped: 0,
        rate: 1000,
        slice: { slot: start.toString(), from: 0, to: 127, of: 254 },
        answers: [['198.18.0.200', 5]],
      },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues).toEqual([
      { path: 'answers', message: 'must lie in the slice; 198.18.0.200 do not' },
    ]);
    expect(await f.store.census.listPasses(census.id, 10)).toEqual([]);
  });
});
