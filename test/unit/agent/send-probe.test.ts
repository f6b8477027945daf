import { describe, expect, it } from 'vitest';
import type { OutcomeCallback, ProbeOutcome, Prober, ProbeTarget } from '../../../agent/probes/types.js';
import { type DnsFunctions, Resolver } from '../../../agent/schedule/resolve.js';
import type { ScheduledDestination } from '../../../agent/schedule/scheduler.js';
import { engineSender } from '../../../agent/schedule/send-probe.js';
import type { Destination, ResultInput } from '../../../contract/index.js';
import { FakeClock } from './fake-clock.js';
import { destination } from './fixtures.js';

/** A prober that records each send and answers it when the test says (or at once with `sync`). */
function fakeProber(sync = false) {
  const sends: { target: ProbeTarget; seq: number; done: OutcomeCallback }[] = [];
  const outcome = (target: ProbeTarget, seq: number): ProbeOutcome => ({
    rtime: '1700000000000000000',
    target: target.address,
    protocol: target.protocol,
    address: target.address,
    rtt: 1.5,
    rtype: 0,
    rcode: 0,
    rid: 7,
    rseq: seq,
    datamatch: null,
    status: 'reply',
    ttl: 64,
    detail: 'for logs only',
  });
  const prober: Prober = {
    protocol: 'icmp',
    send(target, seq, done) {
      sends.push({ target, seq, done });
      if (sync) done(outcome(target, seq));
    },
    probe: () => Promise.reject(new Error('the agent uses send()')),
    sweep: () => {
      throw new Error('the scheduler does not sweep');
    },
  };
  const answer = (i: number) => sends[i]!.done(outcome(sends[i]!.target, sends[i]!.seq));
  return { prober, sends, answer };
}

/** A DNS that answers from a table (never the network) and counts its queries. */
function fakeDns(records: Record<string, string>) {
  const queries: string[] = [];
  const dns: DnsFunctions = {
    async resolve4(name) {
      queries.push(name);
      const address = records[name];
      if (address === undefined) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return [{ address, ttl: 60 }];
    },
    resolve6: () => Promise.reject(new Error('ENODATA')),
    lookup: () => Promise.reject(new Error('ENOTFOUND')),
  };
  return { dns, queries };
}

