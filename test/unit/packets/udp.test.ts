import { describe, expect, it } from 'vitest';
import {
  decodeIpv4Packet,
  decodeIpv6Packet,
  decodeUdp,
  encodeUdp,
  PacketError,
  parseIp,
  udpChecksumValid,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

const V4 = { src: parseIp('198.18.0.2'), dst: parseIp('198.18.1.1') };
const V6 = { src: parseIp('fd00:198:18:1::2'), dst: parseIp('fd00:198:18:2::1') };

describe('UDP', () => {
  it('decodes a literal datagram field by field', () => {
    const b = hex(`
      9c 40        // source port 40000
      82 9a        // destination port 33434
      00 0f        // length 15 (8 header + 7 data)
      00 00        // checksum none (IPv4 only)
      50 49 4e 47 45 52 21  // "PINGER!"
    `);
    expect(decodeUdp(b)).toEqual({
      srcPort: 40000,
      dstPort: 33434,
      length: 15,
      checksum: 0,
      payload: Buffer.from('PINGER!'),
      truncated: false,
    });
    expect(encodeUdp({ srcPort: 40000, dstPort: 33434, payload: Buffer.from('PINGER!') })).toEqual(b);
    expect(udpChecksumValid(b, V4)).toBe(true);
    expect(udpChecksumValid(b, V6)).toBe(false);
  });

  it('computes a checksum over each family’s pseudo-header that verifies (and differs per family)', () => {
    const fields = { srcPort: 40000, dstPort: 33434, payload: Buffer.from('PINGER!') };
    const v4 = encodeUdp(fields, V4);
    const v6 = encodeUdp(fields, V6);
    expect(udpChecksumValid(v4, V4)).toBe(true);
    expect(udpChecksumValid(v6, V6)).toBe(true);
    expect(v4.readUInt16BE(6)).not.toBe(v6.readUInt16BE(6));
    const flipped = Buffer.from(v6);
    flipped[10]! ^= 0x40;
    expect(udpChecksumValid(flipped, V6)).toBe(false);
  });

  it('sends a computed zero checksum as 0xffff (RFC 768)', () => {
    // Find a source port whose checksum folds to zero, then check it is written as all ones and verifies.
    let found: Buffer | undefined;
    for (let port = 0; port < 65536 && !found; port++) {
      const b = encodeUdp({ srcPort: port, dstPort: 9 }, V4);
      if (b.readUInt16BE(6) === 0xffff) found = b;
    }
    expect(found).toBeDefined();
    expect(udpChecksumValid(found!, V4)).toBe(true);
  });

  it('decodes the captured datagrams the kernel sent on loopback and through a router', () => {
    const v4 = capturedPackets('udp-unreachable-v4')[0]!;
    const ip4 = decodeIpv4Packet(v4);
    expect(decodeUdp(v4, ip4.payloadOffset, ip4.payloadEnd)).toMatchObject({ length: 15, truncated: false });
    const v6 = capturedPackets('ttl-exceeded-udp-v6')[0]!;
    const ip6 = decodeIpv6Packet(v6);
    const udp = decodeUdp(v6, ip6.payloadOffset, ip6.payloadEnd);
    expect(udp.dstPort).toBe(33434);
    expect(Buffer.from(udp.payload).toString()).toBe('PINGER!');
  });

  it('throws PacketError on short headers, bad lengths and truncation (unless allowed)', () => {
    const b = encodeUdp({ srcPort: 1, dstPort: 2, payload: hex('01 02 03 04') });
    expect(() => decodeUdp(b.subarray(0, 7))).toThrow(expect.objectContaining({ code: 'truncated' }));
    expect(() => decodeUdp(b.subarray(0, 10))).toThrow(expect.objectContaining({ code: 'truncated' }));
    expect(decodeUdp(b.subarray(0, 10), 0, 10, { allowTruncated: true })).toMatchObject({
      truncated: true,
      payload: hex('01 02'),
    });
    const tiny = Buffer.from(b);
    tiny.writeUInt16BE(7, 4);
    expect(() => decodeUdp(tiny)).toThrow(expect.objectContaining({ code: 'bad-length' }));
    expect(() => encodeUdp({ srcPort: 70000, dstPort: 1 })).toThrow(PacketError);
    expect(() => encodeUdp({ srcPort: 1, dstPort: 1, payload: new Uint8Array(65528) })).toThrow(PacketError);
  });
});
