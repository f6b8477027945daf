import { describe, expect, it } from 'vitest';
import {
  decodeProbePayload,
  encodeProbePayload,
  isProbePayload,
  PacketError,
  PROBE_HEADER_LENGTH,
  probePayloadLength,
  sameBytes,
  writeProbePayload,
} from '../../../agent/packets/index.js';
import { hex } from './fixture.js';

const LITERAL = `
  50 4e 47 52              // magic "PNGR"
  01 02                    // sourceid 258
  ff ff                    // seq 65535
  00 00 12 34 56 78 9a bc  // send time 0x123456789abc ns
  68 69                    // data "hi"
`;

describe('probe payload', () => {
  it('encodes and decodes a literal payload', () => {
    const fields = { sourceid: 258, seq: 65535, sentNs: 0x123456789abcn, data: Buffer.from('hi') };
    expect(encodeProbePayload(fields)).toEqual(hex(LITERAL));
    expect(decodeProbePayload(hex(LITERAL))).toEqual(fields);
    expect(PROBE_HEADER_LENGTH).toBe(16);
    expect(probePayloadLength(2)).toBe(18);
  });

  it('round-trips the extremes of every field', () => {
    for (const fields of [
      { sourceid: 0, seq: 0, sentNs: 0n, data: new Uint8Array(0) },
      { sourceid: 65535, seq: 65535, sentNs: 2n ** 64n - 1n, data: new Uint8Array(1400).fill(0xa5) },
    ]) {
      const d = decodeProbePayload(encodeProbePayload(fields));
      expect(d).toMatchObject({ sourceid: fields.sourceid, seq: fields.seq, sentNs: fields.sentNs });
      expect(sameBytes(d.data, fields.data)).toBe(true);
    }
  });

  it('writes in place after a header and decodes at an offset', () => {
    const b = Buffer.alloc(8 + 18 + 4, 0xee);
    const end = writeProbePayload(b, 8, {
      sourceid: 258,
      seq: 65535,
      sentNs: 0x123456789abcn,
      data: Buffer.from('hi'),
    });
    expect(end).toBe(26);
    expect(b.subarray(8, 26)).toEqual(hex(LITERAL));
    expect(b[26]).toBe(0xee);
    expect(isProbePayload(b, 8, 26)).toBe(true);
    expect(decodeProbePayload(b, 8, 26).data).toEqual(Buffer.from('hi'));
    expect(() =>
      writeProbePayload(b, 20, { sourceid: 1, seq: 1, sentNs: 1n, data: Buffer.from('hi') }),
    ).toThrow(expect.objectContaining({ code: 'truncated' }));
  });

  it('isProbePayload is a cheap filter that never throws', () => {
    const b = hex(LITERAL);
    expect(isProbePayload(b)).toBe(true);
    expect(isProbePayload(b, 0, 15)).toBe(false);
    expect(isProbePayload(b, 1)).toBe(false);
    expect(isProbePayload(b, -1)).toBe(false);
    expect(isProbePayload(b, 0, 99)).toBe(false);
    expect(isProbePayload(new Uint8Array(0))).toBe(false);
    const other = Buffer.from(b);
    other[3] = 0x53;
    expect(isProbePayload(other)).toBe(false);
  });

  it('throws PacketError on wrong magic, truncation and out-of-range fields', () => {
    const wrong = hex(LITERAL);
    wrong[0] = 0;
    expect(() => decodeProbePayload(wrong)).toThrow(expect.objectContaining({ code: 'bad-field' }));
    expect(() => decodeProbePayload(hex(LITERAL).subarray(0, 15))).toThrow(
      expect.objectContaining({ code: 'truncated' }),
    );
    const base = { sourceid: 1, seq: 1, sentNs: 1n, data: new Uint8Array(0) };
    expect(() => encodeProbePayload({ ...base, seq: 65536 })).toThrow(PacketError);
    expect(() => encodeProbePayload({ ...base, sourceid: -1 })).toThrow(PacketError);
    expect(() => encodeProbePayload({ ...base, sentNs: -1n })).toThrow(PacketError);
    expect(() => encodeProbePayload({ ...base, sentNs: 2n ** 64n })).toThrow(PacketError);
  });

  it('sameBytes compares content and length', () => {
    expect(sameBytes(hex('01 02'), Uint8Array.of(1, 2))).toBe(true);
    expect(sameBytes(hex('01 02'), Uint8Array.of(1, 3))).toBe(false);
    expect(sameBytes(hex('01 02'), Uint8Array.of(1))).toBe(false);
  });
});
