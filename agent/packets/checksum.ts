import { checkWindow, PacketError } from './errors.js';

/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of the data taken
 * as big-endian 16-bit words, an odd last byte padded with a zero byte.
 *
 * `initial` carries a partial sum in, typically a pseudo-header from {@link pseudoHeaderSumV4} or
 * {@link pseudoHeaderSumV6}. Verifying: the checksum over data that includes its own checksum field is 0.
 *
 * Why a plain loop of word additions into a double: a JS number holds integers exactly up to 2^53, so carries
 * can be folded once at the end instead of per word; that beats 32-bit tricks and any view allocation.
 */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  return ~foldSum(onesComplementSum(buf, start, end, initial)) & 0xffff;
}

/**
 * The unfolded sum of `buf[start, end)` as 16-bit big-endian words (plus `initial`). Chain calls to checksum
 * data spread over several buffers; every chunk but the last must have an even length.
 */
export function onesComplementSum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  checkWindow('checksum', buf, start, end);
  let sum = initial;
  const evenEnd = end - ((end - start) & 1);
  let i = start;
  // Unrolled by four words: fewer loop checks on the 64–1500 byte packets this sees.
  for (const stop = evenEnd - 6; i < stop; i += 8) {
    sum +=
      ((buf[i]! << 8) | buf[i + 1]!) +
      ((buf[i + 2]! << 8) | buf[i + 3]!) +
      ((buf[i + 4]! << 8) | buf[i + 5]!) +
      ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i < evenEnd; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (evenEnd !== end) sum += buf[end - 1]! << 8;
  return sum;
}

/** Folds a one's complement sum of any size (< 2^53) to 16 bits, carries included. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Partial sum of the IPv4 pseudo-header used by TCP and UDP checksums (RFC 793 §3.1, RFC 768):
 *
 * ```
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |          source address           |
 * +--------+--------+--------+--------+
 * |        destination address        |
 * +--------+--------+--------+--------+
 * |  zero  |protocol|  TCP/UDP length |
 * +--------+--------+--------+--------+
 * ```
 * `src`/`dst` are 4-byte addresses (see `parseIpv4`); `length` is the transport header + data length.
 */
export function pseudoHeaderSumV4(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  length: number,
): number {
  if (src.length !== 4 || dst.length !== 4) {
    throw new PacketError('bad-field', 'pseudo-header v4: addresses must be 4 bytes');
  }
  return onesComplementSum(src) + onesComplementSum(dst) + (protocol & 0xff) + (length & 0xffff);
}

/**
 * Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) used by TCP, UDP and ICMPv6 checksums:
 *
 * ```
 * +-------------------------------------------------------+
 * |            source address (16 bytes)                  |
 * +-------------------------------------------------------+
 * |            destination address (16 bytes)             |
 * +-------------------------------------------------------+
 * |            upper-layer packet length (32 bits)        |
 * +-------------------------------------------------------+
 * |                  zero (24 bits)       | next header   |
 * +-------------------------------------------------------+
 * ```
 * `dst` is the final destination; `length` the upper-layer header + data length.
 */
export function pseudoHeaderSumV6(
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  length: number,
): number {
  if (src.length !== 16 || dst.length !== 16) {
    throw new PacketError('bad-field', 'pseudo-header v6: addresses must be 16 bytes');
  }
  const len = length >>> 0;
  return (
    onesComplementSum(src) + onesComplementSum(dst) + (len >>> 16) + (len & 0xffff) + (nextHeader & 0xff)
  );
}

/** Addresses for a pseudo-header: 4 bytes each (IPv4) or 16 bytes each (IPv6); see `parseIp`. */
export interface PseudoAddresses {
  src: Uint8Array;
  dst: Uint8Array;
}

/** Pseudo-header sum for either family, chosen by the address length (4 or 16 bytes). */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  return src.length === 16
    ? pseudoHeaderSumV6(src, dst, protocol, length)
    : pseudoHeaderSumV4(src, dst, protocol, length);
}
