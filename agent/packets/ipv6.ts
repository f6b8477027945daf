import { formatIpv6 } from './address.js';
import { u16, u32 } from './bytes.js';
import { checkWindow, needBytes, PacketError } from './errors.js';

/**
 * IPv6 header (RFC 8200 §3). Linux raw ICMPv6 sockets do NOT deliver it (only the ICMPv6 message), but ICMPv6
 * errors quote one, and captures (tcpdump) carry it.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Source Address (128 bits)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Destination Address (128 bits)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Extension headers (hop-by-hop 0, routing 43, fragment 44, destination options 60) are walked to find the
 * upper-layer protocol; a non-first fragment has none (`upperProtocol` is then 44).
 */
export interface Ipv6Header {
  version: 6;
  trafficClass: number;
  flowLabel: number;
  /** Bytes after the fixed 40-byte header, extension headers included. */
  payloadLength: number;
  /** Next header field of the fixed header. */
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  /** Protocol after any extension headers (58 ICMPv6, 6 TCP, 17 UDP, 59 none, 44 non-first fragment). */
  upperProtocol: number;
  /** Absolute offset of the upper-layer header in the decoded buffer. */
  payloadOffset: number;
  /** Absolute end of the payload: 40 + payloadLength, or the end of the bytes at hand if sooner. */
  payloadEnd: number;
  /** True when fewer bytes than 40 + payloadLength were at hand (normal for a quoted datagram). */
  truncated: boolean;
}

export const IPV6_HEADER_LENGTH = 40;

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const DEST_OPTIONS = 60;
/** Bound on extension headers walked: a loop of them is garbage, not a reason to spin. */
const MAX_EXTENSION_HEADERS = 8;

/**
 * Decodes the IPv6 header at `offset` and walks its extension headers. Accepts fewer bytes than the payload
 * length says (sets `truncated`), as ICMPv6 errors quote only a start; use {@link decodeIpv6Packet} for a
 * whole captured packet.
 */
export function decodeIpv6Header(buf: Uint8Array, offset = 0, end = buf.length): Ipv6Header {
  checkWindow('ipv6', buf, offset, end);
  needBytes('ipv6 header', offset, end, IPV6_HEADER_LENGTH);
  const word0 = u32(buf, offset);
  const version = word0 >>> 28;
  if (version !== 6) throw new PacketError('bad-version', `ipv6 header: version ${version}, expected 6`);
  const payloadLength = u16(buf, offset + 4);
  const nextHeader = buf[offset + 6]!;
  const available = end - offset;
  const payloadEnd = offset + Math.min(IPV6_HEADER_LENGTH + payloadLength, available);
  let protocol = nextHeader;
  let at = offset + IPV6_HEADER_LENGTH;
  for (let n = 0; ; n++) {
    if (
      protocol !== HOP_BY_HOP &&
      protocol !== ROUTING &&
      protocol !== DEST_OPTIONS &&
      protocol !== FRAGMENT
    ) {
      break;
    }
    if (n === MAX_EXTENSION_HEADERS) {
      throw new PacketError(
        'unsupported',
        `ipv6 header: more than ${MAX_EXTENSION_HEADERS} extension headers`,
      );
    }
    needBytes('ipv6 extension header', at, payloadEnd, 8);
    const next = buf[at]!;
    if (protocol === FRAGMENT) {
      // A non-first fragment carries no upper-layer header: stop at the fragment header.
      if ((u16(buf, at + 2) & 0xfff8) !== 0) break;
      protocol = next;
      at += 8;
      continue;
    }
    const length = (buf[at + 1]! + 1) * 8;
    needBytes('ipv6 extension header', at, payloadEnd, length);
    protocol = next;
    at += length;
  }
  return {
    version: 6,
    trafficClass: (word0 >>> 20) & 0xff,
    flowLabel: word0 & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: buf[offset + 7]!,
    src: formatIpv6(buf, offset + 8),
    dst: formatIpv6(buf, offset + 24),
    upperProtocol: protocol,
    payloadOffset: at,
    payloadEnd,
    truncated: IPV6_HEADER_LENGTH + payloadLength > available,
  };
}

/**
 * As {@link decodeIpv6Header}, but bytes short of 40 + payload length throw `truncated`. Trailing bytes past
 * it are ignored.
 */
export function decodeIpv6Packet(buf: Uint8Array, offset = 0, end = buf.length): Ipv6Header {
  const header = decodeIpv6Header(buf, offset, end);
  if (header.truncated) {
    throw new PacketError(
      'truncated',
      `ipv6 packet: payload length ${header.payloadLength}, have ${end - offset - IPV6_HEADER_LENGTH}`,
    );
  }
  return header;
}

/** Source and destination address bytes of the IPv6 header at `offset` (views), for pseudo-header checksums. */
export function ipv6Addresses(buf: Uint8Array, offset = 0): { src: Uint8Array; dst: Uint8Array } {
  checkWindow('ipv6', buf, offset, offset + IPV6_HEADER_LENGTH);
  return { src: buf.subarray(offset + 8, offset + 24), dst: buf.subarray(offset + 24, offset + 40) };
}
