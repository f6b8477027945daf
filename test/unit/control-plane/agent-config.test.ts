import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../../control-plane/store/store.js';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

/** Wraps a store so a test can await the moment a long-poll starts waiting (subscribes, or polls). */
function observed(push: boolean) {
  let waiting: (() => void)[] = [];
  const waitingNow = () => {
    for (const resolve of waiting) resolve();
    waiting = [];
  };
  let versionReads = 0;
  const wrap = (store: Store): Store => ({
    ...store,
    kind: store.kind,
    onChange: push
      ? (listener) => {
          const off = store.onChange!(listener);
          waitingNow();
          return off;
        }
      : undefined,
    async configVersion() {
      // The route reads the version once before waiting; every further read is the poller's.
      if (++versionReads >= 2 && !push) waitingNow();
      return store.configVersion();
    },
  });
  return { wrap, started: () => new Promise<void>((resolve) => waiting.push(resolve)) };
}

describe('GET /v1/agent/config', () => {
  let f: Fixture;
  afterEach(() => f.close());

  it("answers this source's active destinations with an ETag, and 304 for the same version", async () => {
    f = await makeFixture();
    const a = await f.source('a', { location: 5, host: 6, sourceid: 9 });
    const b = await f.source('b');
    const all = await f.destination({ address: '198.18.0.1' });
    const mine = await f.destination({ address: '198.18.0.2', sources: [a.id] });
    await f.destination({ address: '198.18.0.3', sources: [b.id] });
    await f.destination({ address: '198.18.0.4', active: false });
    const res = await f.request('GET', '/v1/agent/config', { token: a.token });
    expect(res.status).toBe(200);
    const config = (await res.json()) as { version: string; source: object; destinations: { id: string }[] };
    expect(config.source).toEqual({ id: a.id, name: 'a', sourceid: 9, location: 5, host: 6 });
    expect(config.destinations.map((d) => d.id).sort()).toEqual([all.id, mine.id].sort());
    expect(res.headers.get('etag')).toBe(`"${config.version}"`);

    for (const tag of [`"${config.version}"`, `W/"${config.version}"`, `"other", "${config.version}"`]) {
      const again = await f.request('GET', '/v1/agent/config', {
        token: a.token,
        headers: { 'if-none-match': tag },
      });
      expect(again.status, tag).toBe(304);
    }
    const stale = await f.request('GET', '/v1/agent/config', {
      token: a.token,
      headers: { 'if-none-match': '"x"' },
    });
    expect(stale.status).toBe(200);
    // The agent was heard from.
    expect((await f.store.getSource(a.id))?.lastSeen).not.toBeNull();
  });

  it('changes the version only for changes that concern the source', async () => {
    f = await makeFixture();
    const a = await f.source('a');
    const b = await f.source('b');
    const version = async () =>
      ((await (await f.request('GET', '/v1/agent/config', { token: a.token })).json()) as { version: string })
        .version;
    const v0 = await version();
    await f.destination({ address: '198.18.0.3', sources: [b.id] });
    await f.request('PATCH', `/v1/sources/${b.id}`, { body: { name: 'bb' } });
    expect(await version()).toBe(v0);
    const d = await f.destination({ address: '198.18.0.4' });
    const v1 = await version();
    expect(v1).not.toBe(v0);
    await f.request('PATCH', `/v1/destinations/${d.id}`, { body: { interval: 500 } });
    expect(await version()).not.toBe(v1);
  });

  for (const push of [true, false]) {
    it(`wakes a long-poll within 100 ms of a change (${push ? 'pushed by the store' : 'polled'})`, async () => {
      const watch = observed(push);
      f = await makeFixture({ wrapStore: watch.wrap, pollIntervalMs: 20 });
      const a = await f.source('a');
      const first = await f.request('GET', '/v1/agent/config', { token: a.token });
      const etag = first.headers.get('etag')!;
      const started = watch.started();
      const poll = f.request('GET', '/v1/agent/config?wait=10', {
        token: a.token,
        headers: { 'if-none-match': etag },
      });
      await started;
      const wrote = performance.now();
      await f.request('POST', '/v1/destinations', { body: { address: '198.18.0.9' } });
      const res = await poll;
      const latency = performance.now() - wrote;
      expect(res.status).toBe(200);
      expect(latency).toBeLessThan(100);
      const config = (await res.json()) as { destinations: { address: string }[] };
      expect(config.destinations.map((d) => d.address)).toEqual(['198.18.0.9']);
    });
  }

  it('answers 304 when the wait runs out, also when only other sources changed', async () => {
    f = await makeFixture();
    const a = await f.source('a');
    const b = await f.source('b');
    const etag = (await f.request('GET', '/v1/agent/config', { token: a.token })).headers.get('etag')!;
    const began = performance.now();
    const poll = f.request('GET', '/v1/agent/config?wait=1', {
      token: a.token,
      headers: { 'if-none-match': etag },
    });
    await f.destination({ address: '198.18.0.3', sources: [b.id] });
    const res = await poll;
    const took = performance.now() - began;
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(3000);
  });

  it('answers a waiting long-poll with 304 at once when the server closes', async () => {
    const shutdown = new AbortController();
    const watch = observed(true);
    f = await makeFixture({ shutdown: shutdown.signal, wrapStore: watch.wrap });
    const a = await f.source('a');
    const etag = (await f.request('GET', '/v1/agent/config', { token: a.token })).headers.get('etag')!;
    const started = watch.started();
    const poll = f.request('GET', '/v1/agent/config?wait=30', {
      token: a.token,
      headers: { 'if-none-match': etag },
    });
    await started;
    const closing = performance.now();
    shutdown.abort();
    expect((await poll).status).toBe(304);
    expect(performance.now() - closing).toBeLessThan(100);
  });

  it('leaves nothing on the shutdown signal once long-polls end (no per-request retention)', async () => {
    const shutdown = new AbortController();
    const watch = observed(true);
    f = await makeFixture({ shutdown: shutdown.signal, wrapStore: watch.wrap });
    const a = await f.source('a');
    const etag = (await f.request('GET', '/v1/agent/config', { token: a.token })).headers.get('etag')!;
    const poll = (wait: number, tag = etag) =>
      f.request('GET', `/v1/agent/config?wait=${wait}`, {
        token: a.token,
        headers: { 'if-none-match': tag },
      });
    // Answered at once (304 and 200), and answered after waiting on a change.
    for (let i = 0; i < 200; i++)
      expect((await poll(0, i % 2 ? etag : '"old"')).status).toBe(i % 2 ? 304 : 200);
    const started = watch.started();
    const waiting = poll(30);
    await started;
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    await f.destination({ address: '198.18.0.9' });
    expect((await waiting).status).toBe(200);

    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    // AbortSignal.any() would leave one entry per poll here, never pruned on Node 20.
    expect(dependants(shutdown.signal)).toBe(0);
  });

  it('refuses a bad wait', async () => {
    f = await makeFixture();
    const a = await f.source('a');
    for (const [query, message] of [
      ['wait=61', 'must be at most 60'],
      ['wait=-1', 'must be a whole number of seconds'],
      ['wait=abc', 'must be a whole number of seconds'],
      ['timeout=5', 'is not a known field'],
    ]) {
      const res = await f.request('GET', `/v1/agent/config?${query}`, { token: a.token });
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).issues?.[0]?.message).toBe(message);
    }
  });
});

/** Size of Node's internal set of signals composed from `signal` (0 where the runtime keeps none). */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((k) => k.description === 'kDependantSignals');
  return key ? ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0) : 0;
}
