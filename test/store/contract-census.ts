/**
 * The store contract for censuses (issue 11): a destination's census settings kept and changed, pass records
 * stored once per identity, hosts up and down with their first/last seen, RTT and passes answered, appeared and
 * gone events after `goneAfter` misses, and the listings. Registered by `testStore` for every backend.
 */
import * as v from 'valibot';
import { expect, it } from 'vitest';
import { type CensusPass, CensusPassReportSchema, DestinationCreateSchema } from '../../contract/index.js';
import { NotFoundError, type Store } from '../../control-plane/store/store.js';
import { sourceInput as source } from '../helpers/factories.js';

const hash = (n: number) => String(n).padStart(64, 'c');
/** Pass starts well past 2^53 ns, a minute apart. */
const T = 1_763_780_000_000_000_000n;
const at = (i: number) => (T + BigInt(i) * 60_000_000_000n).toString();

function pass(destination: string, i: number, answers: [string, number | null][]): CensusPass {
  return v.parse(CensusPassReportSchema, {
    destination,
    prefix: '198.18.0.0/24',
    start: at(i),
    end: (BigInt(at(i)) + 1_500_000_000n).toString(),
    addresses: 254,
    probed: 300,
    answered: answers.length,
    retries: 46,
    errors: 0,
    skipped: i === 0 ? 0 : 1,
    rate: 5000,
    answers,
  });
}

