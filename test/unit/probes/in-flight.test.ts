import { describe, expect, it } from 'vitest';
import { type Answer, InFlight, InFlightTable } from '../../../agent/probes/in-flight.js';
import type { ProbeOutcome } from '../../../agent/probes/types.js';

/** A probe to 198.18.0.1 with `seq`, "sent" `ageNs` ago (default now), and the promise of its outcome. */
function sent(table: InFlightTable, seq: number, timeoutMs: number, check: bigint = 0n, ageNs = 0n) {
  let resolve!: (o: ProbeOutcome) => void;
  const outcome = new Promise<ProbeOutcome>((r) => {
    resolve = r;
  });
  const entry = new InFlight(
    InFlightTable.key('198.18.0.1', seq),
    'icmp',
    '198.18.0.1',
    null,
    seq,
    7,
    check,
    null,
    resolve,
  );
  table.add(entry);
  entry.sentAt = process.hrtime.bigint() - ageNs;
  table.arm(entry, timeoutMs);
  return { entry, outcome };
}

function reply(at: bigint): Answer {
  return {
    status: 'reply',
    address: '198.18.0.1',
    receivedAt: at,
    receivedReal: 0,
    rtype: 0,
    rcode: 0,
    datamatch: true,
    ttl: 63,
  };
}

