import { describe, expect, it } from 'vitest';
import {
  decodeIpv4Packet,
  decodeIpv6Packet,
  decodeTcp,
  decodeTcpOptions,
  encodeTcp,
  encodeTcpSyn,
  ipv4Addresses,
  PacketError,
  parseIp,
  TCP_FLAGS,
  tcpChecksumValid,
} from '../../../agent/packets/index.js';
import { capturedPackets, hex } from './fixture.js';

const LO4 = { src: parseIp('127.0.0.1'), dst: parseIp('127.0.0.1') };
const V6 = { src: parseIp('fd00:198:18:1::2'), dst: parseIp('fd00:198:18:2::1') };

/** The TCP segment of a captured packet, with its window in the packet. */
function segment(packet: Buffer) {
  const ip = packet[0]! >> 4 === 4 ? decodeIpv4Packet(packet) : decodeIpv6Packet(packet);
  return decodeTcp(packet, ip.payloadOffset, ip.payloadEnd);
}

describe('TCP SYN encode', () => {
  it('writes a literal SYN with MSS and a checksum that verifies', () => {
    const syn = encodeTcpSyn({ srcPort: 40000, dstPort: 80, seq: 0x01020304 }, LO4);
    expect(syn).toEqual(
      hex(`
        9c 40        // source port 40000
        00 50        // destination port 80
        01 02 03 04  // sequence number
        00 00 00 00  // acknowledgment number
        60           // data offset 6 (24 bytes)
        02           // flags SYN
        fa f0        // window 64240
        fe 9c        // checksum over the 127.0.0.1 pseudo-header (computed independently)
        00 00        // urgent pointer
        02 04 05 b4  // option MSS 1460
      `),
    );
    expect(tcpChecksumValid(syn, LO4)).toBe(true);
    expect(decodeTcpOptions(decodeTcp(syn).options)).toEqual({ mss: 1460 });
  });

  it('verifies over the IPv6 pseudo-header, and fails over the wrong one', () => {
    const syn = encodeTcpSyn({ srcPort: 1, dstPort: 443, seq: 0xffffffff, mss: 1220, window: 1024 }, V6);
    expect(tcpChecksumValid(syn, V6)).toBe(true);
    expect(tcpChecksumValid(syn, { src: V6.dst, dst: parseIp('fd00:198:18:2::2') })).toBe(false);
    expect(decodeTcp(syn)).toMatchObject({
      seq: 0xffffffff,
      window: 1024,
      flags: TCP_FLAGS.SYN,
      headerLength: 24,
    });
  });

  it('writes all supported options aligned, and decodes them back', () => {
    const b = encodeTcp(
      {
        srcPort: 5,
        dstPort: 6,
        seq: 7,
        ack: 8,
        flags: TCP_FLAGS.SYN | TCP_FLAGS.ACK,
        window: 9,
        options: { mss: 1400, sackPermitted: true, timestamps: { value: 1, echo: 2 }, windowScale: 7 },
        payload: hex('aa bb'),
      },
      V6,
    );
    const h = decodeTcp(b);
    expect(h.headerLength % 4).toBe(0);
    expect(h.headerLength).toBe(20 + 4 + 4 + 12 + 4);
    expect(decodeTcpOptions(h.options)).toEqual({
      mss: 1400,
      sackPermitted: true,
      timestamps: { value: 1, echo: 2 },
      windowScale: 7,
    });
    expect(h.payload).toEqual(hex('aa bb'));
    expect(tcpChecksumValid(b, V6)).toBe(true);
  });

  it('rejects out-of-range fields', () => {
    const base = { srcPort: 1, dstPort: 2, seq: 3 };
    expect(() => encodeTcpSyn({ ...base, seq: 2 ** 32 }, LO4)).toThrow(PacketError);
    expect(() => encodeTcpSyn({ ...base, dstPort: -1 }, LO4)).toThrow(PacketError);
    expect(() => encodeTcpSyn({ ...base, mss: 65536 }, LO4)).toThrow(PacketError);
    expect(() => encodeTcp({ ...base, flags: 256 }, LO4)).toThrow(PacketError);
    expect(() => encodeTcp({ ...base, flags: 2, options: { windowScale: 15 } }, LO4)).toThrow(PacketError);
    expect(() => encodeTcpSyn(base, { src: LO4.src, dst: V6.dst })).toThrow(PacketError);
  });
});

