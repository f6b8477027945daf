/**
 * The addresses a census pass probes: every address of the prefix, except the network and broadcast addresses of an
 * IPv4 prefix shorter than /31 (no host holds them; a /31 or /32 has none, RFC 3021). IPv6 has no broadcast, so every
 * address of an IPv6 prefix is probed.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { type Prefix, uintToIpv4 } from '../../../contract/index.js';
import { formatIpv6, parseIpv4, parseIpv6 } from '../../packets/index.js';

/** The addresses of a prefix by index, in canonical text form (the form answers name them in). */
export interface AddressSpace {
  readonly count: number;
  /** Address number `i`, 0 ≤ i < count. */
  at(i: number): string;
  /** The number of an address (any text form), or -1 when it is not one of the space's. */
  indexOf(address: string): number;
}

/** See the module comment. */
export function addressSpace(prefix: Prefix): AddressSpace {
  if (prefix.family === 4) {
    const skip = prefix.bits < 31 ? 1 : 0;
    const first = prefix.base + skip;
    const count = prefix.size - 2 * skip;
    return {
      count,
      at: (i) => uintToIpv4(first + i),
      indexOf: (address) => {
        if (!isIPv4(address)) return -1;
        const b = parseIpv4(address);
        const i = (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) - first;
        return i >= 0 && i < count ? i : -1;
      },
    };
  }
  const bytes = new Uint8Array(16);
  prefix.high.forEach((group, g) => {
    bytes[2 * g] = group >> 8;
    bytes[2 * g + 1] = group & 0xff;
  });
  return {
    count: prefix.size,
    at: (i) => {
      const low = prefix.base + i;
      bytes[14] = low >> 8;
      bytes[15] = low & 0xff;
      return formatIpv6(bytes);
    },
    indexOf: (address) => {
      if (!isIPv6(address)) return -1;
      const b = parseIpv6(address);
      for (let g = 0; g < 7; g++) if (((b[2 * g]! << 8) | b[2 * g + 1]!) !== prefix.high[g]) return -1;
      const i = ((b[14]! << 8) | b[15]!) - prefix.base;
      return i >= 0 && i < prefix.size ? i : -1;
    },
  };
}

/**
 * The addresses `from` ≤ i < `to` of a space, renumbered from 0: a source's slice of a split census. Throws a
 * RangeError when the slice does not fit the space (a slice cut for another prefix).
 */
export function sliceSpace(space: AddressSpace, from: number, to: number): AddressSpace {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= space.count)) {
    throw new RangeError(
      `[agent:census] slice ${from}–${to} does not fit the ${space.count} addresses of the census`,
    );
  }
  return {
    count: to - from,
    at: (i) => space.at(from + i),
    indexOf: (address) => {
      const i = space.indexOf(address);
      return i >= from && i < to ? i - from : -1;
    },
  };
}
