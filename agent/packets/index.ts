/**
 * Pinger's packet codecs: pure functions from bytes to objects and back. No sockets, no timers, no `node:*`
 * (Buffer is the only Node global used, for the encoders' return values).
 *
 * Conventions, everywhere:
 * - Decoders take `(buf, offset = 0, end = buf.length, options?)`, read only `buf[offset, end)`, and return
 *   plain objects whose byte fields (`payload`, `data`, `options`, `body`) are VIEWS into `buf` (no copies:
 *   copy them if the buffer is reused). Absolute offsets (`payloadOffset`, `payloadEnd`) index `buf`.
 * - Malformed input throws {@link PacketError} (`code`: truncated | bad-version | bad-length | bad-checksum |
 *   bad-field | unsupported), never anything else, and nothing is read outside `[offset, end)`; the fuzz test
 *   holds both to 1,000,000 inputs. A PacketError carries no stack frames (they cost ~8× the rest of a
 *   throw); its message names the decoder, the field and the rule. Count them by `code`, don't log each.
 * - Encoders validate their fields (`bad-field`), return a new Buffer with checksums filled in.
 * - Checksums on receive: ICMPv4 is verified by default (`bad-checksum`; raw sockets see packets before the
 *   kernel's ICMP code checks them); ICMPv6 only when given the pseudo-header addresses (the kernel already
 *   verified raw-socket input); TCP/UDP never by the decoders — local kernel segments on loopback/veth carry
 *   a partial (offload) checksum — use `tcpChecksumValid` / `udpChecksumValid` where the sender is known.
 * - Addresses for pseudo-headers are bytes (`parseIp('198.18.0.1')`), 4 or 16 of them; decoders give
 *   addresses as text (`src`, `dst`), formatted like Node does.
 *
 * Receive paths on Linux, and the call to use:
 * - raw IPv4 ICMP socket (IP header included)  → {@link decodeIcmpv4Message}: `{ ip, kind, ... }`
 * - raw IPv6 ICMPv6 socket (no IPv6 header)    → {@link decodeIcmpv6Message}: `{ kind, ... }`
 * - raw IPv4 TCP socket (IP header included)   → {@link ipv4HeaderLength} as an early filter, then
 *   {@link decodeIpv4Packet} + {@link decodeTcp} at `payloadOffset`/`payloadEnd`
 * - raw IPv6 TCP socket (no IPv6 header)       → {@link decodeTcp}
 * - echo data / UDP data                       → {@link isProbePayload} (cheap), then {@link decodeProbePayload}
 *
 * `kind` of an ICMP message: `echo-reply` | `echo-request` (id, seq, payload), `time-exceeded` | `unreachable`
 * (`quoted.ip` — the original IP header — and `quoted.transport`: `{ protocol: 'icmp', id, seq, payload }`,
 * `{ protocol: 'udp', srcPort, dstPort, length, payload }`, `{ protocol: 'tcp', srcPort, dstPort, seq, flags }`
 * or null), `other` (type, code, body).
 *
 * Send paths:
 * - ICMP echo: {@link encodeIcmpv4Echo} / {@link encodeIcmpv6Echo} with `payload: encodeProbePayload(...)`
 *   (the kernel computes the ICMPv6 checksum on raw sockets; pass addresses only for captures/tests)
 * - UDP: {@link encodeUdp}; TCP SYN: {@link encodeTcpSyn} (needs the real source address for the checksum)
 * - IPv4 header for IP_HDRINCL / responders: {@link encodeIpv4Header}
 */
export { formatIpv4, formatIpv6, parseIp, parseIpv4, parseIpv6 } from './address.js';
export {
  foldSum,
  internetChecksum,
  onesComplementSum,
  type PseudoAddresses,
  pseudoHeaderSum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
} from './checksum.js';
export { PacketError, type PacketErrorCode } from './errors.js';
export {
  decodeEchoFields,
  decodeIcmpv4,
  decodeIcmpv4Message,
  type EchoFields,
  encodeIcmpv4Echo,
  ICMP_HEADER_LENGTH,
  ICMPV4_TYPE,
  type IcmpDecodeOptions,
  type IcmpEcho,
  type Icmpv4Body,
  type Icmpv4Message,
  icmpv4ChecksumValid,
  quotedEnd,
  writeEcho,
  writeEchoHeader,
  writeIcmpv4Echo,
} from './icmp.js';
export {
  decodeIcmpv6Message,
  encodeIcmpv6Echo,
  ICMPV6_TYPE,
  type Icmpv6DecodeOptions,
  type Icmpv6Message,
  icmpv6ChecksumValid,
  writeIcmpv6Echo,
} from './icmp6.js';
export {
  decodeIpv4Header,
  decodeIpv4Packet,
  encodeIpv4Header,
  IP_PROTOCOL,
  IPV4_MIN_HEADER_LENGTH,
  type Ipv4Header,
  type Ipv4HeaderFields,
  ipv4Addresses,
  ipv4HeaderLength,
} from './ipv4.js';
export {
  decodeIpv6Header,
  decodeIpv6Packet,
  IPV6_HEADER_LENGTH,
  type Ipv6Header,
  ipv6Addresses,
} from './ipv6.js';
export {
  decodeProbePayload,
  echoesData,
  encodeProbePayload,
  isProbePayload,
  PROBE_HEADER_LENGTH,
  PROBE_MAGIC,
  type ProbePayload,
  probePayloadLength,
  probeSentNs,
  probeSeq,
  probeSourceid,
  sameBytes,
  writeProbePayload,
} from './probe-payload.js';
export {
  decodeQuotedIpv4,
  decodeQuotedIpv6,
  type QuotedEcho,
  type QuotedIpv4,
  type QuotedIpv6,
  type QuotedTcp,
  type QuotedTransport,
  type QuotedUdp,
} from './quoted.js';
export {
  decodeTcp,
  decodeTcpOptions,
  encodeTcp,
  encodeTcpSyn,
  TCP_FLAGS,
  TCP_MIN_HEADER_LENGTH,
  TCP_SYN_LENGTH,
  type TcpFields,
  type TcpHeader,
  type TcpOptions,
  type TcpSynFields,
  tcpChecksumValid,
  writeTcpSyn,
} from './tcp.js';
export {
  decodeUdp,
  encodeUdp,
  UDP_HEADER_LENGTH,
  type UdpFields,
  type UdpHeader,
  udpChecksumValid,
  writeUdp,
} from './udp.js';
