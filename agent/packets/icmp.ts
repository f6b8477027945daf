import { put16, u16 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { checkUint, checkWindow, needBytes, PacketError } from './errors.js';
import { decodeIpv4Packet, IP_PROTOCOL, type Ipv4Header } from './ipv4.js';
import { decodeQuotedIpv4, type QuotedIpv4 } from './quoted.js';

/**
 * ICMP for IPv4 (RFC 792). Echo request/reply:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Identifier          |        Sequence Number        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Data ...
 * +-+-+-+-+-
 * ```
 * Destination unreachable (3) and time exceeded (11), with RFC 4884's length of the quoted datagram in 32-bit
 * words (0: the rest of the message is the quote):
 *
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    unused     |    Length     |   unused (next-hop MTU: 3/4)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Internet Header + leading octets of original datagram    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * The checksum covers the whole ICMP message (no pseudo-header on IPv4).
 */
export const ICMPV4_TYPE = {
  ECHO_REPLY: 0,
  UNREACHABLE: 3,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
} as const;

export const ICMP_HEADER_LENGTH = 8;

/** An ICMP (or ICMPv6) echo request or reply. */
export interface IcmpEcho {
  type: number;
  code: number;
  checksum: number;
  id: number;
  seq: number;
  /** View of the echo data. */
  payload: Uint8Array;
}

/**
 * An ICMPv4 message without its IP header, discriminated by `kind` so a prober can demux with one switch:
 * - `echo-reply` / `echo-request`: id, seq and a view of the payload (the probe payload for ours);
 * - `time-exceeded` / `unreachable`: the quoted datagram, decoded (see {@link QuotedIpv4});
 * - `other`: any other type, with a view of the bytes after the 4-byte type/code/checksum.
 */
export type Icmpv4Body =
  | ({ kind: 'echo-reply' | 'echo-request' } & IcmpEcho)
  | {
      kind: 'time-exceeded' | 'unreachable';
      type: number;
      code: number;
      checksum: number;
      quoted: QuotedIpv4;
    }
  | { kind: 'other'; type: number; code: number; checksum: number; body: Uint8Array };

/** An ICMPv4 message with the IPv4 header it came in (as a raw IPv4 socket delivers it). */
export type Icmpv4Message = Icmpv4Body & { ip: Ipv4Header };

export interface IcmpDecodeOptions {
  /** Check the ICMP checksum and throw `bad-checksum` when it fails. Default true (cheap: one pass). */
  verifyChecksum?: boolean;
}

/**
 * Decodes what a raw IPv4 ICMP socket receives: the IPv4 header, then the ICMP message. Throws PacketError
 * on anything malformed, on a protocol other than ICMP (`unsupported`) and, unless disabled, on a bad checksum.
 */
export function decodeIcmpv4Message(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  options: IcmpDecodeOptions = {},
): Icmpv4Message {
  const ip = decodeIpv4Packet(buf, offset, end);
  if (ip.protocol !== IP_PROTOCOL.icmp) {
    throw new PacketError('unsupported', `icmp: ip protocol ${ip.protocol}, expected 1`);
  }
  if (ip.fragmentOffset !== 0 || ip.moreFragments) {
    throw new PacketError('unsupported', 'icmp: fragment (raw sockets deliver reassembled packets)');
  }
  const message = decodeIcmpv4(buf, ip.payloadOffset, ip.payloadEnd, options) as Icmpv4Message;
  // Attached rather than spread into a new object: this runs for every packet a raw ICMP socket receives.
  message.ip = ip;
  return message;
}

/** Decodes an ICMPv4 message without IP header in `buf[offset, end)`. See {@link decodeIcmpv4Message}. */
export function decodeIcmpv4(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  options: IcmpDecodeOptions = {},
): Icmpv4Body {
  checkWindow('icmp', buf, offset, end);
  needBytes('icmp header', offset, end, 4);
  if (options.verifyChecksum !== false && internetChecksum(buf, offset, end) !== 0) {
    throw new PacketError('bad-checksum', 'icmp: checksum does not verify');
  }
  const type = buf[offset]!;
  const code = buf[offset + 1]!;
  const checksum = u16(buf, offset + 2);
  switch (type) {
    case ICMPV4_TYPE.ECHO_REPLY:
    case ICMPV4_TYPE.ECHO_REQUEST:
      return decodeEcho(type === ICMPV4_TYPE.ECHO_REPLY ? 'echo-reply' : 'echo-request', buf, offset, end);
    case ICMPV4_TYPE.UNREACHABLE:
    case ICMPV4_TYPE.TIME_EXCEEDED: {
      needBytes('icmp error header', offset, end, ICMP_HEADER_LENGTH);
      const quoteEnd = quotedEnd('icmp', buf[offset + 5]! * 4, offset, end);
      return {
        kind: type === ICMPV4_TYPE.UNREACHABLE ? 'unreachable' : 'time-exceeded',
        type,
        code,
        checksum,
        quoted: decodeQuotedIpv4(buf, offset + ICMP_HEADER_LENGTH, quoteEnd),
      };
    }
    default:
      return { kind: 'other', type, code, checksum, body: buf.subarray(offset + 4, end) };
  }
}

/**
 * Decodes an echo header + data in `buf[offset, end)` (ICMPv4 or ICMPv6: the layout is the same) without
 * looking at the type or checksum.
 */
export function decodeEchoFields(buf: Uint8Array, offset: number, end: number): IcmpEcho {
  checkWindow('icmp echo', buf, offset, end);
  const { kind: _kind, ...fields } = decodeEcho('echo', buf, offset, end);
  return fields;
}

/** An echo with its kind, built in one object literal (a stable shape for the hot receive path). */
export function decodeEcho<K extends string>(
  kind: K,
  buf: Uint8Array,
  offset: number,
  end: number,
): { kind: K } & IcmpEcho {
  needBytes('icmp echo header', offset, end, ICMP_HEADER_LENGTH);
  return {
    kind,
    type: buf[offset]!,
    code: buf[offset + 1]!,
    checksum: u16(buf, offset + 2),
    id: u16(buf, offset + 4),
    seq: u16(buf, offset + 6),
    payload: buf.subarray(offset + ICMP_HEADER_LENGTH, end),
  };
}

/**
 * End of the quoted datagram of an ICMP(v6) error: the whole rest of the message, or RFC 4884's length when
 * set (extension objects follow it then).
 */
export function quotedEnd(what: string, lengthBytes: number, offset: number, end: number): number {
  if (lengthBytes === 0) return end;
  const quoteEnd = offset + ICMP_HEADER_LENGTH + lengthBytes;
  if (quoteEnd > end) {
    throw new PacketError('bad-length', `${what}: quoted length ${lengthBytes} exceeds the message`);
  }
  return quoteEnd;
}

export interface EchoFields {
  /** ICMPV4_TYPE.ECHO_REQUEST (default) or ECHO_REPLY; for ICMPv6 128 (default) or 129. */
  type?: number;
  code?: number;
  id: number;
  seq: number;
  payload?: Uint8Array;
}

/** Encodes an ICMPv4 echo request (or reply, for test responders) with its checksum. */
export function encodeIcmpv4Echo(fields: EchoFields): Buffer {
  const b = writeEchoHeader(fields, ICMPV4_TYPE.ECHO_REQUEST);
  put16(b, 2, internetChecksum(b));
  return b;
}

/**
 * Writes an ICMPv4 echo request (or reply) with its checksum into `target` at `offset`, for senders that reuse
 * one buffer instead of allocating a packet per probe, and returns the offset just past it. The data is
 * `fields.payload`, or — with `fields.payload` omitted and `inPlaceLength` given — the `inPlaceLength` bytes
 * already at `offset + 8` (written there with `writeProbePayload`, saving a copy). Throws `bad-field` on
 * out-of-range fields, `truncated` when `target` is too small.
 */
export function writeIcmpv4Echo(
  target: Uint8Array,
  offset: number,
  fields: EchoFields,
  inPlaceLength?: number,
): number {
  const end = writeEcho(target, offset, fields, ICMPV4_TYPE.ECHO_REQUEST, inPlaceLength);
  put16(target, offset + 2, internetChecksum(target, offset, end));
  return end;
}

/**
 * Writes an echo message (ICMPv4 or ICMPv6 layout) with a zero checksum into `target` at `offset`; see
 * {@link writeIcmpv4Echo} for the data. Returns the offset just past it.
 */
export function writeEcho(
  target: Uint8Array,
  offset: number,
  fields: EchoFields,
  defaultType: number,
  inPlaceLength?: number,
): number {
  const type = fields.type ?? defaultType;
  checkUint('icmp type', type, 0xff);
  checkUint('icmp code', fields.code ?? 0, 0xff);
  checkUint('icmp id', fields.id, 0xffff);
  checkUint('icmp seq', fields.seq, 0xffff);
  const dataLength = fields.payload ? fields.payload.length : (inPlaceLength ?? 0);
  checkUint('icmp echo length', ICMP_HEADER_LENGTH + dataLength, 0xffff - 20);
  const end = offset + ICMP_HEADER_LENGTH + dataLength;
  checkWindow('icmp echo target', target, offset, Math.min(end, target.length));
  needBytes('icmp echo target', offset, target.length, end - offset);
  target[offset] = type;
  target[offset + 1] = fields.code ?? 0;
  put16(target, offset + 2, 0);
  put16(target, offset + 4, fields.id);
  put16(target, offset + 6, fields.seq);
  if (fields.payload) target.set(fields.payload, offset + ICMP_HEADER_LENGTH);
  return end;
}

/** Whether the ICMPv4 message in `buf[offset, end)` has a valid checksum. */
export function icmpv4ChecksumValid(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  return internetChecksum(buf, offset, end) === 0;
}

/** An echo message with a zero checksum field (callers fill it in); shared with ICMPv6. */
export function writeEchoHeader(fields: EchoFields, defaultType: number): Buffer {
  const length = ICMP_HEADER_LENGTH + (fields.payload?.length ?? 0);
  checkUint('icmp echo length', length, 0xffff - 20);
  const b = Buffer.alloc(length);
  writeEcho(b, 0, fields, defaultType);
  return b;
}
