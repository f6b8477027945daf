/**
 * CIDR prefixes, the address of a census destination: parsing and the size rule. Runtime-free (no `node:net`), so
 * the CLI, the control plane and the agent read a prefix the same way.
 *
 * A census sweeps at most {@link MAX_CENSUS_ADDRESSES} addresses: an IPv4 /16 or longer, an IPv6 /112 or longer.
 */
import * as v from 'valibot';

/** Largest prefix a census may sweep, in addresses (an IPv4 /16, an IPv6 /112). */
export const MAX_CENSUS_ADDRESSES = 65_536;
/** Shortest prefix length allowed per family (the {@link MAX_CENSUS_ADDRESSES} rule). */
export const MIN_PREFIX_BITS = { 4: 16, 6: 112 } as const;

/** A valid census prefix, its network address split so that any member is `base` plus an offset. */
export interface Prefix {
  family: 4 | 6;
  bits: number;
  /** `network/bits` in canonical form (the network address as given, lower case). */
  text: string;
  /**
   * IPv4: the network address as a uint32. IPv6: the last 16 bits of the network address (the only ones that vary
   * within a /112 or longer); the 112 bits above them are in {@link Prefix.high}.
   */
  base: number;
  /** IPv6 only: the first seven 16-bit groups of the network address; empty for IPv4. */
  high: number[];
  /** Addresses the prefix spans, network and broadcast included. */
  size: number;
}

const ipv4 = v.pipe(v.string(), v.ipv4());
const ipv6 = v.pipe(v.string(), v.ipv6());

/** Whether `s` is written as a prefix (`address/bits`) at all: what tells a census address from a single host. */
export function looksLikePrefix(s: string): boolean {
  return s.includes('/');
}

function ipv4ToUint(s: string): number {
  const [a, b, c, d] = s.split('.').map(Number);
  return ((a! << 24) | (b! << 16) | (c! << 8) | d!) >>> 0;
}

/** The eight 16-bit groups of an IPv6 literal that valibot accepted (a trailing dotted quad included). */
export function ipv6Groups(s: string): number[] {
  let text = s.toLowerCase();
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const n = ipv4ToUint(quad[1]!);
    text = `${text.slice(0, quad.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (p: string | undefined) => (p ? p.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/**
 * Reads `s` as a census prefix. Returns the prefix, or the reason it is not one, phrased to follow a field name
 * (`address is a /8 …`).
 */
export function parsePrefix(s: string): { prefix: Prefix } | { issue: string } {
  const slash = s.indexOf('/');
  const address = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  const family = v.is(ipv4, address) ? 4 : v.is(ipv6, address) ? 6 : undefined;
  if (slash < 0 || family === undefined) {
    return { issue: 'must be an IPv4 or IPv6 prefix (address/length) when it contains a /' };
  }
  const maxBits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > maxBits) {
    return { issue: `must have a prefix length of 0–${maxBits} after the / (IPv${family})` };
  }
  const bits = Number(bitsText);
  const min = MIN_PREFIX_BITS[family];
  if (bits < min) {
    const span = 2n ** BigInt(maxBits - bits);
    return {
      issue:
        `is a /${bits} of ${span.toLocaleString('en-US')} addresses; a census sweeps at most ` +
        `${MAX_CENSUS_ADDRESSES.toLocaleString('en-US')} (IPv${family} /${min} or longer)`,
    };
  }
  const hostBits = maxBits - bits;
  const size = 2 ** hostBits;
  if (family === 4) {
    const base = ipv4ToUint(address);
    if (hostBits > 0 && base % size !== 0) {
      const network = base - (base % size);
      return { issue: `has host bits set: the network of this prefix is ${uintToIpv4(network)}/${bits}` };
    }
    return { prefix: { family, bits, text: `${address}/${bits}`, base, high: [], size } };
  }
  const groups = ipv6Groups(address);
  const base = groups[7]!;
  if (base % size !== 0) {
    return { issue: `has host bits set: its last 16 bits must be a multiple of ${size} for a /${bits}` };
  }
  return {
    prefix: { family, bits, text: `${address.toLowerCase()}/${bits}`, base, high: groups.slice(0, 7), size },
  };
}

/** A uint32 as a dotted quad. */
export function uintToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/**
 * Addresses a census of `prefix` probes: all of them but the network and broadcast addresses of an IPv4 prefix
 * shorter than /31 (no host holds them; a /31 or /32 has none, RFC 3021). IPv6 has no broadcast.
 */
export function censusAddressCount(prefix: Prefix): number {
  return prefix.family === 4 && prefix.bits < 31 ? prefix.size - 2 : prefix.size;
}

/**
 * A dotted quad as a uint32, or undefined when `s` is not one (decimal octets 0–255, no leading zeros). By hand
 * rather than through valibot's `ipv4()`: the control plane asks this for every host of a census on each slice
 * reported, 65,534 of them for a /16, where the regex check took several times longer than the rest of the work.
 */
function dottedQuad(s: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + octet;
}

/**
 * The index of `address` among the addresses a census of `prefix` probes (0 for the first after the network
 * address of an IPv4 prefix shorter than /31), or undefined when it is not one of them. The inverse of the agent's
 * address space: how the control plane tells whether a host lies in a source's slice of a split census.
 */
export function censusAddressIndex(prefix: Prefix, address: string): number | undefined {
  const count = censusAddressCount(prefix);
  let index: number;
  if (prefix.family === 4) {
    const n = dottedQuad(address);
    if (n === undefined) return undefined;
    index = n - prefix.base - (prefix.bits < 31 ? 1 : 0);
  } else {
    if (!v.is(ipv6, address)) return undefined;
    const groups = ipv6Groups(address);
    if (groups.slice(0, 7).some((g, i) => g !== prefix.high[i])) return undefined;
    index = groups[7]! - prefix.base;
  }
  return index >= 0 && index < count ? index : undefined;
}
