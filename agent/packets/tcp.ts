import { put16, put32, u16, u32 } from './bytes.js';
import { internetChecksum, type PseudoAddresses, pseudoHeaderSum } from './checksum.js';
import { checkUint, checkWindow, needBytes, PacketError } from './errors.js';
import { IP_PROTOCOL } from './ipv4.js';

/**
 * TCP header (RFC 9293 §3.1); the checksum covers the pseudo-header of the IP family.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (data offset > 5)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             data                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Note for raw-socket receivers: on loopback (and with checksum offload) the kernel hands raw sockets TCP
 * segments whose checksum is only partially computed, so decoding never checks it; use
 * {@link tcpChecksumValid} where the sender is known to fill it in.
 */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Data offset × 4: 20–60 bytes. */
  headerLength: number;
  /** Flag bits, see {@link TCP_FLAGS}. */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** View of the option bytes; parse with {@link decodeTcpOptions}. */
  options: Uint8Array;
  /** View of the segment data. */
  payload: Uint8Array;
}

/** TCP flag bits in byte 13 of the header. */
export const TCP_FLAGS = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export const TCP_MIN_HEADER_LENGTH = 20;

/**
 * Decodes the TCP segment in `buf[offset, end)` (a raw IPv4 socket delivers the IP header first: decode it
 * and pass its `payloadOffset`/`payloadEnd`). Any segment: SYN-ACK, RST, data.
 */
export function decodeTcp(buf: Uint8Array, offset = 0, end = buf.length): TcpHeader {
  checkWindow('tcp', buf, offset, end);
  needBytes('tcp header', offset, end, TCP_MIN_HEADER_LENGTH);
  const headerLength = (buf[offset + 12]! >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LENGTH) {
    throw new PacketError('bad-length', `tcp header: data offset ${headerLength / 4} below the minimum of 5`);
  }
  needBytes('tcp header with options', offset, end, headerLength);
  return {
    srcPort: u16(buf, offset),
    dstPort: u16(buf, offset + 2),
    seq: u32(buf, offset + 4),
    ack: u32(buf, offset + 8),
    headerLength,
    flags: buf[offset + 13]!,
    window: u16(buf, offset + 14),
    checksum: u16(buf, offset + 16),
    urgent: u16(buf, offset + 18),
    options: buf.subarray(offset + TCP_MIN_HEADER_LENGTH, offset + headerLength),
    payload: buf.subarray(offset + headerLength, end),
  };
}

/** The TCP options this codebase writes or reads (RFC 9293, RFC 7323, RFC 2018). */
export interface TcpOptions {
  /** Maximum segment size (kind 2). */
  mss?: number;
  /** Window scale shift (kind 3). */
  windowScale?: number;
  /** SACK permitted (kind 4). */
  sackPermitted?: boolean;
  /** Timestamps (kind 8). */
  timestamps?: { value: number; echo: number };
}

const OPT_END = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_TIMESTAMPS = 8;

/**
 * Parses TCP options (a view such as {@link TcpHeader.options}). Unknown kinds are skipped by their length;
 * a length below 2 or past the end, or a known option with the wrong length, throws `bad-length`.
 */
export function decodeTcpOptions(options: Uint8Array): TcpOptions {
  const out: TcpOptions = {};
  let i = 0;
  while (i < options.length) {
    const kind = options[i]!;
    if (kind === OPT_END) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 2 > options.length) throw new PacketError('bad-length', `tcp option ${kind}: no length byte`);
    const len = options[i + 1]!;
    if (len < 2 || i + len > options.length) {
      throw new PacketError('bad-length', `tcp option ${kind}: length ${len} does not fit`);
    }
    const expect = (n: number) => {
      if (len !== n) throw new PacketError('bad-length', `tcp option ${kind}: length ${len}, expected ${n}`);
    };
    if (kind === OPT_MSS) {
      expect(4);
      out.mss = u16(options, i + 2);
    } else if (kind === OPT_WSCALE) {
      expect(3);
      out.windowScale = options[i + 2]!;
    } else if (kind === OPT_SACK_PERMITTED) {
      expect(2);
      out.sackPermitted = true;
    } else if (kind === OPT_TIMESTAMPS) {
      expect(10);
      out.timestamps = { value: u32(options, i + 2), echo: u32(options, i + 6) };
    }
    i += len;
  }
  return out;
}

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  /** Flag bits (see {@link TCP_FLAGS}). */
  flags: number;
  window?: number;
  urgent?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
}

/**
 * Encodes a TCP segment with its checksum over the pseudo-header of `addresses`' family (both 4 or both 16
 * bytes). Options are written 4-byte aligned in Linux's order: MSS, SACK-permitted, timestamps, window scale.
 *
 * On raw sockets without IP_HDRINCL the kernel writes the IP header but not the TCP checksum, so `addresses.src`
 * must be the address the kernel will send from (bind the socket, or ask the route). On IPv6 the kernel can
 * compute it instead (setsockopt IPV6_CHECKSUM = 16); the value written here is then overwritten.
 */
