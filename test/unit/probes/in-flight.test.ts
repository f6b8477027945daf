import { describe, expect, it } from 'vitest';
import { type Answer, InFlight, InFlightTable } from '../../../agent/probes/in-flight.js';
import type { ProbeOutcome } from '../../../agent/probes/types.js';

/** A probe to 198.18.0.1 with `seq`, "sent" now, and the promise of its outcome. */
function sent(table: InFlightTable, seq: number, timeoutMs: number) {
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
    0n,
    null,
    resolve,
  );
  table.add(entry);
  entry.sentAt = process.hrtime.bigint();
  table.arm(entry, timeoutMs);
  return { entry, outcome };
}

function reply(at: bigint): Answer {
  return {
    status: 'reply',
    address: '198.18.0.1',
    receivedAt: at,
    rtype: 0,
    rcode: 0,
    datamatch: true,
    ttl: 63,
  };
}

describe('InFlightTable', () => {
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

  it('counts an answer read after the deadline as a timeout, whatever the timer did', async () => {
    const table = new InFlightTable();
    const { entry, outcome } = sent(table, 1, 50);
    table.settle(entry, reply(entry.sentAt + 50_000_001n));
    expect((await outcome).status).toBe('timeout');
  });

  it('frees a seq whose deadline passed before its timer fired, and refuses one still in flight', async () => {
    const table = new InFlightTable();
    const { entry, outcome } = sent(table, 9, 1000);
    expect(table.occupied(entry.key)).toBe(true);
    entry.deadline = process.hrtime.bigint() - 1n; // as if the loop had been busy past the deadline
    expect(table.occupied(entry.key)).toBe(false);
    expect((await outcome).status).toBe('timeout');
    const again = sent(table, 9, 1000);
    expect(() => table.add(again.entry)).toThrow(/added twice/);
    table.failAll('closing');
    expect(await again.outcome).toMatchObject({ status: 'error', detail: 'closing' });
  });
});
