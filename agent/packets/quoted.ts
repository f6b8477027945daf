import { u16, u32 } from './bytes.js';
import { decodeIpv4Header, IP_PROTOCOL, type Ipv4Header } from './ipv4.js';
import { decodeIpv6Header, type Ipv6Header } from './ipv6.js';
import { decodeUdp } from './udp.js';

/**
 * The start of the datagram an ICMP error quotes (RFC 792: IP header + at least 8 bytes; RFC 1812 and Linux:
 * as much as fits in 576 bytes; ICMPv6, RFC 4443: as much as fits in 1280). Probes are matched through it:
 * the quoted echo id/seq and payload, UDP ports and payload, or TCP ports and sequence number.
 */
export type QuotedTransport = QuotedEcho | QuotedUdp | QuotedTcp;

/** A quoted ICMP echo request (type 8) or ICMPv6 echo request (128), or a reply. */
export interface QuotedEcho {
  protocol: 'icmp';
  type: number;
  code: number;
  id: number;
  seq: number;
  /** View of the echo data that was quoted (often the whole probe payload, at least none of it). */
  payload: Uint8Array;
}

export interface QuotedUdp {
  protocol: 'udp';
  srcPort: number;
  dstPort: number;
  /** UDP length field of the original datagram. */
  length: number;
  /** View of the quoted UDP data, clipped to what was quoted. */
  payload: Uint8Array;
}

export interface QuotedTcp {
  protocol: 'tcp';
  srcPort: number;
  dstPort: number;
  seq: number;
  /** Flag bits, or null when the quote stops before byte 13 of the TCP header. */
  flags: number | null;
}

export interface QuotedIpv4 {
  ip: Ipv4Header;
  /** Null when fewer than 8 bytes of the transport header were quoted, the protocol is none of ICMP echo,
   * UDP, TCP, or the datagram is a non-first fragment. */
  transport: QuotedTransport | null;
}

export interface QuotedIpv6 {
  ip: Ipv6Header;
  /** As {@link QuotedIpv4.transport}, with ICMPv6 echo in place of ICMP echo. */
  transport: QuotedTransport | null;
}

const MIN_QUOTED_TRANSPORT = 8;

/** Which ICMP flavour a family quotes: its protocol number and echo request/reply types. */
interface EchoFlavour {
  protocol: number;
  request: number;
  reply: number;
}
const ICMPV4_ECHO: EchoFlavour = { protocol: IP_PROTOCOL.icmp, request: 8, reply: 0 };
const ICMPV6_ECHO: EchoFlavour = { protocol: IP_PROTOCOL.icmpv6, request: 128, reply: 129 };

/** Decodes the IPv4 datagram quoted in `buf[offset, end)` by an ICMP error. */
export function decodeQuotedIpv4(buf: Uint8Array, offset: number, end: number): QuotedIpv4 {
  const ip = decodeIpv4Header(buf, offset, end);
  const transport =
    ip.fragmentOffset === 0
      ? decodeQuotedTransport(ip.protocol, ICMPV4_ECHO, buf, ip.payloadOffset, ip.payloadEnd)
      : null;
  return { ip, transport };
}

/** Decodes the IPv6 datagram quoted in `buf[offset, end)` by an ICMPv6 error. */
export function decodeQuotedIpv6(buf: Uint8Array, offset: number, end: number): QuotedIpv6 {
  const ip = decodeIpv6Header(buf, offset, end);
  return {
    ip,
    transport: decodeQuotedTransport(ip.upperProtocol, ICMPV6_ECHO, buf, ip.payloadOffset, ip.payloadEnd),
  };
}

function decodeQuotedTransport(
  protocol: number,
  echo: EchoFlavour,
  buf: Uint8Array,
  offset: number,
  end: number,
): QuotedTransport | null {
  if (end - offset < MIN_QUOTED_TRANSPORT) return null;
  if (protocol === IP_PROTOCOL.udp) {
    const udp = decodeUdp(buf, offset, end, { allowTruncated: true });
    return {
      protocol: 'udp',
      srcPort: udp.srcPort,
      dstPort: udp.dstPort,
      length: udp.length,
      payload: udp.payload,
    };
  }
  if (protocol === IP_PROTOCOL.tcp) {
    return {
      protocol: 'tcp',
      srcPort: u16(buf, offset),
      dstPort: u16(buf, offset + 2),
      seq: u32(buf, offset + 4),
      flags: end - offset > 13 ? buf[offset + 13]! : null,
    };
  }
  const type = buf[offset]!;
  if (protocol === echo.protocol && (type === echo.request || type === echo.reply)) {
    return {
      protocol: 'icmp',
      type,
      code: buf[offset + 1]!,
      id: u16(buf, offset + 4),
      seq: u16(buf, offset + 6),
      payload: buf.subarray(offset + 8, end),
    };
  }
  return null;
}
