import { describe, expect, it } from 'vitest';
import {
  decodeIpv6Header,
  decodeIpv6Packet,
  ipv6Addresses,
  PacketError,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

const HEADER = `
  6a 12 34 56                                      // version 6, traffic class 0xa1, flow label 0x23456
  00 0c                                            // payload length 12
  11                                               // next header 17 (udp)
  40                                               // hop limit 64
  fd 00 01 98 00 18 00 01 00 00 00 00 00 00 00 02  // src fd00:198:18:1::2
  fd 00 01 98 00 18 00 02 00 00 00 00 00 00 00 01  // dst fd00:198:18:2::1
`;

describe('IPv6 header', () => {
  it('decodes every field of a literal header', () => {
    const b = Buffer.concat([hex(HEADER), Buffer.alloc(12)]);
    expect(decodeIpv6Packet(b)).toEqual({
      version: 6,
      trafficClass: 0xa1,
      flowLabel: 0x23456,
      payloadLength: 12,
      nextHeader: 17,
      hopLimit: 64,
      src: 'fd00:198:18:1::2',
      dst: 'fd00:198:18:2::1',
      upperProtocol: 17,
      payloadOffset: 40,
      payloadEnd: 52,
      truncated: false,
    });
    expect(ipv6Addresses(b).src).toEqual(b.subarray(8, 24));
  });

  it('decodes the captured ping -6 packet', () => {
    const h = decodeIpv6Packet(capturedPackets('icmp-echo-v6')[0]!);
    expect(h).toMatchObject({ src: '::1', dst: '::1', upperProtocol: 58, hopLimit: 64, payloadLength: 64 });
  });

  it('walks hop-by-hop, destination options and a first fragment to the upper layer', () => {
    const b = Buffer.concat([
      hex(HEADER),
      hex(`
        3c 00 05 02 00 00 01 00  // hop-by-hop: next 60 (dest opts), 8 bytes, router alert + padN
        2c 00 01 04 00 00 00 00  // destination options: next 44 (fragment), 8 bytes, padN
        11 00 00 01 00 00 00 2a  // fragment: next 17, offset 0, M=1, id 42
      `),
    ]);
    b.writeUInt16BE(24 + 8, 4);
    b[6] = 0;
    const h = decodeIpv6Packet(Buffer.concat([b, Buffer.alloc(8)]));
    expect(h.upperProtocol).toBe(17);
    expect(h.payloadOffset).toBe(64);
  });

  it('stops at a non-first fragment, which has no upper-layer header', () => {
    const b = Buffer.concat([hex(HEADER), hex('11 00 00 08 00 00 00 2a  // fragment: next 17, offset 1')]);
    b.writeUInt16BE(8, 4);
    b[6] = 44;
    const h = decodeIpv6Packet(b);
    expect(h.upperProtocol).toBe(44);
    expect(h.payloadOffset).toBe(40);
  });

  it('throws PacketError on garbage', () => {
    const b = Buffer.concat([hex(HEADER), Buffer.alloc(12)]);
    expect(() => decodeIpv6Header(b.subarray(0, 39))).toThrow(PacketError);
    const v4 = Buffer.from(b);
    v4[0] = 0x45;
    expect(() => decodeIpv6Header(v4)).toThrow(/version 4, expected 6/);
    expect(() => decodeIpv6Packet(b.subarray(0, 50))).toThrow(/payload length 12, have 10/);
    const loop = Buffer.concat([hex(HEADER), Buffer.alloc(80)]);
    loop.writeUInt16BE(80, 4);
    loop[6] = 0; // hop-by-hop headers chained forever (next header 0, length 0)
    expect(() => decodeIpv6Packet(loop)).toThrow(/extension headers/);
    const long = Buffer.concat([hex(HEADER), hex('11 ff 00 00 00 00 00 00'), Buffer.alloc(4)]);
    long.writeUInt16BE(12, 4);
    long[6] = 60; // destination options claiming 2048 bytes
    expect(() => decodeIpv6Packet(long)).toThrow(PacketError);
  });
});
