import { describe, expect, it } from 'vitest';
import {
  decodeIpv4Packet,
  decodeIpv6Packet,
  decodeTcp,
  decodeUdp,
  foldSum,
  internetChecksum,
  ipv4Addresses,
  ipv6Addresses,
  onesComplementSum,
  PacketError,
  pseudoHeaderSum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

describe('internetChecksum (RFC 1071)', () => {
  it('matches the worked example of RFC 1071 §3', () => {
    const data = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(foldSum(onesComplementSum(data))).toBe(0xddf2);
    expect(internetChecksum(data)).toBe(0x220d);
  });

  it('computes a known IPv4 header checksum, and 0 over a header that includes it', () => {
    const header = hex(`
      45 00 00 73  // version 4, IHL 5, tos 0, total length 115
      00 00 40 00  // id 0, DF
      40 11 00 00  // ttl 64, protocol 17 (udp), checksum zeroed
      c0 a8 00 01  // 192.168.0.1
      c0 a8 00 c7  // 192.168.0.199
    `);
    expect(internetChecksum(header)).toBe(0xb861);
    header.writeUInt16BE(0xb861, 10);
    expect(internetChecksum(header)).toBe(0);
  });

  it('pads an odd last byte with zero', () => {
    expect(internetChecksum(hex('12 34 56'))).toBe(internetChecksum(hex('12 34 56 00')));
    expect(internetChecksum(hex('ff'))).toBe(0x00ff);
  });

  it('agrees with a word-at-a-time reference on every length 0–300 and start offset 0–3', () => {
    const data = Buffer.alloc(304);
    for (let i = 0; i < data.length; i++) data[i] = (i * 151 + 7) & 0xff;
    const reference = (b: Buffer, start: number, end: number) => {
      let sum = 0;
      for (let i = start; i < end; i += 2) {
        sum += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
        sum = (sum & 0xffff) + (sum >>> 16);
      }
      return ~sum & 0xffff;
    };
    for (let start = 0; start < 4; start++) {
      for (let len = 0; len <= 300; len++) {
        expect(internetChecksum(data, start, start + len)).toBe(reference(data, start, start + len));
      }
    }
  });

  it('chains partial sums and an initial pseudo-header sum', () => {
    const data = hex('de ad be ef 01 02 03 04 05');
    expect(internetChecksum(data, 4, 9, onesComplementSum(data, 0, 4))).toBe(internetChecksum(data));
  });

  it('folds the carries of long buffers (64 KiB of 0xff)', () => {
    expect(internetChecksum(Buffer.alloc(65536, 0xff))).toBe(0);
    expect(foldSum(onesComplementSum(Buffer.alloc(65536, 0xff)))).toBe(0xffff);
  });

  it('rejects a window outside the buffer with a PacketError', () => {
    expect(() => internetChecksum(hex('00 01'), 0, 3)).toThrow(PacketError);
    expect(() => internetChecksum(hex('00 01'), -1, 2)).toThrow(PacketError);
  });
});

describe('pseudo-header sums', () => {
  // The Linux kernel leaves TCP/UDP checksums of local traffic partial (CHECKSUM_PARTIAL): the field holds the
  // folded pseudo-header sum, to be completed by offload. So each captured kernel segment checks our
  // pseudo-header arithmetic against the kernel's own, for both families.
  const kernelSegments = [
    ['tcp-rst-v4', 0],
    ['tcp-synack-v4', 0],
    ['tcp-synack-v4', 1],
    ['ttl-exceeded-udp-v4', 0],
    ['udp-unreachable-v4', 0],
    ['tcp-rst-v6', 0],
    ['tcp-rst-v6', 1],
    ['tcp-synack-v6', 1],
    ['ttl-exceeded-udp-v6', 0],
    ['udp-unreachable-v6', 0],
  ] as const;

  it.each(kernelSegments)('equal the partial checksum the kernel wrote (%s #%i)', (name, index) => {
    const packet = capturedPackets(name)[index]!;
    const v4 = packet[0]! >> 4 === 4;
    const ip = v4 ? decodeIpv4Packet(packet) : decodeIpv6Packet(packet);
    const protocol = ip.version === 4 ? ip.protocol : ip.upperProtocol;
    const { src, dst } = v4 ? ipv4Addresses(packet) : ipv6Addresses(packet);
    const length = ip.payloadEnd - ip.payloadOffset;
    const field =
      protocol === 6
        ? decodeTcp(packet, ip.payloadOffset, ip.payloadEnd).checksum
        : decodeUdp(packet, ip.payloadOffset, ip.payloadEnd).checksum;
    expect(foldSum(pseudoHeaderSum(src, dst, protocol, length))).toBe(field);
  });

  it('v4: sums source, destination, protocol and length words', () => {
    const src = hex('c0 a8 00 01');
    const dst = hex('c0 a8 00 c7');
    expect(pseudoHeaderSumV4(src, dst, 17, 0x5f)).toBe(0xc0a8 + 0x0001 + 0xc0a8 + 0x00c7 + 17 + 0x5f);
  });

  it('v6: counts a 32-bit upper-layer length', () => {
    const zero = new Uint8Array(16);
    expect(pseudoHeaderSumV6(zero, zero, 58, 0x12345)).toBe(0x1 + 0x2345 + 58);
  });

  it('rejects addresses of the wrong size', () => {
    expect(() => pseudoHeaderSumV4(new Uint8Array(16), new Uint8Array(4), 6, 20)).toThrow(PacketError);
    expect(() => pseudoHeaderSumV6(new Uint8Array(4), new Uint8Array(16), 6, 20)).toThrow(PacketError);
  });
});
