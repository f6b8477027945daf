import { describe, expect, it } from 'vitest';
import { decodeIcmpv4Message, PacketError } from '../../../agent/packets/index.js';

describe('PacketError', () => {
  it('is a named Error with a code, the [packets] prefix and an optional cause', () => {
    const cause = new Error('inner');
    const err = new PacketError('bad-field', 'udp srcPort: must be an integer 0–65535, got -1', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('PacketError');
    expect(err.code).toBe('bad-field');
    expect(err.message).toBe('[packets] udp srcPort: must be an integer 0–65535, got -1');
    expect(err.cause).toBe(cause);
    expect(String(err)).toBe('PacketError: [packets] udp srcPort: must be an integer 0–65535, got -1');
    expect(Object.keys(err)).toEqual(['code']);
  });

  it('does not change the global stack trace limit', () => {
    const before = Error.stackTraceLimit;
    expect(() => decodeIcmpv4Message(new Uint8Array(3))).toThrow(PacketError);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('names the decoder, the field and the rule in its message', () => {
    expect(() => decodeIcmpv4Message(Uint8Array.of(0x45, 0, 0, 19, ...new Array(16).fill(0)))).toThrow(
      '[packets] ipv4 header: total length 19 < header length 20',
    );
  });
});