describe('TCP decode of captured segments', () => {
  it('SYN-ACK from a listening Linux port: flags, ack = seq + 1, options', () => {
    const [syn, synAck] = capturedPackets('tcp-synack-v4').map(segment);
    expect(syn!.flags).toBe(TCP_FLAGS.SYN);
    expect(synAck!.flags).toBe(TCP_FLAGS.SYN | TCP_FLAGS.ACK);
    expect(synAck!.ack).toBe((syn!.seq + 1) >>> 0);
    expect([synAck!.srcPort, synAck!.dstPort]).toEqual([syn!.dstPort, syn!.srcPort]);
    expect(decodeTcpOptions(synAck!.options)).toMatchObject({
      mss: 65495,
      sackPermitted: true,
      windowScale: 10,
    });
    expect(decodeTcpOptions(synAck!.options).timestamps).toBeDefined();
  });

  it('RST-ACK from a closed port, literal bytes with a full checksum', () => {
    const packet = capturedPackets('tcp-rst-v4')[1]!;
    const rst = packet.subarray(20);
    const decoded = decodeTcp(rst);
    expect(rst).toEqual(
      hex(`
        ac ef        // source port 44271 (the closed port)
        a0 18        // destination port 40984
        00 00 00 00  // sequence number 0
        aa 5a 08 91  // acknowledgment number: the SYN's + 1
        50           // data offset 5
        14           // flags RST|ACK
        00 00        // window 0
        b1 da        // checksum (complete: RSTs are built without offload)
        00 00        // urgent pointer
      `),
    );
    expect(decoded).toMatchObject({
      srcPort: 0xacef,
      dstPort: 0xa018,
      ack: 0xaa5a0891,
      flags: 0x14,
      window: 0,
    });
    expect(decoded.payload).toHaveLength(0);
    expect(tcpChecksumValid(rst, ipv4Addresses(packet))).toBe(true);
    const [syn] = capturedPackets('tcp-rst-v4').map(segment);
    expect(decoded.ack).toBe((syn!.seq + 1) >>> 0);
  });

  it('v6 RST and SYN-ACK decode the same way', () => {
    const [syn, rst] = capturedPackets('tcp-rst-v6').map(segment);
    expect(rst!.flags & TCP_FLAGS.RST).toBeTruthy();
    expect(rst!.ack).toBe((syn!.seq + 1) >>> 0);
    const [, synAck] = capturedPackets('tcp-synack-v6').map(segment);
    expect(synAck!.flags).toBe(TCP_FLAGS.SYN | TCP_FLAGS.ACK);
  });

  it('throws PacketError on short headers, bad data offsets and malformed options', () => {
    const syn = encodeTcpSyn({ srcPort: 1, dstPort: 2, seq: 3 }, LO4);
    expect(() => decodeTcp(syn.subarray(0, 19))).toThrow(expect.objectContaining({ code: 'truncated' }));
    const small = Buffer.from(syn);
    small[12] = 0x40;
    expect(() => decodeTcp(small)).toThrow(expect.objectContaining({ code: 'bad-length' }));
    const big = Buffer.from(syn);
    big[12] = 0xf0;
    expect(() => decodeTcp(big)).toThrow(expect.objectContaining({ code: 'truncated' }));
    expect(() => decodeTcpOptions(hex('02'))).toThrow(expect.objectContaining({ code: 'bad-length' }));
    expect(() => decodeTcpOptions(hex('02 05 05 b4'))).toThrow(
      expect.objectContaining({ code: 'bad-length' }),
    );
    expect(() => decodeTcpOptions(hex('02 03 05 b4'))).toThrow(/expected 4/);
    expect(() => decodeTcpOptions(hex('fe 01'))).toThrow(PacketError);
    expect(decodeTcpOptions(hex('01 01 fe 04 00 00 02 04 05 b4'))).toEqual({ mss: 1460 });
    expect(decodeTcpOptions(hex('00 ff ff'))).toEqual({});
  });
});
