/**
 * The store contract: one suite every backend passes (SQLite on a real file, DynamoDB on dynalite). Each case
 * gets a fresh, empty store from `make`. Backend-only cases live beside the backend's runner, not here.
 *
 * Inputs are shaped the way the HTTP layer hands them over: already parsed by the contract schemas.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultInput } from '../../contract/index.js';
import {
  ConflictError,
  NotFoundError,
  type ResultOwner,
  type Store,
  StoreError,
} from '../../control-plane/store/store.js';
import {
  DESTINATION_DEFAULTS,
  destinationInput as destination,
  RTIME,
  resultInput,
  sourceInput as source,
  TIMED_OUT,
} from '../helpers/factories.js';
import { censusContract } from './contract-census.js';
import { censusHistoryContract } from './contract-census-history.js';
import { statsContract } from './contract-stats.js';

/** A handle on a fresh store and how to dispose of it. */
export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
  /**
   * Moves the store's clock, for a backend whose retention is applied by the database against the store's
   * clock (DynamoDB's TTL: reads hide what has expired by then) rather than by `prune(now)` alone. The stats
   * cases move it to every `now` they prune at; a backend without it prunes by the time it is given.
   */
  setNow?(at: Date): void;
}

/** A 64-hex-digit stand-in for a token hash, distinct per `n`. */
const hash = (n: number | string) => String(n).padStart(64, '0');

/** Base send time: well beyond 2^53 ns, so precision bugs show. */
const T0 = RTIME;

function result(destinationId: string, rtime: bigint, rseq: number, extra: Partial<ResultInput> = {}) {
  return resultInput(destinationId, { rtime: rtime.toString(), rseq, ...extra });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to reject, it resolved');
}

/** Follows cursors to the end; fails on a page larger than `limit` or more pages than `maxPages`. */
async function allPages(store: Store, filter: Parameters<Store['listResults']>[0], maxPages = 1000) {
  const seen: Awaited<ReturnType<Store['listResults']>>['results'] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const got = await store.listResults({ ...filter, cursor });
    expect(got.results.length).toBeLessThanOrEqual(filter.limit);
    seen.push(...got.results);
    if (got.cursor === null) return seen;
    cursor = got.cursor;
  }
  throw new Error(`more than ${maxPages} pages`);
}

/**
 * Registers the contract cases for one backend.
 *
 * @param name label of the describe block (e.g. `sqlite`)
 * @param make returns a fresh, empty store for each case and how to dispose of it
 */
