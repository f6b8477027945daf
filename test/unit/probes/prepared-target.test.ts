/**
 * A prober keeps what it derives from a target on the target object (prepared-target.ts): it must never serve
 * that stale. The same object reused with another address or data, a target of the other family, a frozen or a
 * fresh object per probe: every probe goes out to the target's current address with its current data. An ICMP
 * prober is given a stand-in channel that records what it would send (no socket, no privileges).
 */
import { describe, expect, it } from 'vitest';
import { IcmpProber } from '../../../agent/probes/icmp.js';
import { InFlightTable } from '../../../agent/probes/in-flight.js';
import { prepare, preparedOf } from '../../../agent/probes/prepared-target.js';
import type { RawChannel, SendDone } from '../../../agent/probes/raw-channel.js';
import type { ProbeOutcome, ProbeTarget } from '../../../agent/probes/types.js';

interface Sent {
  address: string;
  packet: Buffer;
}

function prober(protocol: 'icmp' | 'icmp6') {
  const sent: Sent[] = [];
  const channel = {
    send(packet: Buffer, address: string, _ttl: number, done: SendDone, length = packet.length) {
      sent.push({ address, packet: Buffer.from(packet.subarray(0, length)) });
      done(null, process.hrtime.bigint());
    },
  };
  return { prober: new IcmpProber(protocol, 77, channel as unknown as RawChannel), sent };
}

function target(address: string, data = 'abc'): ProbeTarget {
  return { protocol: 'icmp', address, port: null, ttl: 64, timeout: 1000, data };
}

const outcomes: ProbeOutcome[] = [];
const keep = (o: ProbeOutcome) => outcomes.push(o);

describe('prepared targets', () => {
  it('follow a reused target object to its new address and data', () => {
    const { prober: p, sent } = prober('icmp');
    const t = target('198.18.0.1', 'first');
    p.send(t, 1, keep);
    t.address = '198.18.0.2';
    p.send(t, 2, keep);
    t.data = 'second';
    p.send(t, 3, keep);
    expect(sent.map((s) => s.address)).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.2']);
    expect(sent.map((s, n) => s.packet.subarray(-(n < 2 ? 5 : 6)).toString())).toEqual([
      'first',
      'first',
      'second',
    ]);
    // Each probe is filed under its own address: the table finds it there (an answer would).
    expect(p.table.oldest('198.18.0.1', 1)).toBeDefined();
    expect(p.table.oldest('198.18.0.2', 2)).toBeDefined();
    expect(p.table.oldest('198.18.0.1', 2)).toBeUndefined();
    p.table.failAll('done');
  });

  it('are per family: a target refused by one prober is not taken by the other, and vice versa', () => {
    const v4 = prober('icmp');
    const v6 = prober('icmp6');
    const t = target('fd00:198:18::0001');
    v6.prober.send(t, 1, keep);
    v4.prober.send(t, 1, keep);
    expect(outcomes.at(-1)).toMatchObject({ status: 'error', detail: expect.stringMatching(/not an IPv4/) });
    v6.prober.send(t, 2, keep);
    // Sent in canonical form, twice; the IPv4 prober sent nothing.
    expect(v6.sent.map((s) => s.address)).toEqual(['fd00:198:18::1', 'fd00:198:18::1']);
    expect(v4.sent).toEqual([]);
    v6.prober.table.failAll('done');
  });

  it('work on frozen and fresh objects alike', () => {
    const { prober: p, sent } = prober('icmp');
    const frozen = Object.freeze(target('198.18.0.3', 'cold'));
    p.send(frozen, 1, keep);
    p.send(frozen, 2, keep);
    for (let seq = 0; seq < 3; seq++) p.send(target('198.18.0.4', `fresh${seq}`), seq, keep);
    expect(sent.map((s) => s.address)).toEqual(['198.18.0.3', '198.18.0.3', ...Array(3).fill('198.18.0.4')]);
    expect(sent.at(-1)!.packet.subarray(-6).toString()).toBe('fresh2');
    p.table.failAll('done');
  });

  it('are kept on the object out of sight (no string key, not in JSON), and checked on every use', () => {
    const t = target('198.18.0.5');
    const p = prepare(t, 4, '198.18.0.5', new Uint8Array([1]));
    expect(preparedOf(t, 4)).toBe(p);
    expect(p.addressHash).toBe(InFlightTable.addressHash('198.18.0.5'));
    expect(Object.keys(t)).toEqual(['protocol', 'address', 'port', 'ttl', 'timeout', 'data']);
    expect(JSON.parse(JSON.stringify(t))).toEqual({ ...target('198.18.0.5') });
    expect(preparedOf(t, 6)).toBeUndefined();
    expect(preparedOf({ ...t, data: 'other' }, 4)).toBeUndefined();
    expect(preparedOf({ ...t, address: '198.18.0.6' }, 4)).toBeUndefined();
    // Its pseudo-header is rebuilt for a new source, and reused for the same one.
    const src = new Uint8Array([198, 18, 0, 9]);
    const pseudo = p.pseudoFrom(src);
    expect(pseudo).toEqual({ src, dst: new Uint8Array([198, 18, 0, 5]) });
    expect(p.pseudoFrom(src)).toBe(pseudo);
    expect(p.pseudoFrom(new Uint8Array([198, 18, 0, 9]))).not.toBe(pseudo);
  });
});
