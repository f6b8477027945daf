import { put16, u16 } from './bytes.js';
import { internetChecksum, type PseudoAddresses, pseudoHeaderSum } from './checksum.js';
import { checkUint, checkWindow, needBytes, PacketError } from './errors.js';
import { IP_PROTOCOL } from './ipv4.js';

/**
 * UDP header (RFC 768); the checksum covers a pseudo-header (IPv4: RFC 768, IPv6: RFC 8200 §8.1).
 *
 * ```
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |     Source      |   Destination   |
 * |      Port       |      Port       |
 * +--------+--------+--------+--------+
 * |     Length      |    Checksum     |
 * +--------+--------+--------+--------+
 * |          data octets ...
 * +---------------- ...
 * ```
 * Length counts header + data. A zero checksum means "none" on IPv4 and is invalid on IPv6; a computed zero is
 * sent as 0xffff.
 */
export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** Header + data, from the length field. */
  length: number;
  checksum: number;
  /** View of the data bytes (clipped to the bytes at hand when `truncated`). */
  payload: Uint8Array;
  /** True when the length field promises more bytes than were at hand (a quoted datagram). */
  truncated: boolean;
}

export const UDP_HEADER_LENGTH = 8;

/**
 * Decodes the UDP datagram in `buf[offset, end)`. A length field beyond `end` throws `truncated` unless
 * `allowTruncated` (used for datagrams quoted in ICMP errors). Trailing bytes past the length are ignored.
 */
export function decodeUdp(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  options: { allowTruncated?: boolean } = {},
): UdpHeader {
  checkWindow('udp', buf, offset, end);
  needBytes('udp header', offset, end, UDP_HEADER_LENGTH);
  const length = u16(buf, offset + 4);
  if (length < UDP_HEADER_LENGTH) {
    throw new PacketError('bad-length', `udp header: length ${length} below the header size of 8`);
  }
  const available = end - offset;
  const truncated = length > available;
  if (truncated && !options.allowTruncated) {
    throw new PacketError('truncated', `udp datagram: length ${length}, have ${available}`);
  }
  return {
    srcPort: u16(buf, offset),
    dstPort: u16(buf, offset + 2),
    length,
    checksum: u16(buf, offset + 6),
    payload: buf.subarray(offset + UDP_HEADER_LENGTH, offset + Math.min(length, available)),
    truncated,
  };
}

export interface UdpFields {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
}

/**
 * Encodes a UDP datagram. With `addresses` the checksum is computed over the pseudo-header of their family;
 * without, it is left 0 ("no checksum", IPv4 only — IPv6 needs `addresses` or a kernel-side IPV6_CHECKSUM).
 */
export function encodeUdp(fields: UdpFields, addresses?: PseudoAddresses): Buffer {
  const length = UDP_HEADER_LENGTH + (fields.payload?.length ?? 0);
  checkUint('udp length', length, 0xffff);
  const b = Buffer.alloc(length);
  writeUdp(b, 0, fields, addresses);
  return b;
}

/**
 * Writes a UDP datagram into `target` at `offset`, for senders that reuse one buffer instead of allocating a
 * packet per probe, and returns the offset just past it. The data is `fields.payload`, or — with it omitted and
 * `inPlaceLength` given — the `inPlaceLength` bytes already at `offset + 8` (written there with
 * `writeProbePayload`, saving a copy). The checksum as for {@link encodeUdp}. Throws `bad-field` on out-of-range
 * fields, `truncated` when `target` is too small.
 */
export function writeUdp(
  target: Uint8Array,
  offset: number,
  fields: UdpFields,
  addresses?: PseudoAddresses,
  inPlaceLength?: number,
): number {
  checkUint('udp srcPort', fields.srcPort, 0xffff);
  checkUint('udp dstPort', fields.dstPort, 0xffff);
  const length = UDP_HEADER_LENGTH + (fields.payload ? fields.payload.length : (inPlaceLength ?? 0));
  checkUint('udp length', length, 0xffff);
  const end = offset + length;
  checkWindow('udp target', target, offset, Math.min(end, target.length));
  needBytes('udp target', offset, target.length, length);
  put16(target, offset, fields.srcPort);
  put16(target, offset + 2, fields.dstPort);
  put16(target, offset + 4, length);
  put16(target, offset + 6, 0);
  if (fields.payload) target.set(fields.payload, offset + UDP_HEADER_LENGTH);
  if (addresses) {
    const sum = internetChecksum(
      target,
      offset,
      end,
      pseudoHeaderSum(addresses.src, addresses.dst, IP_PROTOCOL.udp, length),
    );
    put16(target, offset + 6, sum === 0 ? 0xffff : sum);
  }
  return end;
}

/**
 * Whether the UDP datagram in `buf[offset, offset + length)` carries a valid checksum for `addresses`. A zero
 * checksum is valid on IPv4 (none sent) and invalid on IPv6.
 */
export function udpChecksumValid(
  buf: Uint8Array,
  addresses: PseudoAddresses,
  offset = 0,
  end = buf.length,
): boolean {
  const udp = decodeUdp(buf, offset, end);
  if (udp.checksum === 0) return addresses.src.length === 4;
  const initial = pseudoHeaderSum(addresses.src, addresses.dst, IP_PROTOCOL.udp, udp.length);
  return internetChecksum(buf, offset, offset + udp.length, initial) === 0;
}
