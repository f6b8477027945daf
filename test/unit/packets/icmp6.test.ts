import { describe, expect, it } from 'vitest';
import {
  decodeIcmpv6Message,
  decodeIpv6Packet,
  decodeProbePayload,
  encodeIcmpv6Echo,
  encodeProbePayload,
  icmpv6ChecksumValid,
  ipv6Addresses,
  PacketError,
  parseIpv6,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

const LOOPBACK = { src: parseIpv6('::1'), dst: parseIpv6('::1') };

/** The ICMPv6 message of a captured packet, as a raw ICMPv6 socket would receive it (no IPv6 header). */
function icmpOf(packet: Buffer) {
  const ip = decodeIpv6Packet(packet);
  return { ip, icmp: packet.subarray(ip.payloadOffset, ip.payloadEnd), addresses: ipv6Addresses(packet) };
}

describe('ICMPv6 echo', () => {
  it('decodes the captured ping -6 request field by field', () => {
    const { icmp } = icmpOf(capturedPackets('icmp-echo-v6')[0]!);
    const literal = hex(`
      80                       // type 128, echo request
      00                       // code 0
      d9 3e                    // checksum (kernel-computed over the pseudo-header)
      38 71                    // identifier
      00 01                    // sequence number 1
      98 72 02 6b 00 00 00 00  // iputils timeval, seconds
      65 86 06 00 00 00 00 00  // iputils timeval, microseconds
      4e 47 45 52 21           // the -p pattern "PINGER!" from byte 16 of the data: "NGER!"
      50 49 4e 47 45 52 21 50 49 4e 47 45 52 21 50 49 4e 47 45 52 21  // "PINGER!" x 3
      50 49 4e 47 45 52 21 50 49 4e 47 45 52 21                        // "PINGER!" x 2
    `);
    expect(icmp).toEqual(literal);
    const m = decodeIcmpv6Message(icmp, 0, icmp.length, { verifyChecksum: LOOPBACK });
    expect(m).toMatchObject({
      kind: 'echo-request',
      type: 128,
      code: 0,
      checksum: 0xd93e,
      id: 0x3871,
      seq: 1,
    });
    if (m.kind !== 'echo-request') throw new Error(m.kind);
    // Our encoder computes the same checksum the kernel did.
    expect(encodeIcmpv6Echo({ id: m.id, seq: m.seq, payload: m.payload }, LOOPBACK)).toEqual(literal);
  });

  it('decodes the captured reply and matches it to the request', () => {
    const [request, reply] = capturedPackets('icmp-echo-v6');
    const req = decodeIcmpv6Message(icmpOf(request!).icmp);
    const rep = decodeIcmpv6Message(icmpOf(reply!).icmp);
    if (req.kind !== 'echo-request' || rep.kind !== 'echo-reply') throw new Error('kinds');
    expect([rep.id, rep.seq]).toEqual([req.id, req.seq]);
    expect(rep.payload).toEqual(req.payload);
  });

  it('leaves the checksum 0 for the kernel without addresses, and round-trips a probe payload', () => {
    const payload = encodeProbePayload({ sourceid: 9, seq: 0, sentNs: 1n, data: Buffer.from('x') });
    const b = encodeIcmpv6Echo({ id: 7, seq: 0, payload });
    expect(b.readUInt16BE(2)).toBe(0);
    const m = decodeIcmpv6Message(b);
    if (m.kind !== 'echo-request') throw new Error(m.kind);
    expect(decodeProbePayload(m.payload)).toMatchObject({ sourceid: 9, seq: 0, sentNs: 1n });
  });

  it('verifies checksums only when given the pseudo-header addresses', () => {
    const { icmp, addresses } = icmpOf(capturedPackets('icmp-echo-v6')[1]!);
    const bad = Buffer.from(icmp);
    bad[20]! ^= 1;
    expect(icmpv6ChecksumValid(icmp, addresses)).toBe(true);
    expect(icmpv6ChecksumValid(bad, addresses)).toBe(false);
    expect(decodeIcmpv6Message(bad).kind).toBe('echo-reply');
    expect(() => decodeIcmpv6Message(bad, 0, bad.length, { verifyChecksum: addresses })).toThrow(
      expect.objectContaining({ name: 'PacketError', code: 'bad-checksum' }),
    );
  });
});

describe('ICMPv6 errors quoting the invoking packet', () => {
  it('time exceeded from a Linux router quotes the ping with its payload', () => {
    const [request, answer] = capturedPackets('ttl-exceeded-icmp-v6');
    const { ip, icmp, addresses } = icmpOf(answer!);
    expect(ip.src).toBe('fd00:198:18:1::1');
    const m = decodeIcmpv6Message(icmp, 0, icmp.length, { verifyChecksum: addresses });
    if (m.kind !== 'time-exceeded') throw new Error(m.kind);
    expect(m).toMatchObject({ type: 3, code: 0 });
    expect(m.quoted.ip).toMatchObject({ src: 'fd00:198:18:1::2', dst: 'fd00:198:18:2::1', hopLimit: 1 });
    const sent = decodeIcmpv6Message(icmpOf(request!).icmp);
    if (sent.kind !== 'echo-request' || m.quoted.transport?.protocol !== 'icmp') throw new Error('decode');
    expect(m.quoted.transport).toMatchObject({ type: 128, id: sent.id, seq: sent.seq });
    expect(m.quoted.transport.payload).toEqual(sent.payload);
  });

  it('no-route unreachable from a router quotes the ping', () => {
    const m = decodeIcmpv6Message(icmpOf(capturedPackets('unreachable-icmp-v6')[1]!).icmp);
    if (m.kind !== 'unreachable') throw new Error(m.kind);
    expect(m).toMatchObject({ type: 1, code: 0 });
    expect(m.quoted.ip.dst).toBe('fd00:198:18:3::1');
    expect(m.quoted.transport).toMatchObject({ protocol: 'icmp', type: 128 });
  });

  it('port unreachable quotes the UDP header and data', () => {
    const [datagram, answer] = capturedPackets('udp-unreachable-v6');
    const { icmp } = icmpOf(answer!);
    const m = decodeIcmpv6Message(icmp, 0, icmp.length, { verifyChecksum: LOOPBACK });
    if (m.kind !== 'unreachable' || m.quoted.transport?.protocol !== 'udp') throw new Error('decode');
    expect(m.code).toBe(4);
    expect(m.quoted.transport.srcPort).toBe(datagram!.readUInt16BE(40));
    expect(m.quoted.transport.dstPort).toBe(datagram!.readUInt16BE(42));
    expect(Buffer.from(m.quoted.transport.payload).toString()).toBe('PINGER!');
  });

  it('time exceeded quotes UDP ports and the TCP SYN sequence number', () => {
    const udp = decodeIcmpv6Message(icmpOf(capturedPackets('ttl-exceeded-udp-v6')[1]!).icmp);
    if (udp.kind !== 'time-exceeded') throw new Error(udp.kind);
    expect(udp.quoted.transport).toMatchObject({ protocol: 'udp', dstPort: 33434, length: 15 });
    const [syn, answer] = capturedPackets('ttl-exceeded-tcp-v6');
    const tcp = decodeIcmpv6Message(icmpOf(answer!).icmp);
    if (tcp.kind !== 'time-exceeded') throw new Error(tcp.kind);
    expect(tcp.quoted.transport).toEqual({
      protocol: 'tcp',
      srcPort: syn!.readUInt16BE(40),
      dstPort: 80,
      seq: syn!.readUInt32BE(44),
      flags: 0x02,
    });
  });

  it('reports other types with their body and throws PacketError on short or inconsistent messages', () => {
    expect(decodeIcmpv6Message(hex('87 00 00 00 00 00 00 00'))).toMatchObject({ kind: 'other', type: 135 });
    expect(() => decodeIcmpv6Message(hex('80 00 00'))).toThrow(PacketError);
    expect(() => decodeIcmpv6Message(hex('80 00 00 00 00 01'))).toThrow(/truncated|need 8/);
    expect(() => decodeIcmpv6Message(hex('03 00 00 00 00 00 00 00'))).toThrow(/ipv6 header/);
    const { icmp } = icmpOf(capturedPackets('ttl-exceeded-icmp-v6')[1]!);
    const long = Buffer.from(icmp);
    long[4] = 100; // RFC 4884 length of 800 bytes in a 152-byte message
    expect(() => decodeIcmpv6Message(long)).toThrow(expect.objectContaining({ code: 'bad-length' }));
  });
});