export function encodeTcp(fields: TcpFields, addresses: PseudoAddresses): Buffer {
  checkUint('tcp srcPort', fields.srcPort, 0xffff);
  checkUint('tcp dstPort', fields.dstPort, 0xffff);
  checkUint('tcp seq', fields.seq, 0xffffffff);
  checkUint('tcp ack', fields.ack ?? 0, 0xffffffff);
  checkUint('tcp flags', fields.flags, 0xff);
  checkUint('tcp window', fields.window ?? 0, 0xffff);
  checkUint('tcp urgent', fields.urgent ?? 0, 0xffff);
  const opts = encodeTcpOptions(fields.options ?? {});
  const payload = fields.payload ?? new Uint8Array(0);
  const headerLength = TCP_MIN_HEADER_LENGTH + opts.length;
  const length = headerLength + payload.length;
  const b = Buffer.alloc(length);
  put16(b, 0, fields.srcPort);
  put16(b, 2, fields.dstPort);
  put32(b, 4, fields.seq);
  put32(b, 8, fields.ack ?? 0);
  b[12] = (headerLength / 4) << 4;
  b[13] = fields.flags;
  put16(b, 14, fields.window ?? 0);
  put16(b, 18, fields.urgent ?? 0);
  b.set(opts, TCP_MIN_HEADER_LENGTH);
  b.set(payload, headerLength);
  const initial = pseudoHeaderSum(addresses.src, addresses.dst, IP_PROTOCOL.tcp, length);
  put16(b, 16, internetChecksum(b, 0, length, initial));
  return b;
}

export interface TcpSynFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  /** Maximum segment size to announce; 1460 unless given. */
  mss?: number;
  /** Receive window; 64240 (Linux's default for a SYN) unless given. */
  window?: number;
}

/**
 * A SYN as a probe: MSS option only, so that it is small and any stack answers it (SYN-ACK if the port is
 * open, RST if closed). See {@link encodeTcp} for the checksum and the source address.
 */
export function encodeTcpSyn(fields: TcpSynFields, addresses: PseudoAddresses): Buffer {
  return encodeTcp(
    {
      srcPort: fields.srcPort,
      dstPort: fields.dstPort,
      seq: fields.seq,
      flags: TCP_FLAGS.SYN,
      window: fields.window ?? 64240,
      options: { mss: fields.mss ?? 1460 },
    },
    addresses,
  );
}

/** Length of the SYN {@link writeTcpSyn} writes: the fixed header and the 4-byte MSS option. */
export const TCP_SYN_LENGTH = TCP_MIN_HEADER_LENGTH + 4;

/**
 * Writes the same SYN as {@link encodeTcpSyn} into `target` at `offset`, for senders that reuse one buffer
 * instead of allocating a segment per probe, and returns the offset just past it. Throws `bad-field` on
 * out-of-range fields, `truncated` when `target` is too small.
 */
export function writeTcpSyn(
  target: Uint8Array,
  offset: number,
  fields: TcpSynFields,
  addresses: PseudoAddresses,
): number {
  checkUint('tcp srcPort', fields.srcPort, 0xffff);
  checkUint('tcp dstPort', fields.dstPort, 0xffff);
  checkUint('tcp seq', fields.seq, 0xffffffff);
  const mss = fields.mss ?? 1460;
  const window = fields.window ?? 64240;
  checkUint('tcp option mss', mss, 0xffff);
  checkUint('tcp window', window, 0xffff);
  const end = offset + TCP_SYN_LENGTH;
  checkWindow('tcp syn target', target, offset, Math.min(end, target.length));
  needBytes('tcp syn target', offset, target.length, TCP_SYN_LENGTH);
  put16(target, offset, fields.srcPort);
  put16(target, offset + 2, fields.dstPort);
  put32(target, offset + 4, fields.seq);
  put32(target, offset + 8, 0);
  target[offset + 12] = (TCP_SYN_LENGTH / 4) << 4;
  target[offset + 13] = TCP_FLAGS.SYN;
  put16(target, offset + 14, window);
  put16(target, offset + 16, 0);
  put16(target, offset + 18, 0);
  target[offset + 20] = OPT_MSS;
  target[offset + 21] = 4;
  put16(target, offset + 22, mss);
  const initial = pseudoHeaderSum(addresses.src, addresses.dst, IP_PROTOCOL.tcp, TCP_SYN_LENGTH);
  put16(target, offset + 16, internetChecksum(target, offset, end, initial));
  return end;
}

/**
 * Whether the TCP segment in `buf[offset, end)` carries a valid checksum for `addresses`. Segments captured
 * on loopback or received before checksum offload completes may fail this although nothing is wrong.
 */
export function tcpChecksumValid(
  buf: Uint8Array,
  addresses: PseudoAddresses,
  offset = 0,
  end = buf.length,
): boolean {
  checkWindow('tcp', buf, offset, end);
  needBytes('tcp header', offset, end, TCP_MIN_HEADER_LENGTH);
  const initial = pseudoHeaderSum(addresses.src, addresses.dst, IP_PROTOCOL.tcp, end - offset);
  return internetChecksum(buf, offset, end, initial) === 0;
}

function encodeTcpOptions(o: TcpOptions): Uint8Array {
  const bytes: number[] = [];
  if (o.mss !== undefined) {
    checkUint('tcp option mss', o.mss, 0xffff);
    bytes.push(OPT_MSS, 4, o.mss >>> 8, o.mss & 0xff);
  }
  if (o.sackPermitted) bytes.push(OPT_NOP, OPT_NOP, OPT_SACK_PERMITTED, 2);
  if (o.timestamps) {
    checkUint('tcp option timestamps.value', o.timestamps.value, 0xffffffff);
    checkUint('tcp option timestamps.echo', o.timestamps.echo, 0xffffffff);
    const t = new Uint8Array(12);
    t.set([OPT_NOP, OPT_NOP, OPT_TIMESTAMPS, 10]);
    put32(t, 4, o.timestamps.value);
    put32(t, 8, o.timestamps.echo);
    bytes.push(...t);
  }
  if (o.windowScale !== undefined) {
    checkUint('tcp option windowScale', o.windowScale, 14);
    bytes.push(OPT_NOP, OPT_WSCALE, 3, o.windowScale);
  }
  return Uint8Array.from(bytes);
}