export function censusContract(get: () => Store): void {
  const census = async (store: Store, extra: Record<string, unknown> = {}) =>
    store.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.0/24', ...extra }));

  it('keeps a destination’s census settings, changes them, and removes them', async () => {
    const store = get();
    const d = await census(store, { census: { rate: 20_000, retries: 0, split: true, goneAfter: 1 } });
    const want = { rate: 20_000, retries: 0, split: true, goneAfter: 1 };
    expect(d.census).toEqual(want);
    expect((await store.getDestination(d.id))?.census).toEqual(want);
    expect((await store.listDestinations()).find((x) => x.id === d.id)?.census).toEqual(want);
    const { id, createdAt, updatedAt, ...fields } = d;
    const changed = await store.replaceDestination(id, { ...fields, census: { ...want, rate: 7 } });
    expect(changed?.census?.rate).toBe(7);
    expect((await store.getDestination(id))?.census?.rate).toBe(7);
    const { census: _c, ...single } = fields;
    const host = await store.replaceDestination(id, { ...single, address: '198.18.0.1' });
    expect(host?.census).toBeUndefined();
    expect((await store.getDestination(id))?.census).toBeUndefined();
  });

  it('a single host has no census settings; a prefix given none has the defaults', async () => {
    const store = get();
    const one = await store.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.1' }));
    expect((await store.getDestination(one.id))?.census).toBeUndefined();
    const d = await census(store);
    expect((await store.getDestination(d.id))?.census).toEqual({
      rate: 5000,
      retries: 1,
      split: false,
      goneAfter: 2,
    });
  });

  it('stores a pass once per (source, destination, start) and lists passes newest first', async () => {
    const store = get();
    const d = await census(store);
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const b = await store.createSource(source({ name: 'b' }), hash(2));
    expect(await store.census.putPass(a.id, pass(d.id, 0, [['198.18.0.7', 812.5]]), 2)).toEqual({
      stored: true,
    });
    expect(await store.census.putPass(a.id, pass(d.id, 0, [['198.18.0.7', 812.5]]), 2)).toEqual({
      stored: false,
    });
    expect(await store.census.putPass(b.id, pass(d.id, 0, [['198.18.0.7', 900]]), 2)).toEqual({
      stored: true,
    });
    await store.census.putPass(a.id, pass(d.id, 1, [['198.18.0.7', 700]]), 2);
    const passes = await store.census.listPasses(d.id, 100);
    expect(passes).toHaveLength(3);
    expect(passes[0]).toEqual({
      destination: d.id,
      source: a.id,
      prefix: '198.18.0.0/24',
      start: at(1),
      end: (BigInt(at(1)) + 1_500_000_000n).toString(),
      durationMs: 1500,
      addresses: 254,
      probed: 300,
      answered: 1,
      retries: 46,
      errors: 0,
      skipped: 1,
      rate: 5000,
    });
    expect(passes.slice(1).map((p) => p.start)).toEqual([at(0), at(0)]);
    expect(await store.census.listPasses(d.id, 1)).toHaveLength(1);
    // The retried report changed no host: passes answered counts three distinct passes.
    const [host] = await store.census.listHosts(d.id);
    expect(host).toMatchObject({ address: '198.18.0.7', passesAnswered: 2, lastRtt: 700 });
  });

  it('refuses a pass of an unknown destination with a NotFoundError on `destination`', async () => {
    const store = get();
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const err = await store.census.putPass(a.id, pass('dst_nope', 0, []), 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).path).toBe('destination');
  });

  it('keeps hosts up and down, new ones, and events: appeared, gone after goneAfter misses, back', async () => {
    const store = get();
    const d = await census(store);
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const put = (i: number, answers: [string, number | null][]) =>
      store.census.putPass(a.id, pass(d.id, i, answers), 2);
    await put(0, [
      ['198.18.0.10', 100],
      ['198.18.0.9', 90],
      ['198.18.0.200', null],
    ]);
    let hosts = await store.census.listHosts(d.id);
    // Numeric order, not text order.
    expect(hosts.map((h) => h.address)).toEqual(['198.18.0.9', '198.18.0.10', '198.18.0.200']);
    expect(hosts[0]).toEqual({
      address: '198.18.0.9',
      state: 'up',
      firstSeen: at(0),
      lastSeen: at(0),
      lastRtt: 90,
      passesAnswered: 1,
      missed: 0,
    });
    expect((await store.census.listHosts(d.id, 'new')).map((h) => h.address)).toHaveLength(3);

    // Pass 1: .10 misses once (down, not gone yet), .55 appears.
    await put(1, [
      ['198.18.0.9', 95],
      ['198.18.0.200', 3],
      ['198.18.0.55', 12],
    ]);
    hosts = await store.census.listHosts(d.id);
    expect(hosts.find((h) => h.address === '198.18.0.10')).toMatchObject({
      state: 'down',
      missed: 1,
      lastSeen: at(0),
      lastRtt: 100,
    });
    expect(hosts.find((h) => h.address === '198.18.0.9')).toMatchObject({
      state: 'up',
      firstSeen: at(0),
      lastSeen: at(1),
      lastRtt: 95,
      passesAnswered: 2,
    });
    expect((await store.census.listHosts(d.id, 'new')).map((h) => h.address)).toEqual(['198.18.0.55']);
    expect((await store.census.listHosts(d.id, 'down')).map((h) => h.address)).toEqual(['198.18.0.10']);
    expect((await store.census.listHosts(d.id, 'up')).map((h) => h.address)).toEqual([
      '198.18.0.9',
      '198.18.0.55',
      '198.18.0.200',
    ]);

    // Pass 2: .10 misses twice: gone. Pass 3: it is back.
    await put(2, [['198.18.0.9', 1]]);
    await put(3, [
      ['198.18.0.9', 1],
      ['198.18.0.10', 7],
    ]);
    const events = await store.census.listEvents(d.id, 100);
    // .55 and .200 missed passes 2 and 3: gone at 3. Within a pass, events are in descending address text.
    expect(events).toEqual([
      { at: at(3), address: '198.18.0.55', kind: 'gone' },
      { at: at(3), address: '198.18.0.200', kind: 'gone' },
      { at: at(3), address: '198.18.0.10', kind: 'appeared' },
      { at: at(2), address: '198.18.0.10', kind: 'gone' },
      { at: at(1), address: '198.18.0.55', kind: 'appeared' },
      { at: at(0), address: '198.18.0.9', kind: 'appeared' },
      { at: at(0), address: '198.18.0.200', kind: 'appeared' },
      { at: at(0), address: '198.18.0.10', kind: 'appeared' },
    ]);
    expect(await store.census.listEvents(d.id, 2)).toHaveLength(2);
    const back = (await store.census.listHosts(d.id)).find((h) => h.address === '198.18.0.10');
    expect(back).toMatchObject({
      state: 'up',
      missed: 0,
      passesAnswered: 2,
      firstSeen: at(0),
      lastSeen: at(3),
    });
  });

  it('a late report of an older pass never undoes a newer one', async () => {
    const store = get();
    const d = await census(store);
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const b = await store.createSource(source({ name: 'b' }), hash(2));
    await store.census.putPass(a.id, pass(d.id, 5, [['198.18.0.1', 5]]), 1);
    await store.census.putPass(b.id, pass(d.id, 4, []), 1);
    expect(await store.census.listHosts(d.id)).toMatchObject([
      { address: '198.18.0.1', state: 'up', missed: 0 },
    ]);
    expect(await store.census.listEvents(d.id, 10)).toEqual([
      { at: at(5), address: '198.18.0.1', kind: 'appeared' },
    ]);
  });

  it('a pass without answers is stored and counted, changing no host', async () => {
    const store = get();
    const d = await census(store);
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    await store.census.putPass(a.id, pass(d.id, 0, [['198.18.0.1', 5]]), 1);
    const { answers: _a, ...bare } = pass(d.id, 1, []);
    expect(await store.census.putPass(a.id, { ...bare, answered: 4 }, 1)).toEqual({ stored: true });
    expect(await store.census.listHosts(d.id)).toMatchObject([{ state: 'up', missed: 0 }]);
    expect((await store.census.listPasses(d.id, 10))[0]).toMatchObject({ answered: 4 });
  });

  it('lists nothing for a destination with no passes', async () => {
    const store = get();
    const d = await census(store);
    expect(await store.census.listHosts(d.id)).toEqual([]);
    expect(await store.census.listHosts(d.id, 'new')).toEqual([]);
    expect(await store.census.listPasses(d.id, 10)).toEqual([]);
    expect(await store.census.listEvents(d.id, 10)).toEqual([]);
  });
}