describe('InFlightTable', () => {
  it('never gives a negative RTT: an arrival stamped before the send (a wall-clock step) counts when handled', async () => {
    const table = new InFlightTable();
    const { entry, outcome } = sent(table, 1, 1000, 0n, 2_000_000n);
    table.settle(entry, reply(entry.sentAt - 5_000_000n));
    const o = await outcome;
    expect(o.status).toBe('reply');
    // Sent 2 ms ago, handled now: the RTT is the 2 ms, not -5 ms.
    expect(o.rtt).toBeGreaterThanOrEqual(2000);
    expect(o.rtt).toBeLessThan(1_000_000);
  });

  it('settles an answered probe with the RTT in µs from its send time, and forgets it', async () => {
    const table = new InFlightTable();
    const { entry, outcome } = sent(table, 1, 1000);
    table.settle(entry, reply(entry.sentAt + 1_234_567n));
    const o = await outcome;
    expect(o).toMatchObject({
      status: 'reply',
      rtt: 1234.567,
      rseq: 1,
      rid: 7,
      address: '198.18.0.1',
      ttl: 63,
    });
    expect(BigInt(o.rtime)).toBeGreaterThan(1_700_000_000_000_000_000n);
    expect(table.size).toBe(0);
    // A second answer (a duplicate) changes nothing.
    table.settle(entry, reply(entry.sentAt + 2_000_000n));
    expect(table.size).toBe(0);
  });

  it('times out probes with different timeouts, each at its own deadline, with one timer', async () => {
    const table = new InFlightTable();
    const slow = sent(table, 1, 120);
    const fast = sent(table, 2, 20);
    const answered = sent(table, 3, 20);
    table.settle(answered.entry, reply(answered.entry.sentAt + 1000n));
    const first = await Promise.race([slow.outcome.then(() => 'slow'), fast.outcome.then(() => 'fast')]);
    expect(first).toBe('fast');
    expect(await fast.outcome).toMatchObject({ status: 'timeout', rtt: null, address: null, rseq: 2 });
    expect(table.size).toBe(1);
    const s = await slow.outcome;
    expect(s.status).toBe('timeout');
    expect(process.hrtime.bigint() - slow.entry.sentAt).toBeGreaterThanOrEqual(120_000_000n);
    expect(table.size).toBe(0);
  });

  it('lets go of an answered probe at once, and still times out the unanswered ones after the queue is compacted', async () => {
    const table = new InFlightTable();
    // 6,000 probes due in ~1 ms, then 5,000 due in 200 ms in the same queue: the sweep of the first lot cuts them
    // off the queue (past its 4,096-item threshold), so the positions the second lot recorded shift under it.
    const old = Array.from({ length: 6000 }, (_, i) => sent(table, i, 200, 1n, 199_000_000n));
    const young = Array.from({ length: 5000 }, (_, i) => sent(table, 6000 + i, 200, 1n));
    const first = await Promise.all(old.map((p) => p.outcome));
    expect(first.every((o) => o.status === 'timeout')).toBe(true);
    const unanswered: Promise<ProbeOutcome>[] = [];
    for (const [i, p] of young.entries()) {
      if (i % 100 === 0) unanswered.push(p.outcome);
      else {
        table.settle(p.entry, reply(p.entry.sentAt + 1000n));
        // Out of its deadline queue too: nothing keeps the probe (nor its outcome) reachable any more.
        expect(p.entry.queue).toBeUndefined();
      }
    }
    const last = await Promise.all(unanswered);
    expect(last.map((o) => o.status)).toEqual(new Array(50).fill('timeout'));
    expect(table.size).toBe(0);
  });

  it('counts an answer read after the deadline as a timeout, whatever the timer did', async () => {
    const table = new InFlightTable();
    const { entry, outcome } = sent(table, 1, 50);
    table.settle(entry, reply(entry.sentAt + 50_000_001n));
    expect((await outcome).status).toBe('timeout');
  });

  it('keeps several probes with one (target, seq) apart by their check value, oldest first', async () => {
    const table = new InFlightTable();
    const a = sent(table, 9, 1000, 1n);
    const b = sent(table, 9, 1000, 2n);
    const c = sent(table, 9, 1000, 3n);
    const at = ['198.18.0.1', 9] as const;
    expect(table.size).toBe(3);
    expect(table.find(...at, 2n)).toBe(b.entry);
    expect(table.find(...at, 4n)).toBeUndefined();
    expect(table.oldest(...at)).toBe(a.entry);
    // Settling the middle one leaves the others findable, in order.
    table.settle(b.entry, reply(b.entry.sentAt + 1000n));
    expect((await b.outcome).status).toBe('reply');
    expect(table.find(...at, 2n)).toBeUndefined();
    expect(table.find(...at, 3n)).toBe(c.entry);
    table.settle(a.entry, reply(a.entry.sentAt + 1000n));
    expect(table.oldest(...at)).toBe(c.entry);
    expect(() => table.add(c.entry)).toThrow(/added twice/);
    table.failAll('closing');
    expect(await c.outcome).toMatchObject({ status: 'error', detail: 'closing' });
    expect(table.size).toBe(0);
    expect(table.oldest(...at)).toBeUndefined();
  });

  it('tells apart probes of different (target, seq) that share a bucket', () => {
    // Two (target, seq) pairs whose bucket hashes collide (found by the birthday bound, a few tens of thousands).
    const seen = new Map<number, [string, number]>();
    let pair: [[string, number], [string, number]] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const at: [string, number] = [`198.18.${(i >> 8) & 0xff}.${i & 0xff}`, i % 65_536];
      const key = InFlightTable.key(...at);
      const other = seen.get(key);
      if (other) pair = [other, at];
      else seen.set(key, at);
    }
    const [[ta, sa], [tb, sb]] = pair;
    const table = new InFlightTable();
    const probe = (target: string, seq: number) => {
      const entry = new InFlight(
        InFlightTable.key(target, seq),
        'icmp',
        target,
        null,
        seq,
        7,
        5n,
        null,
        () => {},
      );
      table.add(entry);
      entry.sentAt = process.hrtime.bigint();
      return entry;
    };
    const a = probe(ta, sa);
    const b = probe(tb, sb);
    expect(a.key).toBe(b.key);
    expect(table.find(tb, sb, 5n)).toBe(b);
    expect(table.find(ta, sa, 5n)).toBe(a);
    expect(table.oldest(tb, sb)).toBe(b);
    table.fail(a, 'done');
    expect(table.oldest(ta, sa)).toBeUndefined();
    expect(table.find(tb, sb, 5n)).toBe(b);
  });

  it('leaves a probe settled before its send completed out of the deadline queue: removed once, never twice', async () => {
    // A packet waiting in the channel's backlog can be settled (engine closing, an 8-byte-quote error) before its
    // send completes and arms it; the sweep must not then remove it again (size, secondary index).
    const removed: InFlight[] = [];
    const table = new InFlightTable((e) => removed.push(e));
    let outcomes = 0;
    const entry = new InFlight(
      InFlightTable.key('198.18.0.1', 4),
      'icmp',
      '198.18.0.1',
      null,
      4,
      7,
      1n,
      null,
      () => outcomes++,
    );
    table.add(entry);
    table.fail(entry, 'closing');
    entry.sentAt = process.hrtime.bigint();
    table.arm(entry, 1);
    // A probe armed after it, due later: once it times out, the sweep has passed the settled one's deadline.
    const after = sent(table, 5, 5);
    expect((await after.outcome).status).toBe('timeout');
    expect(removed.length).toBe(2);
    expect(removed[0]).toBe(entry);
    expect(removed[1]).toBe(after.entry);
    expect(outcomes).toBe(1);
    expect(table.size).toBe(0);
  });

  it('never names a probe not yet sent as the oldest: an error quoting only (target, seq) is about a sent one', async () => {
    const table = new InFlightTable();
    const a = sent(table, 3, 1000, 1n);
    // Same (target, seq), still waiting in the channel's backlog: added, not sent.
    const waiting = new InFlight(
      InFlightTable.key('198.18.0.1', 3),
      'icmp',
      '198.18.0.1',
      null,
      3,
      7,
      2n,
      null,
      () => {},
    );
    table.add(waiting);
    expect(table.oldest('198.18.0.1', 3)).toBe(a.entry);
    table.settle(a.entry, reply(a.entry.sentAt + 1000n));
    expect(table.oldest('198.18.0.1', 3)).toBeUndefined();
    table.failAll('done');
  });

  it('stamps strictly increasing send times, also within one clock tick', () => {
    const table = new InFlightTable();
    let last = 0n;
    let repeats = 0;
    for (let i = 0; i < 100_000; i++) {
      const t = table.stamp();
      if (t <= last) repeats++;
      last = t;
    }
    expect(repeats).toBe(0);
  });
});
