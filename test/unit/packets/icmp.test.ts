import { describe, expect, it } from 'vitest';
import {
  decodeEchoFields,
  decodeIcmpv4,
  decodeIcmpv4Message,
  decodeProbePayload,
  encodeIcmpv4Echo,
  encodeIpv4Header,
  encodeProbePayload,
  encodeUdp,
  icmpv4ChecksumValid,
  internetChecksum,
  PacketError,
  parseIpv4,
  quotedEnd,
  writeEchoHeader,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

const PATTERN = Buffer.from('PINGER!');

/** Whether iputils ping data is the -p pattern repeated from byte 0, with its 16-byte timeval over the start. */
function isPingPattern(payload: Uint8Array): boolean {
  return payload.subarray(16).every((byte, i) => byte === PATTERN[(16 + i) % PATTERN.length]);
}

describe('ICMPv4 echo', () => {
  it('decodes a literal echo request field by field', () => {
    const b = hex(`
      08        // type 8, echo request
      00        // code 0
      4c 2f     // checksum
      00 01     // identifier 1
      00 02     // sequence number 2
      ab cd     // data
    `);
    const m = decodeIcmpv4(b);
    expect(m).toEqual({
      kind: 'echo-request',
      type: 8,
      code: 0,
      checksum: 0x4c2f,
      id: 1,
      seq: 2,
      payload: hex('ab cd'),
    });
    expect(encodeIcmpv4Echo({ id: 1, seq: 2, payload: hex('ab cd') })).toEqual(b);
  });

  it('round-trips an echo carrying a probe payload inside an IPv4 packet', () => {
    const payload = encodeProbePayload({ sourceid: 513, seq: 65535, sentNs: 2n ** 63n + 5n, data: PATTERN });
    const icmp = encodeIcmpv4Echo({ type: 0, id: 0xbeef, seq: 65535, payload });
    const ip = encodeIpv4Header({
      totalLength: 20 + icmp.length,
      ttl: 57,
      protocol: 1,
      src: parseIpv4('198.18.1.1'),
      dst: parseIpv4('198.18.0.2'),
    });
    const m = decodeIcmpv4Message(Buffer.concat([ip, icmp]));
    if (m.kind !== 'echo-reply') throw new Error(m.kind);
    expect(m.ip).toMatchObject({ src: '198.18.1.1', ttl: 57 });
    expect(m).toMatchObject({ id: 0xbeef, seq: 65535 });
    expect(decodeProbePayload(m.payload)).toEqual({
      sourceid: 513,
      seq: 65535,
      sentNs: 2n ** 63n + 5n,
      data: PATTERN,
    });
  });

  it('decodes the captured iputils ping request and reply', () => {
    const [request, reply] = capturedPackets('icmp-echo-v4');
    const req = decodeIcmpv4Message(request!);
    const rep = decodeIcmpv4Message(reply!);
    if (req.kind !== 'echo-request' || rep.kind !== 'echo-reply') throw new Error('kinds');
    expect(rep.id).toBe(req.id);
    expect(req.seq).toBe(1);
    expect(rep.seq).toBe(1);
    expect(req.payload).toHaveLength(56);
    expect(rep.payload).toEqual(req.payload);
    expect(isPingPattern(req.payload)).toBe(true);
    expect(rep.ip).toMatchObject({ src: '127.0.0.1', dst: '127.0.0.1', ttl: 64, protocol: 1 });
    expect(icmpv4ChecksumValid(request!, 20)).toBe(true);
    // Re-encoding the decoded request gives the same bytes, checksum included.
    expect(encodeIcmpv4Echo({ id: req.id, seq: req.seq, payload: req.payload })).toEqual(
      request!.subarray(20),
    );
  });

  it('throws bad-checksum on a flipped bit unless verification is off', () => {
    const request = Buffer.from(capturedPackets('icmp-echo-v4')[0]!);
    request[40]! ^= 0x10;
    expect(() => decodeIcmpv4Message(request)).toThrow(expect.objectContaining({ code: 'bad-checksum' }));
    expect(decodeIcmpv4Message(request, 0, request.length, { verifyChecksum: false }).kind).toBe(
      'echo-request',
    );
  });
});

describe('ICMPv4 errors quoting the original datagram', () => {
  it('time exceeded from a Linux router quotes the whole ping, payload included', () => {
    const [request, answer] = capturedPackets('ttl-exceeded-icmp-v4');
    const m = decodeIcmpv4Message(answer!);
    if (m.kind !== 'time-exceeded') throw new Error(m.kind);
    expect(m).toMatchObject({ type: 11, code: 0 });
    expect(m.ip.src).toBe('198.18.0.1');
    expect(m.quoted.ip).toMatchObject({ src: '198.18.0.2', dst: '198.18.1.1', ttl: 1, truncated: false });
    const t = m.quoted.transport;
    if (t?.protocol !== 'icmp') throw new Error('quoted transport');
    const sent = decodeIcmpv4Message(request!);
    if (sent.kind !== 'echo-request') throw new Error(sent.kind);
    expect(t).toMatchObject({ type: 8, id: sent.id, seq: sent.seq });
    expect(t.payload).toEqual(sent.payload);
  });

  it('host unreachable from a router quotes the ping', () => {
    const m = decodeIcmpv4Message(capturedPackets('unreachable-icmp-v4')[1]!);
    if (m.kind !== 'unreachable') throw new Error(m.kind);
    expect(m).toMatchObject({ type: 3, code: 1 });
    expect(m.ip.src).toBe('198.18.0.1');
    expect(m.quoted.ip.dst).toBe('198.18.2.1');
    expect(m.quoted.transport).toMatchObject({ protocol: 'icmp', type: 8 });
  });

  it('port unreachable quotes the UDP header and its data', () => {
    const [datagram, answer] = capturedPackets('udp-unreachable-v4');
    const m = decodeIcmpv4Message(answer!);
    if (m.kind !== 'unreachable') throw new Error(m.kind);
    expect(m).toMatchObject({ type: 3, code: 3 });
    const t = m.quoted.transport;
    if (t?.protocol !== 'udp') throw new Error('quoted transport');
    expect(t.dstPort).toBe(datagram!.readUInt16BE(22));
    expect(t.srcPort).toBe(datagram!.readUInt16BE(20));
    expect(t.length).toBe(15);
    expect(Buffer.from(t.payload).toString()).toBe('PINGER!');
  });

  it('time exceeded for UDP and TCP probes quotes ports (and the TCP sequence number)', () => {
    const udp = decodeIcmpv4Message(capturedPackets('ttl-exceeded-udp-v4')[1]!);
    if (udp.kind !== 'time-exceeded') throw new Error(udp.kind);
    expect(udp.quoted.transport).toMatchObject({ protocol: 'udp', dstPort: 33434, length: 15 });

    const [syn, answer] = capturedPackets('ttl-exceeded-tcp-v4');
    const tcp = decodeIcmpv4Message(answer!);
    if (tcp.kind !== 'time-exceeded') throw new Error(tcp.kind);
    expect(tcp.quoted.transport).toEqual({
      protocol: 'tcp',
      srcPort: syn!.readUInt16BE(20),
      dstPort: 80,
      seq: syn!.readUInt32BE(24),
      flags: 0x02,
    });
  });

  it('an RFC 792 minimal quote (IP header + 8 bytes) still gives ports; fewer gives no transport', () => {
    const original = encodeUdp({ srcPort: 40000, dstPort: 33434, payload: PATTERN });
    const ip = encodeIpv4Header({
      totalLength: 20 + original.length,
      ttl: 1,
      protocol: 17,
      src: parseIpv4('198.18.0.2'),
      dst: parseIpv4('198.18.1.1'),
    });
    const quote = Buffer.concat([ip, original]).subarray(0, 28);
    const msg = (q: Buffer) => {
      const b = Buffer.concat([hex('0b 00 00 00 00 00 00 00'), q]);
      b.writeUInt16BE(internetChecksum(b), 2);
      return b;
    };
    const m = decodeIcmpv4(msg(quote));
    if (m.kind !== 'time-exceeded') throw new Error(m.kind);
    expect(m.quoted.ip.truncated).toBe(true);
    expect(m.quoted.transport).toEqual({
      protocol: 'udp',
      srcPort: 40000,
      dstPort: 33434,
      length: 15,
      payload: Buffer.alloc(0),
    });
    const short = decodeIcmpv4(msg(quote.subarray(0, 24)));
    if (short.kind !== 'time-exceeded') throw new Error(short.kind);
    expect(short.quoted.transport).toBeNull();
  });

  it('honours an RFC 4884 length: extension objects after the quote are not taken as quoted data', () => {
    const answer = capturedPackets('ttl-exceeded-icmp-v4')[1]!;
    const icmp = Buffer.from(answer.subarray(20));
    // Claim the quote is 32 words (128 bytes) and append 8 bytes of "extension": only 128 bytes are quoted.
    const padded = Buffer.concat([
      icmp.subarray(0, 8),
      icmp.subarray(8),
      Buffer.alloc(128 - 84),
      hex('20 00 00 00 00 08 01 01'),
    ]);
    padded[5] = 32;
    padded.writeUInt16BE(0, 2);
    padded.writeUInt16BE(internetChecksum(padded), 2);
    const m = decodeIcmpv4(padded);
    if (m.kind !== 'time-exceeded' || m.quoted.transport?.protocol !== 'icmp') throw new Error('decode');
    expect(m.quoted.transport.payload).toHaveLength(56);
    padded[5] = 255;
    padded.writeUInt16BE(0, 2);
    padded.writeUInt16BE(internetChecksum(padded), 2);
    expect(() => decodeIcmpv4(padded)).toThrow(expect.objectContaining({ code: 'bad-length' }));
  });

  it('other types are reported with their body, and non-ICMP packets are refused', () => {
    const b = hex('0d 00 f2 ff 00 00 00 00  // timestamp request, zero body');
    expect(decodeIcmpv4(b, 0, b.length, { verifyChecksum: false })).toMatchObject({
      kind: 'other',
      type: 13,
    });
    const tcp = capturedPackets('tcp-rst-v4')[0]!;
    expect(() => decodeIcmpv4Message(tcp)).toThrow(expect.objectContaining({ code: 'unsupported' }));
  });

  it('a quoted garbage IP header throws PacketError', () => {
    const answer = Buffer.from(capturedPackets('ttl-exceeded-icmp-v4')[1]!.subarray(20));
    answer[8] = 0x65; // quoted version 6
    answer.writeUInt16BE(0, 2);
    answer.writeUInt16BE(internetChecksum(answer), 2);
    expect(() => decodeIcmpv4(answer)).toThrow(PacketError);
  });

  it('exposes the building blocks the ICMPv6 receive path uses: echo fields, RFC 4884 quote end, echo header', () => {
    const reply = capturedPackets('icmp-echo-v6')[1]!.subarray(40);
    expect(decodeEchoFields(reply, 0, reply.length)).toMatchObject({ type: 129, code: 0, seq: 1 });
    expect(() => decodeEchoFields(reply, 0, 7)).toThrow(expect.objectContaining({ code: 'truncated' }));
    expect(quotedEnd('icmp6', 0, 0, 100)).toBe(100);
    expect(quotedEnd('icmp6', 64, 0, 100)).toBe(72);
    expect(() => quotedEnd('icmp6', 96, 0, 100)).toThrow(expect.objectContaining({ code: 'bad-length' }));
    const header = writeEchoHeader({ id: 1, seq: 2, payload: hex('aa') }, 128);
    expect(header).toEqual(hex('80 00 00 00 00 01 00 02 aa  // type 128, checksum left 0 for the kernel'));
  });

  it('rejects out-of-range echo fields', () => {
    expect(() => encodeIcmpv4Echo({ id: 65536, seq: 0 })).toThrow(PacketError);
    expect(() => encodeIcmpv4Echo({ id: 0, seq: -1 })).toThrow(PacketError);
    expect(encodeIcmpv4Echo({ id: 0, seq: 0, payload: new Uint8Array(65507) })).toHaveLength(65515);
    expect(() => encodeIcmpv4Echo({ id: 0, seq: 0, payload: new Uint8Array(65508) })).toThrow(/echo length/);
  });
});
