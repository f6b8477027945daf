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
export const T = 1_763_780_000_000_000_000n;
export const at = (i: number) => (T + BigInt(i) * 60_000_000_000n).toString();

export function pass(destination: string, i: number, answers: [string, number | null][]): CensusPass {
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

/** One source's slice [from, to) of the pass at slot `i` of a split /24 (254 addresses), starting `lagMs` later. */
export function slicePass(
  destination: string,
  i: number,
  lagMs: number,
  [from, to]: [number, number],
  answers: [string, number | null][],
): CensusPass {
  const start = BigInt(at(i)) + BigInt(lagMs) * 1_000_000n;
  return v.parse(CensusPassReportSchema, {
    destination,
    prefix: '198.18.0.0/24',
    start: start.toString(),
    end: (start + 900_000_000n).toString(),
    addresses: to - from,
    probed: to - from,
    answered: answers.length,
    retries: 0,
    errors: 0,
    skipped: 0,
    rate: 2000,
    slice: { slot: at(i), from, to, of: 254 },
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
      sources: [a.id],
      slot: null,
      covered: 254,
      complete: true,
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

  it('merges the slices of a split pass by its slot: sources, figures, covered, complete once all reported', async () => {
    const store = get();
    const d = await census(store, { census: { split: true } });
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const b = await store.createSource(source({ name: 'b' }), hash(2));
    // 198.18.0.7 is address 6 (a's slice), 198.18.0.200 is 199 (b's).
    const pa = slicePass(d.id, 10, 3, [0, 127], [['198.18.0.7', 50]]);
    const pb = slicePass(d.id, 10, 1, [127, 254], [['198.18.0.200', 60]]);
    expect(await store.census.putPass(a.id, pa, 2)).toEqual({ stored: true });
    expect(await store.census.listPasses(d.id, 10)).toMatchObject([
      { sources: [a.id], slot: at(10), addresses: 254, covered: 127, complete: false, answered: 1 },
    ]);
    expect(await store.census.putPass(b.id, pb, 2)).toEqual({ stored: true });
    expect(await store.census.putPass(b.id, pb, 2)).toEqual({ stored: false });
    const [merged, ...rest] = await store.census.listPasses(d.id, 10);
    expect(rest).toEqual([]);
    const startB = BigInt(at(10)) + 1_000_000n;
    const endA = BigInt(at(10)) + 3_000_000n + 900_000_000n;
    expect(merged).toEqual({
      destination: d.id,
      source: [a.id, b.id].sort()[0],
      sources: [a.id, b.id].sort(),
      prefix: '198.18.0.0/24',
      slot: at(10),
      start: startB.toString(),
      end: endA.toString(),
      durationMs: Number(endA - startB) / 1e6,
      addresses: 254,
      covered: 254,
      complete: true,
      probed: 254,
      answered: 2,
      retries: 0,
      errors: 0,
      skipped: 0,
      rate: 4000,
      slices: [
        { source: a.id, from: 0, to: 127, start: pa.start, end: pa.end, probed: 127, answered: 1, errors: 0 },
        {
          source: b.id,
          from: 127,
          to: 254,
          start: pb.start,
          end: pb.end,
          probed: 127,
          answered: 1,
          errors: 0,
        },
      ],
      members: [a.id, b.id].sort(),
      missing: [],
    });
    // Hosts are seen at the pass's slot, whichever slice found them; the newest pass is the slot's.
    expect(await store.census.listHosts(d.id, 'new')).toMatchObject([
      { address: '198.18.0.7', firstSeen: at(10), lastSeen: at(10), lastRtt: 50 },
      { address: '198.18.0.200', firstSeen: at(10), lastSeen: at(10), lastRtt: 60 },
    ]);
    // The limit counts passes, not slices.
    await store.census.putPass(a.id, slicePass(d.id, 11, 0, [0, 254], []), 2);
    expect((await store.census.listPasses(d.id, 2)).map((p) => [p.slot, p.sources.length])).toEqual([
      [at(11), 1],
      [at(10), 2],
    ]);
    expect((await store.census.listPasses(d.id, 1)).map((p) => p.slot)).toEqual([at(11)]);
  });

  it('keeps the members a slice names: a member that reported nothing is missing, errors are per slice', async () => {
    const store = get();
    const d = await census(store, { census: { split: true } });
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((name, i) => store.createSource(source({ name }), hash(i + 1))),
    );
    const members = [a!.id, b!.id, c!.id].sort();
    // a reports its third with the members it was given; b every probe an error; c nothing.
    const pa = {
      ...slicePass(d.id, 5, 0, [0, 85], []),
      slice: { slot: at(5), from: 0, to: 85, of: 254, members },
    };
    const pb = {
      ...slicePass(d.id, 5, 0, [85, 170], []),
      errors: 85,
      slice: { slot: at(5), from: 85, to: 170, of: 254, members },
    };
    await store.census.putPass(a!.id, pa, 2);
    await store.census.putPass(b!.id, pb, 2);
    // An agent before members names none: its pass lists its reporters only.
    await store.census.putPass(a!.id, slicePass(d.id, 4, 0, [0, 127], []), 2);
    const [five, four] = await store.census.listPasses(d.id, 10);
    expect(five).toMatchObject({
      sources: [a!.id, b!.id].sort(),
      members,
      missing: [c!.id],
      covered: 170,
      complete: false,
      errors: 85,
    });
    expect(five!.slices!.map((x) => [x.source, x.errors])).toEqual([
      [a!.id, 0],
      [b!.id, 85],
    ]);
    expect(four).toMatchObject({ slot: at(4), sources: [a!.id], members: [a!.id], missing: [] });
  });

  it('a slice changes only its own hosts: one in a missing slice is neither missed nor gone', async () => {
    const store = get();
    const d = await census(store, { census: { split: true, goneAfter: 2 } });
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const b = await store.createSource(source({ name: 'b' }), hash(2));
    await store.census.putPass(a.id, slicePass(d.id, 0, 0, [0, 127], [['198.18.0.7', 5]]), 2);
    await store.census.putPass(b.id, slicePass(d.id, 0, 0, [127, 254], [['198.18.0.200', 5]]), 2);
    // b goes silent: passes 1 and 2 have only a's slice, neither with an answer.
    await store.census.putPass(a.id, slicePass(d.id, 1, 0, [0, 127], []), 2);
    await store.census.putPass(a.id, slicePass(d.id, 2, 0, [0, 127], []), 2);
    expect(await store.census.listHosts(d.id)).toMatchObject([
      { address: '198.18.0.7', state: 'down', missed: 2 },
      { address: '198.18.0.200', state: 'up', missed: 0, lastSeen: at(0) },
    ]);
    expect(await store.census.listEvents(d.id, 10)).toEqual([
      { at: at(2), address: '198.18.0.7', kind: 'gone' },
      { at: at(0), address: '198.18.0.7', kind: 'appeared' },
      { at: at(0), address: '198.18.0.200', kind: 'appeared' },
    ]);
    expect((await store.census.listPasses(d.id, 10)).map((p) => [p.covered, p.complete])).toEqual([
      [127, false],
      [127, false],
      [254, true],
    ]);
    // Pass 3: a was given the whole census; .200 missed there counts from now.
    await store.census.putPass(a.id, slicePass(d.id, 3, 0, [0, 254], []), 2);
    expect((await store.census.listHosts(d.id)).find((h) => h.address === '198.18.0.200')).toMatchObject({
      state: 'down',
      missed: 1,
    });
    expect((await store.census.listPasses(d.id, 1))[0]).toMatchObject({ sources: [a.id], complete: true });
  });

  it('keeps the pps budget an agent reports on its source, until it reports another', async () => {
    const store = get();
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    expect((await store.getSource(a.id))?.pps).toBeUndefined();
    await store.touchSource(a.id, new Date('2026-01-01T00:00:00Z'), 5000);
    expect((await store.getSource(a.id))?.pps).toBe(5000);
    await store.touchSource(a.id, new Date('2026-01-01T00:00:01Z'));
    expect((await store.getSource(a.id))?.pps).toBe(5000);
    // A new budget is written at once, however soon after the last touch.
    await store.touchSource(a.id, new Date('2026-01-01T00:00:02Z'), 7000);
    expect((await store.listSources()).find((s) => s.id === a.id)?.pps).toBe(7000);
  });
}
