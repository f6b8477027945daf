import { formatIpv4 } from './address.js';
import { put16, u16 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { checkUint, checkWindow, needBytes, PacketError } from './errors.js';

/**
 * IPv4 header (RFC 791 §3.1). Linux raw IPv4 sockets deliver it in front of every received packet, with
 * fields in network byte order (unlike some BSDs), and ICMP errors quote one.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5)          |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
export interface Ipv4Header {
  version: 4;
  /** IHL × 4: 20–60 bytes. */
  headerLength: number;
  /** Type of service byte (DSCP << 2 | ECN). */
  tos: number;
  /** Header + data, as the sender wrote it (may exceed the bytes at hand in a quoted datagram). */
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes (the field counts 8-byte units). */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  /** View of the options bytes (an empty array, not a view, when IHL = 5). */
  options: Uint8Array;
  /** Absolute offset of the payload in the decoded buffer. */
  payloadOffset: number;
  /** Absolute end of the payload: `totalLength` or the end of the bytes at hand, whichever comes first. */
  payloadEnd: number;
  /** True when fewer bytes than `totalLength` were at hand (normal for a quoted datagram). */
  truncated: boolean;
}

export const IPV4_MIN_HEADER_LENGTH = 20;

/** Shared by every option-less header: saves a view allocation per received packet. */
const NO_OPTIONS = new Uint8Array(0);

/** Well-known protocol numbers (IANA) the codecs use. */
export const IP_PROTOCOL = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

/**
 * Header length in bytes of the IPv4 header at `offset`, after checking version, IHL and that it fits: a cheap
 * early filter for sockets that see every packet of a protocol (raw TCP) before anything is decoded.
 */
export function ipv4HeaderLength(buf: Uint8Array, offset = 0, end = buf.length): number {
  checkWindow('ipv4', buf, offset, end);
  needBytes('ipv4 header', offset, end, IPV4_MIN_HEADER_LENGTH);
  const b0 = buf[offset]!;
  if (b0 >> 4 !== 4) throw new PacketError('bad-version', `ipv4 header: version ${b0 >> 4}, expected 4`);
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH) {
    throw new PacketError('bad-length', `ipv4 header: IHL ${headerLength / 4} below the minimum of 5`);
  }
  needBytes('ipv4 header with options', offset, end, headerLength);
  return headerLength;
}

/**
 * Decodes the IPv4 header at `offset`. Accepts a datagram shorter than its total length (sets `truncated`), as
 * ICMP errors quote only its start; use {@link decodeIpv4Packet} for a whole received packet.
 * With `verifyChecksum`, a header checksum that does not verify throws `bad-checksum`.
 */
export function decodeIpv4Header(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  options: { verifyChecksum?: boolean } = {},
): Ipv4Header {
  const headerLength = ipv4HeaderLength(buf, offset, end);
  const totalLength = u16(buf, offset + 2);
  if (totalLength < headerLength) {
    throw new PacketError(
      'bad-length',
      `ipv4 header: total length ${totalLength} < header length ${headerLength}`,
    );
  }
  if (options.verifyChecksum && internetChecksum(buf, offset, offset + headerLength) !== 0) {
    throw new PacketError('bad-checksum', 'ipv4 header: checksum does not verify');
  }
  const flagsFrag = u16(buf, offset + 6);
  const available = end - offset;
  return {
    version: 4,
    headerLength,
    tos: buf[offset + 1]!,
    totalLength,
    id: u16(buf, offset + 4),
    dontFragment: (flagsFrag & 0x4000) !== 0,
    moreFragments: (flagsFrag & 0x2000) !== 0,
    fragmentOffset: (flagsFrag & 0x1fff) * 8,
    ttl: buf[offset + 8]!,
    protocol: buf[offset + 9]!,
    checksum: u16(buf, offset + 10),
    src: formatIpv4(buf, offset + 12),
    dst: formatIpv4(buf, offset + 16),
    options:
      headerLength === IPV4_MIN_HEADER_LENGTH ? NO_OPTIONS : buf.subarray(offset + 20, offset + headerLength),
    payloadOffset: offset + headerLength,
    payloadEnd: offset + Math.min(totalLength, available),
    truncated: totalLength > available,
  };
}

/**
 * Decodes a whole received IPv4 packet's header: as {@link decodeIpv4Header}, but bytes short of the total
 * length throw `truncated` (a receive buffer too small, or a damaged packet). Trailing bytes past the total
 * length (link padding) are ignored: `payloadEnd` stops at the total length.
 */
export function decodeIpv4Packet(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  options: { verifyChecksum?: boolean } = {},
): Ipv4Header {
  const header = decodeIpv4Header(buf, offset, end, options);
  if (header.truncated) {
    throw new PacketError(
      'truncated',
      `ipv4 packet: total length ${header.totalLength}, have ${end - offset}`,
    );
  }
  return header;
}

/** Fields for {@link encodeIpv4Header}; addresses are 4 bytes (see `parseIpv4`). No options are written. */
export interface Ipv4HeaderFields {
  tos?: number;
  /** Header (20) + payload length. */
  totalLength: number;
  id?: number;
  dontFragment?: boolean;
  ttl: number;
  protocol: number;
  src: Uint8Array;
  dst: Uint8Array;
}

/**
 * Encodes a 20-byte IPv4 header with its checksum, for IP_HDRINCL sockets and test responders. Probers normally
 * let the kernel write it and set the TTL with a socket option.
 */
export function encodeIpv4Header(fields: Ipv4HeaderFields): Buffer {
  checkUint('ipv4 tos', fields.tos ?? 0, 0xff);
  checkUint('ipv4 totalLength', fields.totalLength, 0xffff);
  if (fields.totalLength < IPV4_MIN_HEADER_LENGTH) {
    throw new PacketError('bad-field', `ipv4 totalLength: must be at least 20, got ${fields.totalLength}`);
  }
  checkUint('ipv4 id', fields.id ?? 0, 0xffff);
  checkUint('ipv4 ttl', fields.ttl, 0xff);
  checkUint('ipv4 protocol', fields.protocol, 0xff);
  if (fields.src.length !== 4 || fields.dst.length !== 4) {
    throw new PacketError('bad-field', 'ipv4 src/dst: must be 4 bytes');
  }
  const b = Buffer.alloc(IPV4_MIN_HEADER_LENGTH);
  b[0] = 0x45;
  b[1] = fields.tos ?? 0;
  put16(b, 2, fields.totalLength);
  put16(b, 4, fields.id ?? 0);
  put16(b, 6, fields.dontFragment ? 0x4000 : 0);
  b[8] = fields.ttl;
  b[9] = fields.protocol;
  b.set(fields.src, 12);
  b.set(fields.dst, 16);
  put16(b, 10, internetChecksum(b));
  return b;
}

/** Source and destination address bytes of the IPv4 header at `offset` (views), for pseudo-header checksums. */
export function ipv4Addresses(buf: Uint8Array, offset = 0): { src: Uint8Array; dst: Uint8Array } {
  checkWindow('ipv4', buf, offset, offset + IPV4_MIN_HEADER_LENGTH);
  return { src: buf.subarray(offset + 12, offset + 16), dst: buf.subarray(offset + 16, offset + 20) };
}
