/**
 * The addon's receive() names each datagram's source: IPv4 formatted by hand (not inet_ntop, see receive.c), so
 * every octet width and the widest address are checked on real packets. Echo replies with chosen source
 * addresses are written with a hand-built IP header (IPPROTO_RAW) to 127.0.0.1 and read back by a raw ICMP
 * channel, which reads through the addon. Root (raw sockets); loopback only.
 */
import raw from 'raw-socket';
import { describe, expect, it } from 'vitest';
import native from '../../../agent/native/index.cjs';
import { encodeIcmpv4Echo } from '../../../agent/packets/icmp.js';
import { RawChannel } from '../../../agent/probes/raw-channel.js';
import { until } from '../../helpers/until.js';

const isRoot = process.getuid?.() === 0;
const IPPROTO_RAW = 255;

/** Sources of 1, 2 and 3 digits per octet, in every position, and the longest dotted quad there is. */
const SOURCES = [
  '255.255.255.255',
  '198.18.0.10',
  '127.0.0.1',
  '127.9.99.100',
  '198.19.255.254',
  '127.200.20.2',
  '127.10.100.0',
];

/** An IPv4 packet from `source` to 127.0.0.1 carrying an ICMP echo reply with `id` and `seq`. */
function echoReplyFrom(source: string, id: number, seq: number): Buffer {
  const packet = Buffer.alloc(28);
  packet[0] = 0x45; // IPv4, 20-byte header; the kernel fills in the header checksum
  packet.writeUInt16BE(packet.length, 2);
  packet[8] = 64; // TTL
  packet[9] = 1; // ICMP
  Buffer.from(source.split('.').map(Number)).copy(packet, 12);
  Buffer.from([127, 0, 0, 1]).copy(packet, 16);
  packet[20] = 0; // echo reply
  packet.writeUInt16BE(id, 24);
  packet.writeUInt16BE(seq, 26);
  return packet;
}

describe.skipIf(!isRoot)('native receive (root, loopback)', () => {
  it('names IPv4 sources exactly, whatever the width of each octet', async () => {
    const id = (process.pid ^ 0x1d1d) & 0xffff;
    const seen = new Map<number, string>();
    const channel = new RawChannel(
      'icmp4',
      (packet, source) => {
        if (packet[20] === 0 && packet.readUInt16BE(24) === id) seen.set(packet.readUInt16BE(26), source);
      },
      [0],
    );
    const out = raw.createSocket({ protocol: IPPROTO_RAW, addressFamily: raw.AddressFamily.IPv4 });
    try {
      // Read through the addon, not raw-socket's fallback.
      expect(channel.timestamps).toBe('kernel');
      const errors: string[] = [];
      SOURCES.forEach((source, seq) => {
        const packet = echoReplyFrom(source, id, seq);
        out.send(packet, 0, packet.length, '127.0.0.1', (err) => {
          if (err) errors.push(`${source}: ${err.message}`);
        });
      });
      await until(
        () => `replies from every source (${seen.size} of ${SOURCES.length}; ${errors.join(', ')})`,
        () => seen.size === SOURCES.length,
        5_000,
      );
      expect(SOURCES.map((_, seq) => seen.get(seq))).toEqual(SOURCES);
    } finally {
      channel.close();
      out.close();
    }
  });

  it('names IPv6 sources in canonical form', async () => {
    const id = (process.pid ^ 0x2e2e) & 0xffff;
    let source: string | undefined;
    const channel = new RawChannel(
      'icmp6',
      (packet, from) => {
        if (packet[0] === 129 && packet.readUInt16BE(4) === id) source = from;
      },
      [129],
    );
    try {
      const request = Buffer.alloc(8);
      request[0] = 128; // echo request; the kernel computes ICMPv6 checksums
      request.writeUInt16BE(id, 4);
      channel.send(request, '::1', 64, () => {});
      await until('the echo reply from ::1', () => source !== undefined, 5_000);
      expect(source).toBe('::1');
    } finally {
      channel.close();
    }
  });

  it('sendTo sends to address bytes, and refuses what it cannot send, naming why', async () => {
    const AF_INET = 2;
    const IPPROTO_ICMP = 1;
    const id = (process.pid ^ 0x3f3f) & 0xffff;
    let replies = 0;
    const channel = new RawChannel(
      'icmp4',
      (packet) => {
        if (packet[20] === 0 && packet.readUInt16BE(24) === id) replies++;
      },
      [0],
    );
    try {
      // The channel's socket is the process's one raw ICMP socket (this file opens no other at the same time).
      const [fd] = native.rawSocketFds(AF_INET, IPPROTO_ICMP);
      expect(fd).toBeGreaterThanOrEqual(0);
      const request = encodeIcmpv4Echo({ id, seq: 1 });
      expect(native.sendTo(fd!, request, request.length, new Uint8Array([127, 0, 0, 1]))).toBe(true);
      await until('the echo reply to a sendTo', () => replies === 1, 5_000);
      expect(() => native.sendTo(fd!, request, request.length, new Uint8Array(3))).toThrow(/4 or 16 bytes/);
      expect(() => native.sendTo(fd!, request, request.length + 1, new Uint8Array(4))).toThrow(
        /within the buffer/,
      );
      const huge = Buffer.alloc(70_000);
      expect(() => native.sendTo(fd!, huge, huge.length, new Uint8Array([127, 0, 0, 1]))).toThrow(
        /^sendto: /,
      );
    } finally {
      channel.close();
    }
  });
});
