/**
 * The in-place encoders and readers the probers use per packet (no allocation): they must produce exactly what
 * the allocating encoders produce and read exactly what the decoders read.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeIcmpv4,
  decodeProbePayload,
  echoesData,
  encodeIcmpv4Echo,
  encodeIcmpv6Echo,
  encodeProbePayload,
  encodeTcpSyn,
  encodeUdp,
  ICMP_HEADER_LENGTH,
  PacketError,
  probeSentNs,
  probeSeq,
  probeSourceid,
  writeIcmpv4Echo,
  writeIcmpv6Echo,
  writeProbePayload,
  writeTcpSyn,
  writeUdp,
} from '../../../agent/packets/index.js';
import { hex } from './fixture.js';

const PROBE = { sourceid: 258, seq: 65535, sentNs: 0x123456789abcn, data: Buffer.from('hi') };

describe('in-place echo encoders', () => {
  it('write the same bytes as the allocating encoders, at any offset, over a dirty buffer', () => {
    const payload = encodeProbePayload(PROBE);
    for (const offset of [0, 3, 100]) {
      const v4 = Buffer.alloc(200, 0xee);
      const end4 = writeIcmpv4Echo(v4, offset, { id: 7, seq: 9, payload });
      expect(end4).toBe(offset + ICMP_HEADER_LENGTH + payload.length);
      expect(v4.subarray(offset, end4)).toEqual(encodeIcmpv4Echo({ id: 7, seq: 9, payload }));
      const v6 = Buffer.alloc(200, 0xee);
      const end6 = writeIcmpv6Echo(v6, offset, { id: 7, seq: 9, payload });
      expect(v6.subarray(offset, end6)).toEqual(encodeIcmpv6Echo({ id: 7, seq: 9, payload }));
    }
  });

  it('take a probe payload already written in place, with the ICMPv4 checksum over it', () => {
    const buf = Buffer.alloc(64, 0xee);
    const payloadEnd = writeProbePayload(buf, ICMP_HEADER_LENGTH, PROBE);
    const end = writeIcmpv4Echo(buf, 0, { id: 7, seq: 9 }, payloadEnd - ICMP_HEADER_LENGTH);
    const expected = encodeIcmpv4Echo({ id: 7, seq: 9, payload: encodeProbePayload(PROBE) });
    expect(buf.subarray(0, end)).toEqual(expected);
    expect(decodeIcmpv4(buf, 0, end)).toMatchObject({ kind: 'echo-request', id: 7, seq: 9 });
  });

  it('refuse a target too small or a field out of range, naming it', () => {
    expect(() => writeIcmpv4Echo(Buffer.alloc(10), 0, { id: 1, seq: 1, payload: Buffer.alloc(8) })).toThrow(
      PacketError,
    );
    expect(() => writeIcmpv4Echo(Buffer.alloc(10), 0, { id: 1, seq: 1, payload: Buffer.alloc(8) })).toThrow(
      /icmp echo target/,
    );
    expect(() => writeIcmpv6Echo(Buffer.alloc(64), 0, { id: 70_000, seq: 1 })).toThrow(/icmp id/);
  });
});

describe('in-place UDP encoder', () => {
  const addresses = { src: Uint8Array.of(198, 18, 0, 2), dst: Uint8Array.of(198, 18, 2, 2) };

  it('writes what encodeUdp writes, checksum included, with the payload given or already in place', () => {
    const payload = encodeProbePayload(PROBE);
    const expected = encodeUdp({ srcPort: 40_000, dstPort: 7, payload }, addresses);
    const given = Buffer.alloc(100, 0xee);
    const end = writeUdp(given, 5, { srcPort: 40_000, dstPort: 7, payload }, addresses);
    expect(given.subarray(5, end)).toEqual(expected);
    const inPlace = Buffer.alloc(100, 0xee);
    const payloadEnd = writeProbePayload(inPlace, 8, PROBE);
    const end2 = writeUdp(inPlace, 0, { srcPort: 40_000, dstPort: 7 }, addresses, payloadEnd - 8);
    expect(inPlace.subarray(0, end2)).toEqual(expected);
  });

  it('refuses a target too small, naming it', () => {
    expect(() => writeUdp(Buffer.alloc(12), 0, { srcPort: 1, dstPort: 2, payload: Buffer.alloc(8) })).toThrow(
      /udp target/,
    );
  });
});

describe('in-place TCP SYN encoder', () => {
  const addresses = { src: Uint8Array.of(198, 18, 0, 2), dst: Uint8Array.of(198, 18, 2, 2) };

  it('writes what encodeTcpSyn writes, checksum included, at an offset over a dirty buffer', () => {
    for (const fields of [
      { srcPort: 40_000, dstPort: 8080, seq: 0xdead0001 },
      { srcPort: 1, dstPort: 65_535, seq: 0, mss: 536, window: 1024 },
    ]) {
      const buf = Buffer.alloc(64, 0xee);
      const end = writeTcpSyn(buf, 7, fields, addresses);
      expect(buf.subarray(7, end)).toEqual(encodeTcpSyn(fields, addresses));
    }
  });

  it('refuses a target too small or a seq out of range, naming it', () => {
    const f = { srcPort: 1, dstPort: 2, seq: 3 };
    expect(() => writeTcpSyn(Buffer.alloc(20), 0, f, addresses)).toThrow(/tcp syn target/);
    expect(() => writeTcpSyn(Buffer.alloc(64), 0, { ...f, seq: 2 ** 32 }, addresses)).toThrow(/tcp seq/);
  });
});

describe('in-place probe payload readers', () => {
  it('read what the decoder reads, at an offset', () => {
    const buf = Buffer.concat([hex('aa bb cc'), encodeProbePayload(PROBE)]);
    const decoded = decodeProbePayload(buf, 3);
    expect(probeSourceid(buf, 3)).toBe(decoded.sourceid);
    expect(probeSeq(buf, 3)).toBe(decoded.seq);
    expect(probeSentNs(buf, 3)).toBe(decoded.sentNs);
  });

  it('tell an unchanged echo of the data from a changed, cut or extended one', () => {
    const payload = encodeProbePayload(PROBE);
    const data = Buffer.from('hi');
    expect(echoesData(payload, 0, payload.length, data)).toBe(true);
    const corrupt = Buffer.from(payload);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect(echoesData(corrupt, 0, corrupt.length, data)).toBe(false);
    expect(echoesData(payload, 0, payload.length - 1, data)).toBe(false);
    const longer = Buffer.concat([payload, hex('00')]);
    expect(echoesData(longer, 0, longer.length, data)).toBe(false);
    expect(echoesData(payload, 0, payload.length + 1, data)).toBe(false);
  });
});
