import { describe, expect, it } from 'vitest';
import {
  formatIpv4,
  formatIpv6,
  PacketError,
  parseIp,
  parseIpv4,
  parseIpv6,
} from '../../../agent/packets/index.js';
import { hex } from './fixture.js';

describe('IPv4 text', () => {
  it('round-trips dotted quads', () => {
    for (const a of ['0.0.0.0', '127.0.0.1', '198.18.0.1', '255.255.255.255']) {
      expect(formatIpv4(parseIpv4(a))).toBe(a);
    }
    expect([...parseIpv4('198.19.2.254')]).toEqual([198, 19, 2, 254]);
  });

  it.each(['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', 'a.b.c.d', '', '1..2.3'])(
    'rejects %j with a PacketError naming the rule',
    (text) => {
      expect(() => parseIpv4(text)).toThrow(PacketError);
    },
  );
});

describe('IPv6 text', () => {
  // Expected forms are what Node prints (net.SocketAddress, os.networkInterfaces): RFC 5952.
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['fd00:198:18::1', 'fd00:198:18::1'],
    ['FD00:0198:0018:0000:0000:0000:0000:0001', 'fd00:198:18::1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['fe80::', 'fe80::'],
    ['::ffff:198.18.0.1', '::ffff:198.18.0.1'],
    ['64:ff9b::198.18.0.1', '64:ff9b::c612:1'],
  ])('%s formats as %s', (input, expected) => {
    expect(formatIpv6(parseIpv6(input))).toBe(expected);
  });

  it('formats at an offset within a larger buffer', () => {
    const b = Buffer.concat([hex('aa bb'), Buffer.from(parseIpv6('fd00:198:18:1::2'))]);
    expect(formatIpv6(b, 2)).toBe('fd00:198:18:1::2');
  });

  it.each([
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1:2:3:4:5:6:7',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7::8',
  ])('rejects %j', (text) => {
    expect(() => parseIpv6(text)).toThrow(PacketError);
  });

  it('parseIp picks the family from the text', () => {
    expect(parseIp('127.0.0.1')).toHaveLength(4);
    expect(parseIp('::1')).toHaveLength(16);
  });

  it('throws a PacketError, not a RangeError, for a short buffer', () => {
    expect(() => formatIpv6(new Uint8Array(15))).toThrow(PacketError);
    expect(() => formatIpv4(new Uint8Array(4), 1)).toThrow(PacketError);
  });
});