export function testStore(name: string, make: () => Promise<StoreFixture>): void {
  describe(`store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const owner = (s: { id: string; location: number; host: number }): ResultOwner => ({
      id: s.id,
      location: s.location,
      host: s.host,
    });

    describe('sources', () => {
      it('creates a source with defaults, an agent token, and reads it back', async () => {
        const created = await store.createSource(source({ name: 'ams1', location: 7, host: 3 }), hash(1));
        expect(created).toMatchObject({
          name: 'ams1',
          location: 7,
          host: 3,
          sourceid: 0,
          address: null,
          labels: {},
          lastSeen: null,
        });
        expect(created.id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
        expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
        expect(await store.getSource(created.id)).toEqual(created);
        expect(await store.findToken(hash(1))).toMatchObject({ kind: 'agent', sourceId: created.id });
      });

      it('assigns the lowest free sourceid and keeps given ones', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const b = await store.createSource(source({ name: 'b', sourceid: 2 }), hash(2));
        const c = await store.createSource(source({ name: 'c' }), hash(3));
        const d = await store.createSource(source({ name: 'd' }), hash(4));
        expect([a.sourceid, b.sourceid, c.sourceid, d.sourceid]).toEqual([0, 2, 1, 3]);
        await store.deleteSource(c.id);
        const e = await store.createSource(source({ name: 'e' }), hash(5));
        expect(e.sourceid).toBe(1);
      });

      it('refuses a taken sourceid with a ConflictError on `sourceid`, storing nothing', async () => {
        await store.createSource(source({ name: 'a', sourceid: 9 }), hash(1));
        const err = await rejection(store.createSource(source({ name: 'b', sourceid: 9 }), hash(2)));
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as StoreError).code).toBe('conflict');
        expect((err as StoreError).path).toBe('sourceid');
        expect(await store.listSources()).toHaveLength(1);
        expect(await store.findToken(hash(2))).toBeUndefined();
      });

      it('lists every source', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const b = await store.createSource(source({ name: 'b' }), hash(2));
        const ids = (await store.listSources()).map((s) => s.id).sort();
        expect(ids).toEqual([a.id, b.id].sort());
      });

      it('patches only the given fields', async () => {
        const a = await store.createSource(
          source({ name: 'a', location: 1, host: 2, labels: { dc: 'x' } }),
          hash(1),
        );
        const patched = await store.updateSource(a.id, { name: 'renamed', address: '198.18.0.10' });
        expect(patched).toEqual({ ...a, name: 'renamed', address: '198.18.0.10' });
        expect(await store.getSource(a.id)).toEqual(patched);
        expect(await store.updateSource(a.id, { labels: {} })).toMatchObject({ labels: {}, name: 'renamed' });
      });

      it('refuses a patch to a taken sourceid and allows keeping its own', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const b = await store.createSource(source({ name: 'b' }), hash(2));
        const err = await rejection(store.updateSource(b.id, { sourceid: a.sourceid, name: 'x' }));
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as StoreError).path).toBe('sourceid');
        expect(await store.getSource(b.id)).toEqual(b);
        expect(await store.updateSource(b.id, { sourceid: b.sourceid })).toEqual(b);
        expect(await store.updateSource(b.id, { sourceid: 500 })).toMatchObject({ sourceid: 500 });
      });

      it('answers undefined / false for an unknown source', async () => {
        expect(await store.getSource('src_missing')).toBeUndefined();
        expect(await store.updateSource('src_missing', { name: 'x' })).toBeUndefined();
        expect(await store.deleteSource('src_missing')).toBe(false);
        expect(await store.replaceSourceToken('src_missing', hash(9))).toBe(false);
      });

      it('deletes a source with its tokens and removes it from destinations', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const b = await store.createSource(source({ name: 'b' }), hash(2));
        const both = await store.createDestination(
          destination({ address: '198.18.0.1', sources: [a.id, b.id] }),
        );
        expect(await store.deleteSource(a.id)).toBe(true);
        expect(await store.getSource(a.id)).toBeUndefined();
        expect(await store.findToken(hash(1))).toBeUndefined();
        expect(await store.findToken(hash(2))).toBeDefined();
        expect((await store.getDestination(both.id))?.sources).toEqual([b.id]);
        expect(await store.deleteSource(a.id)).toBe(false);
      });

      it('deactivates a destination whose only named source is deleted, rather than widening it to all', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const only = await store.createDestination(destination({ address: '198.18.0.1', sources: [a.id] }));
        await store.deleteSource(a.id);
        expect(await store.getDestination(only.id)).toMatchObject({ sources: [], active: false });
      });

      it('rotates the agent token: the old one stops working', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        expect(await store.replaceSourceToken(a.id, hash(2))).toBe(true);
        expect(await store.findToken(hash(1))).toBeUndefined();
        expect(await store.findToken(hash(2))).toMatchObject({ kind: 'agent', sourceId: a.id });
      });

      it('records lastSeen without bumping the config version', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const before = await store.configVersion();
        const at = new Date('2026-01-02T03:04:05.678Z');
        await store.touchSource(a.id, at);
        expect((await store.getSource(a.id))?.lastSeen).toBe(at.toISOString());
        expect(await store.configVersion()).toBe(before);
      });
    });

    describe('destinations', () => {
      it('creates with defaults and reads back', async () => {
        const d = await store.createDestination(destination({ address: 'example.net' }));
        expect(d).toMatchObject({ ...DESTINATION_DEFAULTS, address: 'example.net' });
        expect(d.createdAt).toBe(d.updatedAt);
        expect(await store.getDestination(d.id)).toEqual(d);
      });

      it('refuses an unknown source with a NotFoundError on `sources`, storing nothing', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const err = await rejection(
          store.createDestination(destination({ address: '198.18.0.1', sources: [a.id, 'src_nope'] })),
        );
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as StoreError).path).toBe('sources');
        expect((err as Error).message).toContain('src_nope');
        expect(await store.listDestinations()).toEqual([]);
      });

      it('replaces all fields, keeps id and createdAt, and refuses unknown sources', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const d = await store.createDestination(destination({ address: '198.18.0.1' }));
        const fields = {
          ...destination({ address: '198.18.0.2', protocol: 'udp', port: 33434 }),
          ttl: 5,
          data: 'x'.repeat(1024),
          sources: [a.id],
          labels: { k: 'v' },
          active: false,
        };
        const replaced = await store.replaceDestination(d.id, fields);
        expect(replaced).toMatchObject({ ...fields, id: d.id, createdAt: d.createdAt });
        expect(await store.getDestination(d.id)).toEqual(replaced);
        const err = await rejection(store.replaceDestination(d.id, { ...fields, sources: ['src_nope'] }));
        expect(err).toBeInstanceOf(NotFoundError);
        expect(await store.getDestination(d.id)).toEqual(replaced);
        expect(await store.replaceDestination('dst_missing', fields)).toBeUndefined();
      });

      it('deletes', async () => {
        const d = await store.createDestination(destination({ address: '198.18.0.1' }));
        expect(await store.deleteDestination(d.id)).toBe(true);
        expect(await store.getDestination(d.id)).toBeUndefined();
        expect(await store.deleteDestination(d.id)).toBe(false);
      });

      it('filters by active, protocol and source (no sources named = every source)', async () => {
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        const b = await store.createSource(source({ name: 'b' }), hash(2));
        const all = await store.createDestination(destination({ address: '198.18.0.1' }));
        const onlyA = await store.createDestination(
          destination({ address: '198.18.0.2', protocol: 'tcp', port: 443, sources: [a.id] }),
        );
        const onlyB = await store.createDestination(
          destination({ address: 'fd00:198:18::1', protocol: 'icmp6', sources: [b.id] }),
        );
        const off = await store.createDestination(destination({ address: '198.18.0.3', active: false }));
        const ids = async (q?: Parameters<Store['listDestinations']>[0]) =>
          (await store.listDestinations(q)).map((d) => d.id).sort();
        expect(await ids()).toEqual([all.id, onlyA.id, onlyB.id, off.id].sort());
        expect(await ids({ active: true })).toEqual([all.id, onlyA.id, onlyB.id].sort());
        expect(await ids({ active: false })).toEqual([off.id]);
        expect(await ids({ protocol: 'tcp' })).toEqual([onlyA.id]);
        expect(await ids({ source: a.id })).toEqual([all.id, onlyA.id, off.id].sort());
        expect(await ids({ source: b.id, active: true })).toEqual([all.id, onlyB.id].sort());
        expect(await ids({ source: b.id, protocol: 'icmp' })).toEqual([all.id, off.id].sort());
      });
    });

    describe('config version', () => {
      it('increases with every change to sources or destinations', async () => {
        let last = await store.configVersion();
        const bumped = async () => {
          const now = await store.configVersion();
          expect(now).toBeGreaterThan(last);
          last = now;
        };
        const a = await store.createSource(source({ name: 'a' }), hash(1));
        await bumped();
        await store.updateSource(a.id, { name: 'b' });
        await bumped();
        const d = await store.createDestination(destination({ address: '198.18.0.1' }));
        await bumped();
        await store.replaceDestination(d.id, { ...d, ttl: 9 });
        await bumped();
        await store.deleteDestination(d.id);
        await bumped();
        await store.deleteSource(a.id);
        await bumped();
      });

      it('does not change when a write is refused', async () => {
        await store.createSource(source({ name: 'a', sourceid: 1 }), hash(1));
        const before = await store.configVersion();
        await rejection(store.createSource(source({ name: 'b', sourceid: 1 }), hash(2)));
        await rejection(store.createDestination(destination({ address: '198.18.0.1', sources: ['src_x'] })));
        expect(await store.configVersion()).toBe(before);
      });

      it('tells change listeners the version after each commit, where the backend supports it', async () => {
        if (!store.onChange) return;
        const seen: number[] = [];
        const off = store.onChange((version) => seen.push(version));
        await store.createDestination(destination({ address: '198.18.0.1' }));
        expect(seen).toEqual([await store.configVersion()]);
        off();
        await store.createDestination(destination({ address: '198.18.0.2' }));
        expect(seen).toHaveLength(1);
      });
    });

    describe('tokens', () => {
      it('creates, finds, lists by kind and deletes', async () => {
        const admin = await store.createToken({
          hash: hash('a1'),
          kind: 'admin',
          sourceId: null,
          name: 'admin',
        });
        expect(admin).toMatchObject({ hash: hash('a1'), kind: 'admin', sourceId: null, name: 'admin' });
        expect(Number.isNaN(Date.parse(admin.createdAt))).toBe(false);
        await store.createToken({ hash: hash('r1'), kind: 'read', sourceId: null, name: 'grafana' });
        const a = await store.createSource(source({ name: 'a' }), hash('g1'));
        expect(await store.findToken(hash('a1'))).toEqual(admin);
        expect(await store.findToken(hash('nope'))).toBeUndefined();
        expect((await store.listTokens('read')).map((t) => t.name)).toEqual(['grafana']);
        expect((await store.listTokens('agent')).map((t) => t.sourceId)).toEqual([a.id]);
        expect(await store.listTokens()).toHaveLength(3);
        expect(await store.deleteToken(hash('r1'))).toBe(true);
        expect(await store.deleteToken(hash('r1'))).toBe(false);
        expect(await store.findToken(hash('r1'))).toBeUndefined();
      });

      it('refuses a hash that already exists', async () => {
        await store.createToken({ hash: hash(7), kind: 'read', sourceId: null, name: 'x' });
        const err = await rejection(
          store.createToken({ hash: hash(7), kind: 'admin', sourceId: null, name: 'y' }),
        );
        expect(err).toBeInstanceOf(ConflictError);
        expect(await store.findToken(hash(7))).toMatchObject({ kind: 'read' });
      });
    });

    describe('results', () => {
      async function setup() {
        const a = await store.createSource(source({ name: 'a', location: 11, host: 12 }), hash(1));
        const b = await store.createSource(source({ name: 'b', location: 21, host: 22 }), hash(2));
        const d1 = await store.createDestination(destination({ address: '198.18.0.1' }));
        const d2 = await store.createDestination(destination({ address: '198.18.0.2' }));
        return { a, b, d1, d2 };
      }

      it('stores a batch stamped with the owner and reads it back exactly', async () => {
        const { a, d1 } = await setup();
        const timeout = result(d1.id, T0 + 1n, 2, TIMED_OUT);
        const reply = result(d1.id, T0, 1, { rtt: 0.001 });
        expect(await store.putResults(owner(a), [reply, timeout])).toEqual({ stored: 2, duplicates: 0 });
        const page = await store.listResults({ limit: 10 });
        expect(page.cursor).toBeNull();
        expect(page.results).toEqual([
          { ...timeout, source: a.id, rsite: 11, rhost: 12 },
          { ...reply, source: a.id, rsite: 11, rhost: 12 },
        ]);
      });

      it('keeps the timing mark of each result, and reads results without one (older agents) without it', async () => {
        const { a, d1 } = await setup();
        const kernel = result(d1.id, T0, 1, {
          rtt: 20_001.5,
          timing: { send: 'kernel', receive: 'kernel', lateness: 0 },
        });
        const fallback = result(d1.id, T0 + 1n, 2, {
          rtt: 20_040.25,
          timing: { send: 'process', receive: 'kernel', lateness: 1_234 },
        });
        const timedOut = result(d1.id, T0 + 2n, 3, {
          ...TIMED_OUT,
          timing: { send: 'kernel', receive: null, lateness: 7 },
        });
        const unmarked = result(d1.id, T0 + 3n, 4, { rtt: 20_000 });
        await store.putResults(owner(a), [kernel, fallback, timedOut, unmarked]);
        const got = (await store.listResults({ limit: 10 })).results;
        expect(got.map((r) => r.timing)).toEqual([
          undefined,
          { send: 'kernel', receive: null, lateness: 7 },
          { send: 'process', receive: 'kernel', lateness: 1_234 },
          { send: 'kernel', receive: 'kernel', lateness: 0 },
        ]);
        expect('timing' in got[0]!).toBe(false);
      });

      it('stores a result twice only once, within a batch and across batches', async () => {
        const { a, b, d1 } = await setup();
        const batch = [result(d1.id, T0, 1), result(d1.id, T0, 2), result(d1.id, T0, 1)];
        expect(await store.putResults(owner(a), batch)).toEqual({ stored: 2, duplicates: 1 });
        expect(await store.putResults(owner(a), batch)).toEqual({ stored: 0, duplicates: 3 });
        // The same (destination, rtime, rseq) from another source is another result.
        expect(await store.putResults(owner(b), batch)).toEqual({ stored: 2, duplicates: 1 });
        expect((await store.listResults({ limit: 100 })).results).toHaveLength(4);
      });

      it('accepts an empty batch', async () => {
        const { a } = await setup();
        expect(await store.putResults(owner(a), [])).toEqual({ stored: 0, duplicates: 0 });
      });

      it('refuses a batch naming an unknown destination whole, storing nothing', async () => {
        const { a, d1 } = await setup();
        const batch = [result(d1.id, T0, 1), result(d1.id, T0, 2), result('dst_nope', T0, 3)];
        const err = await rejection(store.putResults(owner(a), batch));
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as StoreError).path).toBe('results.2.destination');
        expect((err as Error).message).toContain('dst_nope');
        expect((await store.listResults({ limit: 100 })).results).toEqual([]);
      });

      it('round-trips nanosecond rtime beyond 2^53 and orders it numerically', async () => {
        const { a, d1 } = await setup();
        const times = [
          '9223372036854775807', // 2^63 - 1: the largest rtime the contract accepts
          (T0 + 1n).toString(),
          T0.toString(),
          '1000000000',
          '999999999', // fewer digits: a string sort would put it before 1000000000
          '0',
        ];
        await store.putResults(
          owner(a),
          times.map((t, i) => ({ ...result(d1.id, BigInt(t), i), rtime: t })),
        );
        const got = (await store.listResults({ limit: 100 })).results.map((r) => r.rtime);
        expect(got).toEqual(times);
        expect(2 ** 53).toBeLessThan(Number(T0)); // the fixture itself is beyond double precision
      });

      it('filters by destination, source, status and inclusive from/to', async () => {
        const { a, b, d1, d2 } = await setup();
        await store.putResults(owner(a), [
          result(d1.id, T0, 1),
          result(d2.id, T0 + 10n, 1, TIMED_OUT),
          result(d1.id, T0 + 20n, 2, { status: 'ttl-exceeded', rtype: 11, address: '198.18.1.1' }),
        ]);
        await store.putResults(owner(b), [result(d1.id, T0 + 30n, 1), result(d2.id, T0 + 40n, 1)]);
        const rtimes = async (f: Partial<Parameters<Store['listResults']>[0]>) =>
          (await store.listResults({ limit: 100, ...f })).results.map((r) => BigInt(r.rtime) - T0);
        expect(await rtimes({})).toEqual([40n, 30n, 20n, 10n, 0n]);
        expect(await rtimes({ destination: d1.id })).toEqual([30n, 20n, 0n]);
        expect(await rtimes({ source: a.id })).toEqual([20n, 10n, 0n]);
        expect(await rtimes({ source: b.id, destination: d2.id })).toEqual([40n]);
        expect(await rtimes({ status: 'timeout' })).toEqual([10n]);
        expect(await rtimes({ status: 'reply', source: a.id })).toEqual([0n]);
        expect(await rtimes({ from: T0 + 10n, to: T0 + 30n })).toEqual([30n, 20n, 10n]);
        expect(await rtimes({ from: T0 + 11n })).toEqual([40n, 30n, 20n]);
        expect(await rtimes({ to: T0 + 9n, destination: d1.id })).toEqual([0n]);
        expect(await rtimes({ destination: 'dst_nope' })).toEqual([]);
      });

      it('pages newest first without gaps or repeats, ties on rtime included', async () => {
        const { a, b, d1, d2 } = await setup();
        const batch: ResultInput[] = [];
        // 37 distinct times, each shared by up to four results (two sources x two destinations): page
        // boundaries must fall inside groups of equal rtime too.
        for (let i = 0; i < 37; i++) {
          batch.push(result(d1.id, T0 + BigInt(i), i), result(d2.id, T0 + BigInt(i), i));
        }
        await store.putResults(owner(a), batch);
        await store.putResults(owner(b), batch.slice(0, 40));
        const expected = 74 + 40;
        for (const limit of [1, 3, 7, 50, 114, 500]) {
          const seen = await allPages(store, { limit });
          expect(seen).toHaveLength(expected);
          const keys = seen.map((r) => `${r.source}/${r.destination}/${r.rtime}/${r.rseq}`);
          expect(new Set(keys).size).toBe(expected);
          const times = seen.map((r) => BigInt(r.rtime));
          for (let i = 1; i < times.length; i++) expect(times[i]! <= times[i - 1]!).toBe(true);
        }
        const filtered = await allPages(store, { limit: 4, destination: d2.id, from: T0 + 5n });
        expect(filtered.map((r) => BigInt(r.rtime) - T0)).toEqual(
          [...Array(32).keys()].reverse().flatMap((i) => {
            const t = BigInt(i + 5);
            return i + 5 < 20 ? [t, t] : [t];
          }),
        );
      });

      it('keeps a cursor valid while new results arrive (they do not shift older pages)', async () => {
        const { a, d1 } = await setup();
        await store.putResults(
          owner(a),
          [...Array(10).keys()].map((i) => result(d1.id, T0 + BigInt(i), i)),
        );
        const first = await store.listResults({ limit: 5 });
        await store.putResults(owner(a), [result(d1.id, T0 + 100n, 100)]);
        const second = await store.listResults({ limit: 5, cursor: first.cursor! });
        expect(second.results.map((r) => BigInt(r.rtime) - T0)).toEqual([4n, 3n, 2n, 1n, 0n]);
      });

      it('rejects a cursor it did not issue with a StoreError (bad_request)', async () => {
        await setup();
        const err = await rejection(store.listResults({ limit: 5, cursor: 'not-a-cursor' }));
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe('bad_request');
        expect((err as StoreError).path).toBe('cursor');
      });

      it('keeps results of a deleted source and destination', async () => {
        const { a, d1 } = await setup();
        await store.putResults(owner(a), [result(d1.id, T0, 1)]);
        await store.deleteDestination(d1.id);
        await store.deleteSource(a.id);
        expect((await store.listResults({ limit: 10 })).results).toHaveLength(1);
      });
    });

    it('has statistics (rollups, stats, summary, retention)', () => {
      expect(store.stats).toBeDefined();
    });

    statsContract(() => fixture);
    describe('census', () => censusContract(() => store));
    describe('census host history', () => censusHistoryContract(() => fixture));
  });
}
