import { put16, u16 } from './bytes.js';
import { internetChecksum, type PseudoAddresses, pseudoHeaderSumV6 } from './checksum.js';
import { checkWindow, needBytes, PacketError } from './errors.js';
import {
  decodeEcho,
  type EchoFields,
  ICMP_HEADER_LENGTH,
  type IcmpEcho,
  quotedEnd,
  writeEcho,
  writeEchoHeader,
} from './icmp.js';
import { IP_PROTOCOL } from './ipv4.js';
import { decodeQuotedIpv6, type QuotedIpv6 } from './quoted.js';

/**
 * ICMPv6 (RFC 4443). Same layouts as ICMPv4: echo request (128) / reply (129) carry id, seq and data;
 * destination unreachable (1) and time exceeded (3) quote "as much of the invoking packet as possible without
 * the ICMPv6 packet exceeding the minimum IPv6 MTU", with RFC 4884's length in 64-bit words in byte 4:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Length     |                  Unused                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   IPv6 header + leading octets of the invoking packet ...     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Unlike ICMPv4, the checksum covers an IPv6 pseudo-header (next header 58).
 *
 * Linux specifics the prober relies on: a raw IPPROTO_ICMPV6 socket receives the ICMPv6 message WITHOUT the
 * IPv6 header (source address from recvfrom, hop limit only via IPV6_RECVHOPLIMIT ancillary data), the kernel
 * drops messages with a bad checksum before delivery, and it computes the checksum on send (checksum offset 2,
 * RFC 3542 §3.1). So on the wire path the checksum here is only needed for captures, tests and responders.
 */
export const ICMPV6_TYPE = {
  UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
} as const;

/**
 * An ICMPv6 message (no IPv6 header: what a raw ICMPv6 socket receives), discriminated by `kind` like
 * `Icmpv4Body`: echo-reply / echo-request, time-exceeded / unreachable with the quoted datagram, other.
 */
export type Icmpv6Message =
  | ({ kind: 'echo-reply' | 'echo-request' } & IcmpEcho)
  | {
      kind: 'time-exceeded' | 'unreachable';
      type: number;
      code: number;
      checksum: number;
      quoted: QuotedIpv6;
    }
  | { kind: 'other'; type: number; code: number; checksum: number; body: Uint8Array };

export interface Icmpv6DecodeOptions {
  /** Verify the checksum over this pseudo-header (16-byte addresses) and throw `bad-checksum` if it fails.
   * Without it nothing is verified (the kernel already did, for raw-socket input). */
  verifyChecksum?: PseudoAddresses;
}

/** Decodes the ICMPv6 message in `buf[offset, end)`. Throws PacketError on anything malformed. */
export function decodeIcmpv6Message(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  options: Icmpv6DecodeOptions = {},
): Icmpv6Message {
  checkWindow('icmp6', buf, offset, end);
  needBytes('icmp6 header', offset, end, 4);
  if (options.verifyChecksum && !icmpv6ChecksumValid(buf, options.verifyChecksum, offset, end)) {
    throw new PacketError('bad-checksum', 'icmp6: checksum does not verify');
  }
  const type = buf[offset]!;
  const code = buf[offset + 1]!;
  const checksum = u16(buf, offset + 2);
  switch (type) {
    case ICMPV6_TYPE.ECHO_REPLY:
    case ICMPV6_TYPE.ECHO_REQUEST:
      return decodeEcho(type === ICMPV6_TYPE.ECHO_REPLY ? 'echo-reply' : 'echo-request', buf, offset, end);
    case ICMPV6_TYPE.UNREACHABLE:
    case ICMPV6_TYPE.TIME_EXCEEDED: {
      needBytes('icmp6 error header', offset, end, ICMP_HEADER_LENGTH);
      const quoteEnd = quotedEnd('icmp6', buf[offset + 4]! * 8, offset, end);
      return {
        kind: type === ICMPV6_TYPE.UNREACHABLE ? 'unreachable' : 'time-exceeded',
        type,
        code,
        checksum,
        quoted: decodeQuotedIpv6(buf, offset + ICMP_HEADER_LENGTH, quoteEnd),
      };
    }
    default:
      return { kind: 'other', type, code, checksum, body: buf.subarray(offset + 4, end) };
  }
}

/**
 * Encodes an ICMPv6 echo request (or reply). With `addresses` (16 bytes each) the checksum is computed over
 * the pseudo-header; without, it is left 0 for the kernel to fill in (raw ICMPv6 sockets always do on Linux).
 */
export function encodeIcmpv6Echo(fields: EchoFields, addresses?: PseudoAddresses): Buffer {
  const b = writeEchoHeader(fields, ICMPV6_TYPE.ECHO_REQUEST);
  if (addresses) {
    const initial = pseudoHeaderSumV6(addresses.src, addresses.dst, IP_PROTOCOL.icmpv6, b.length);
    put16(b, 2, internetChecksum(b, 0, b.length, initial));
  }
  return b;
}

/**
 * Writes an ICMPv6 echo request (or reply) into `target` at `offset` and returns the offset just past it; the
 * data as for `writeIcmpv4Echo`. The checksum is left 0: it covers a pseudo-header with the source address,
 * which a raw ICMPv6 socket knows and fills in itself.
 */
export function writeIcmpv6Echo(
  target: Uint8Array,
  offset: number,
  fields: EchoFields,
  inPlaceLength?: number,
): number {
  return writeEcho(target, offset, fields, ICMPV6_TYPE.ECHO_REQUEST, inPlaceLength);
}

/** Whether the ICMPv6 message in `buf[offset, end)` has a valid checksum for `addresses` (16 bytes each). */
export function icmpv6ChecksumValid(
  buf: Uint8Array,
  addresses: PseudoAddresses,
  offset = 0,
  end = buf.length,
): boolean {
  checkWindow('icmp6', buf, offset, end);
  const initial = pseudoHeaderSumV6(addresses.src, addresses.dst, IP_PROTOCOL.icmpv6, end - offset);
  return internetChecksum(buf, offset, end, initial) === 0;
}