const scheduled = (d: Destination): ScheduledDestination => ({ destination: d, memo: undefined });
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('engineSender', () => {
  it('sends to a literal at once, with no promise, and hands on the outcome stamped with the destination', () => {
    const { prober, sends } = fakeProber(true);
    const { dns, queries } = fakeDns({});
    const send = engineSender(() => ({ prober: () => prober }), new Resolver({ dns }));
    const d = scheduled(destination('dst_a', { address: '198.18.0.1', ttl: 9, data: 'xy', timeout: 700 }));
    const results: ResultInput[] = [];
    send(d, 41, (r) => results.push(r));
    // Answered before send() returned: the whole path ran synchronously.
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      destination: 'dst_a',
      rseq: 41,
      status: 'reply',
      address: '198.18.0.1',
    });
    expect(results[0]).not.toHaveProperty('detail');
    expect(sends[0]!.target).toMatchObject({
      protocol: 'icmp',
      address: '198.18.0.1',
      port: null,
      ttl: 9,
      timeout: 700,
      data: 'xy',
    });
    expect(queries).toEqual([]);
  });

  it('keeps one ProbeTarget and outcome callback per destination in its memo, rebuilt when the destination changes', () => {
    const { prober, sends } = fakeProber(true);
    const dns = fakeDns({}).dns;
    const send = engineSender(() => ({ prober: () => prober }), new Resolver({ dns }));
    const d = scheduled(destination('dst_a', { address: '198.18.0.1' }));
    const results: ResultInput[] = [];
    const done = (r: ResultInput) => results.push(r);
    for (let seq = 0; seq < 3; seq++) send(d, seq, done);
    expect(d.memo).toBeDefined();
    expect(new Set(sends.map((s) => s.target)).size).toBe(1);
    // The same `done` (the scheduler's): one outcome callback for every probe, nothing made per probe.
    expect(new Set(sends.map((s) => s.done)).size).toBe(1);
    // Another `done` still gets its own result.
    const other: ResultInput[] = [];
    send(d, 3, (r) => other.push(r));
    expect(results.map((r) => r.rseq)).toEqual([0, 1, 2]);
    expect(other.map((r) => [r.destination, r.rseq])).toEqual([['dst_a', 3]]);
    // The scheduler replaces the destination object on a change; the memo follows even if it was not reset.
    const changed = { destination: { ...d.destination, ttl: 3 }, memo: d.memo };
    send(changed, 4, done);
    expect(sends[4]!.target).not.toBe(sends[0]!.target);
    expect(sends[4]!.target.ttl).toBe(3);
    expect(changed.memo).not.toBe(d.memo);
    // A sender over a new engine never reuses another sender's memo (its outcome callback).
    const { prober: prober2, sends: sends2 } = fakeProber(true);
    const send2 = engineSender(() => ({ prober: () => prober2 }), new Resolver({ dns }));
    send2(d, 5, done);
    expect(sends2[0]!.done).not.toBe(sends[0]!.done);
    expect(results.map((r) => r.rseq)).toEqual([0, 1, 2, 4, 5]);
  });

  it('waits for the resolver for a name due for resolution, then sends from the cache without waiting', async () => {
    const { prober, sends, answer } = fakeProber();
    const { dns, queries } = fakeDns({ 'probe.example': '198.18.0.7' });
    const send = engineSender(() => ({ prober: () => prober }), new Resolver({ dns }));
    const d = scheduled(destination('dst_n', { address: 'probe.example' }));
    const results: ResultInput[] = [];
    send(d, 0, (r) => results.push(r));
    expect(sends).toHaveLength(0);
    await flush();
    expect(sends).toHaveLength(1);
    expect(sends[0]!.target.address).toBe('198.18.0.7');
    // Now cached: the next probe leaves before send() returns.
    send(d, 1, (r) => results.push(r));
    expect(sends).toHaveLength(2);
    expect(sends[1]!.target).toBe(sends[0]!.target);
    answer(1);
    answer(0);
    expect(results.map((r) => [r.destination, r.rseq])).toEqual([
      ['dst_n', 1],
      ['dst_n', 0],
    ]);
    expect(queries).toEqual(['probe.example']);
  });

  it('turns a name that does not resolve, or a prober that throws after the wait, into one error result', async () => {
    const clock = new FakeClock(5000);
    const { dns } = fakeDns({ 'late.example': '198.18.0.8' });
    let closed = false;
    const engine = () => ({
      prober: (): Prober => {
        if (closed) throw new Error('[probes] the engine is closed');
        return fakeProber(true).prober;
      },
    });
    const send = engineSender(engine, new Resolver({ dns }), clock);
    const results: ResultInput[] = [];
    send(scheduled(destination('dst_x', { address: 'nowhere.example' })), 5, (r) => results.push(r));
    send(scheduled(destination('dst_6', { address: 'nowhere.example', protocol: 'icmp6' })), 6, (r) =>
      results.push(r),
    );
    // The engine closes while the name resolves.
    send(scheduled(destination('dst_l', { address: 'late.example' })), 7, (r) => results.push(r));
    closed = true;
    for (let i = 0; i < 5; i++) await flush();
    expect(results).toHaveLength(3);
    const byId = Object.fromEntries(results.map((r) => [r.destination, r]));
    expect(byId.dst_x).toMatchObject({
      rseq: 5,
      status: 'error',
      target: '0.0.0.0',
      protocol: 'icmp',
      address: null,
      rtt: null,
      rtime: clock.wallNs().toString(),
    });
    expect(byId.dst_6).toMatchObject({ rseq: 6, status: 'error', target: '::', protocol: 'icmp6' });
    expect(byId.dst_l).toMatchObject({ rseq: 7, status: 'error' });
    // On the synchronous path the throw reaches the caller (the scheduler records it as the error result).
    expect(() => send(scheduled(destination('dst_y', { address: '198.18.0.1' })), 0, () => {})).toThrow(
      /engine is closed/,
    );
  });
});
