/**
 * The store contract for one census host's history (issue 11): the passes that probed it, answered or missed, with
 * the RTT of each answer, figures over them, a range and a limit, retried reports counted once, a split pass's
 * missing slice left out, and nothing older than raw retention. Registered by `testStore` for every backend; the
 * store's clock is moved to just after the passes (`setNow`), since history is kept from now − raw retention.
 */
import * as v from 'valibot';
import { expect, it } from 'vitest';
import { DestinationCreateSchema } from '../../contract/index.js';
import type { Store } from '../../control-plane/store/store.js';
import { sourceInput as source } from '../helpers/factories.js';
import type { StoreFixture } from './contract.js';
import { at, pass, slicePass, T } from './contract-census.js';

const hash = (n: number) => String(n).padStart(64, 'd');
/** The store's clock a minute after pass `i`. */
const after = (i: number) => new Date(Number((T + BigInt(i + 1) * 60_000_000_000n) / 1_000_000n));
const DAY_NS = 86_400_000_000_000n;

export function censusHistoryContract(getFixture: () => StoreFixture): void {
  const census = async (store: Store, extra: Record<string, unknown> = {}) =>
    store.createDestination(v.parse(DestinationCreateSchema, { address: '198.18.0.0/24', ...extra }));

  it('gives a host’s passes, answered or missed, oldest first, with figures, a range and a limit', async () => {
    const { store, setNow } = getFixture();
    setNow?.(after(5));
    const d = await census(store);
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const rtts = [400, 100, null, 300, null, 200];
    for (let i = 0; i < 6; i++) {
      const answers: [string, number | null][] = [['198.18.0.9', 5]];
      // .7 answers in passes 0, 1, 3 and 5; in 2 without an RTT.
      if (i !== 4) answers.push(['198.18.0.7', rtts[i]!]);
      await store.census.putPass(a.id, pass(d.id, i, answers), 2);
    }
    // A retried report of pass 1 changes nothing.
    expect(
      await store.census.putPass(
        a.id,
        pass(d.id, 1, [
          ['198.18.0.9', 5],
          ['198.18.0.7', 100],
        ]),
        2,
      ),
    ).toEqual({ stored: false });
    const history = await store.census.hostHistory(d.id, '198.18.0.7', { limit: 1000 });
    expect(history?.host).toMatchObject({ address: '198.18.0.7', passesAnswered: 5, lastRtt: 200 });
    expect(history?.passes).toEqual([
      { at: at(0), answered: true, rtt: 400 },
      { at: at(1), answered: true, rtt: 100 },
      { at: at(2), answered: true, rtt: null },
      { at: at(3), answered: true, rtt: 300 },
      { at: at(4), answered: false, rtt: null },
      { at: at(5), answered: true, rtt: 200 },
    ]);
    expect(history?.summary).toEqual({
      passes: 6,
      answered: 5,
      loss: 1 / 6,
      rttMin: 100,
      rttMedian: 200,
      rttP90: 400,
      rttMax: 400,
    });
    expect(history?.more).toBe(false);
    const nowNs = BigInt(after(5).getTime()) * 1_000_000n;
    expect(history?.to).toBe(nowNs.toString());
    expect(history?.kept).toBe((nowNs - 14n * DAY_NS).toString());
    expect(history?.from).toBe(history?.kept);

    const ranged = await store.census.hostHistory(d.id, '198.18.0.7', {
      from: BigInt(at(2)),
      to: BigInt(at(4)),
      limit: 1000,
    });
    expect(ranged?.passes.map((p) => [p.at, p.answered])).toEqual([
      [at(2), true],
      [at(3), true],
      [at(4), false],
    ]);
    expect(ranged?.summary).toMatchObject({ passes: 3, answered: 2, rttMin: 300, rttMax: 300 });
    const limited = await store.census.hostHistory(d.id, '198.18.0.7', { limit: 2 });
    expect(limited?.passes.map((p) => p.at)).toEqual([at(4), at(5)]);
    expect(limited?.more).toBe(true);

    // Not a host: an address that never answered, or one outside the prefix.
    expect(await store.census.hostHistory(d.id, '198.18.0.8', { limit: 10 })).toBeUndefined();
    expect(await store.census.hostHistory(d.id, '10.0.0.1', { limit: 10 })).toBeUndefined();
  });

  it('keeps a host’s answers as long as raw results: older passes are not listed, pruned or not', async () => {
    const { store, setNow } = getFixture();
    setNow?.(after(3));
    const d = await census(store);
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    for (let i = 0; i < 4; i++) await store.census.putPass(a.id, pass(d.id, i, [['198.18.0.7', 10 + i]]), 2);
    // Raw retention is 14 days (the default): two minutes past that, passes 0 and 1 are gone.
    const later = new Date(after(1).getTime() + 14 * 86_400_000);
    setNow?.(later);
    const before = await store.census.hostHistory(d.id, '198.18.0.7', { limit: 10 });
    expect(before?.passes.map((p) => p.at)).toEqual([at(2), at(3)]);
    while ((await store.stats!.prune(later)).more);
    const pruned = await store.census.hostHistory(d.id, '198.18.0.7', { limit: 10 });
    expect(pruned).toEqual(before);
    expect(pruned?.summary).toMatchObject({ passes: 2, answered: 2, rttMin: 12, rttMax: 13 });
  });

  it('lists a split pass where the slice holding the host was reported, not where its source was silent', async () => {
    const { store, setNow } = getFixture();
    setNow?.(after(3));
    const d = await census(store, { census: { split: true } });
    const a = await store.createSource(source({ name: 'a' }), hash(1));
    const b = await store.createSource(source({ name: 'b' }), hash(2));
    // 198.18.0.200 is address 199: b's slice. b reports slots 0 and 2, is silent at 1, and misses it at 3.
    await store.census.putPass(a.id, slicePass(d.id, 0, 0, [0, 127], []), 2);
    await store.census.putPass(b.id, slicePass(d.id, 0, 2, [127, 254], [['198.18.0.200', 60]]), 2);
    await store.census.putPass(a.id, slicePass(d.id, 1, 0, [0, 127], []), 2);
    await store.census.putPass(b.id, slicePass(d.id, 2, 1, [127, 254], [['198.18.0.200', 70]]), 2);
    await store.census.putPass(b.id, slicePass(d.id, 3, 1, [127, 254], []), 2);
    const history = await store.census.hostHistory(d.id, '198.18.0.200', { limit: 10 });
    // Seen at the slot, like lastSeen.
    expect(history?.passes).toEqual([
      { at: at(0), answered: true, rtt: 60 },
      { at: at(2), answered: true, rtt: 70 },
      { at: at(3), answered: false, rtt: null },
    ]);
    expect(history?.host.lastSeen).toBe(at(2));
    // The limit counts passes that probed the host: slot 1 (b silent) neither fills it nor hides `more`.
    const two = await store.census.hostHistory(d.id, '198.18.0.200', { limit: 2 });
    expect([two?.passes.map((p) => p.at), two?.more]).toEqual([[at(2), at(3)], true]);
    const three = await store.census.hostHistory(d.id, '198.18.0.200', { limit: 3 });
    expect([three?.passes.map((p) => p.at), three?.more]).toEqual([[at(0), at(2), at(3)], false]);
  });
}
