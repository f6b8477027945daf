import { describe, expect, it } from 'vitest';
import {
  decodeIpv4Header,
  decodeIpv4Packet,
  encodeIpv4Header,
  internetChecksum,
  ipv4HeaderLength,
  PacketError,
  parseIpv4,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

// An echo request header as iputils ping sent it to 127.0.0.1 (first packet of icmp-echo-v4.hex).
const PING_HEADER = `
  45        // version 4, IHL 5 (20 bytes)
  00        // tos
  00 54     // total length 84
  91 e5     // id 0x91e5
  40 00     // flags DF, fragment offset 0
  40        // ttl 64
  01        // protocol 1 (icmp)
  aa c1     // header checksum
  7f 00 00 01  // src 127.0.0.1
  7f 00 00 01  // dst 127.0.0.1
`;

function expectPacketError(fn: () => unknown, code: PacketError['code']) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PacketError);
    expect((err as PacketError).code).toBe(code);
    expect((err as PacketError).message).toMatch(/^\[packets\] /);
    return;
  }
  throw new Error(`expected a PacketError ${code}`);
}

describe('IPv4 header', () => {
  it('decodes every field of a literal header', () => {
    const b = Buffer.concat([hex(PING_HEADER), Buffer.alloc(64)]);
    const h = decodeIpv4Packet(b, 0, b.length, { verifyChecksum: true });
    expect(h).toMatchObject({
      version: 4,
      headerLength: 20,
      tos: 0,
      totalLength: 84,
      id: 0x91e5,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 1,
      checksum: 0xaac1,
      src: '127.0.0.1',
      dst: '127.0.0.1',
      payloadOffset: 20,
      payloadEnd: 84,
      truncated: false,
    });
    expect(h.options).toHaveLength(0);
  });

  it('is the header of the captured ping packet byte for byte', () => {
    const captured = capturedPackets('icmp-echo-v4')[0]!;
    expect(captured.subarray(0, 20)).toEqual(hex(PING_HEADER));
  });

  it('decodes options (IHL > 5), fragments and the router-alert-like option bytes', () => {
    const b = hex(`
      46 b8 00 1c  // version 4, IHL 6 (24 bytes), tos 0xb8 (EF), total length 28
      12 34 20 0b  // id 0x1234, MF, fragment offset 11 (88 bytes)
      01 11 00 00  // ttl 1, protocol 17, checksum (unchecked here)
      c6 12 00 02  // src 198.18.0.2
      c6 12 01 01  // dst 198.18.1.1
      94 04 00 00  // option: router alert
      aa bb cc dd  // 4 payload bytes
    `);
    const h = decodeIpv4Header(b);
    expect(h).toMatchObject({
      headerLength: 24,
      tos: 0xb8,
      moreFragments: true,
      dontFragment: false,
      fragmentOffset: 88,
      ttl: 1,
      src: '198.18.0.2',
      dst: '198.18.1.1',
      payloadOffset: 24,
      payloadEnd: 28,
    });
    expect([...h.options]).toEqual([0x94, 0x04, 0x00, 0x00]);
    expect(ipv4HeaderLength(b)).toBe(24);
  });

  it('decodes at an offset and ignores link padding past the total length', () => {
    const b = Buffer.concat([hex('ff ff ff'), hex(PING_HEADER), Buffer.alloc(64), Buffer.alloc(6)]);
    const h = decodeIpv4Packet(b, 3);
    expect(h.payloadOffset).toBe(23);
    expect(h.payloadEnd).toBe(3 + 84);
  });

  it('accepts a quoted (truncated) datagram as a header, not as a packet', () => {
    const b = Buffer.concat([hex(PING_HEADER), Buffer.alloc(8)]);
    const h = decodeIpv4Header(b);
    expect(h.truncated).toBe(true);
    expect(h.payloadEnd).toBe(28);
    expectPacketError(() => decodeIpv4Packet(b), 'truncated');
  });

  it('throws a PacketError for each kind of garbage', () => {
    const good = Buffer.concat([hex(PING_HEADER), Buffer.alloc(64)]);
    expectPacketError(() => decodeIpv4Header(good.subarray(0, 19)), 'truncated');
    const v6 = Buffer.from(good);
    v6[0] = 0x65;
    expectPacketError(() => decodeIpv4Header(v6), 'bad-version');
    const ihl4 = Buffer.from(good);
    ihl4[0] = 0x44;
    expectPacketError(() => decodeIpv4Header(ihl4), 'bad-length');
    const ihl15 = Buffer.from(good.subarray(0, 40));
    ihl15[0] = 0x4f;
    expectPacketError(() => decodeIpv4Header(ihl15), 'truncated');
    const short = Buffer.from(good);
    short.writeUInt16BE(19, 2);
    expectPacketError(() => decodeIpv4Header(short), 'bad-length');
    const badSum = Buffer.from(good);
    badSum[10]! ^= 1;
    expectPacketError(
      () => decodeIpv4Packet(badSum, 0, badSum.length, { verifyChecksum: true }),
      'bad-checksum',
    );
    expectPacketError(() => decodeIpv4Header(good, 0, good.length + 1), 'bad-length');
    expectPacketError(() => decodeIpv4Header(good, 90), 'bad-length');
  });
});

describe('encodeIpv4Header', () => {
  it('writes a header with a valid checksum that decodes to the same fields', () => {
    const b = encodeIpv4Header({
      totalLength: 84,
      id: 0x91e5,
      dontFragment: true,
      ttl: 64,
      protocol: 1,
      src: parseIpv4('127.0.0.1'),
      dst: parseIpv4('127.0.0.1'),
    });
    expect(b).toEqual(hex(PING_HEADER));
    expect(internetChecksum(b)).toBe(0);
  });

  it('rejects out-of-range fields', () => {
    const base = {
      totalLength: 20,
      ttl: 1,
      protocol: 1,
      src: parseIpv4('198.18.0.1'),
      dst: parseIpv4('198.18.0.2'),
    };
    expectPacketError(() => encodeIpv4Header({ ...base, ttl: 256 }), 'bad-field');
    expectPacketError(() => encodeIpv4Header({ ...base, totalLength: 19 }), 'bad-field');
    expectPacketError(() => encodeIpv4Header({ ...base, totalLength: 65536 }), 'bad-field');
    expectPacketError(() => encodeIpv4Header({ ...base, id: 1.5 }), 'bad-field');
    expectPacketError(() => encodeIpv4Header({ ...base, src: new Uint8Array(16) }), 'bad-field');
  });
});
