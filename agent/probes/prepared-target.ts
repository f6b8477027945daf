/**
 * What a prober derives from a target's address and data — the canonical address and its bytes, the data's
 * bytes, the address's part of the in-flight key, and (UDP/TCP over IPv4) the checksum pseudo-header — kept on the
 * ProbeTarget object itself, so that a destination probed every second pays for it once, not per probe.
 *
 * The agent hands the probers one target object per destination and resolved address, so the common case is a
 * property read and two string comparisons (equal strings are usually the same string, compared by pointer).
 * Without it, each probe paid two Map lookups (canonical form, data bytes) and a hash over the address string;
 * a WeakMap keyed by the target would be one more hash lookup. The entry is checked against the target's
 * current address, data and family on every use, so an object that is reused with other fields, or copied (a
 * spread or Object.assign copies the property, an enumerable symbol, along with the fields it was made from), or
 * passed fresh per probe (`pinger probe`, tests) is prepared afresh whenever those differ, never served stale. A
 * frozen target is prepared per probe, not marked.
 */
import { parseIpv4, parseIpv6 } from '../packets/index.js';
import { InFlightTable } from './in-flight.js';
import type { ProbeTarget } from './types.js';

const PREPARED = Symbol('pinger.prepared-target');

/** See the module comment. */
export class PreparedTarget {
  /** The pseudo-header addresses of UDP/TCP over IPv4, for the source they were built with. */
  pseudo: { src: Uint8Array; dst: Uint8Array } | undefined = undefined;

  /** The IPv4 pseudo-header addresses from `src` to this target: built once per source, not per probe. */
  pseudoFrom(src: Uint8Array): { src: Uint8Array; dst: Uint8Array } {
    let p = this.pseudo;
    if (p === undefined || p.src !== src) {
      p = { src, dst: this.addressBytes };
      this.pseudo = p;
    }
    return p;
  }

  constructor(
    /** The target's fields this was derived from: a use checks them. */
    readonly family: 4 | 6,
    readonly address: string,
    readonly data: string,
    /** The address as answers name it. */
    readonly canonical: string,
    /** The data's UTF-8 bytes (shared: never mutate). */
    readonly bytes: Uint8Array,
    /** {@link InFlightTable.addressHash} of the canonical address. */
    readonly addressHash: number,
    /** The address's 4 or 16 bytes, network order: what the socket sends to. */
    readonly addressBytes: Uint8Array,
  ) {}
}

type Marked = ProbeTarget & { [PREPARED]?: PreparedTarget };

/** The preparation kept on `target` for `family`, if it still matches the target's address and data. */
export function preparedOf(target: ProbeTarget, family: 4 | 6): PreparedTarget | undefined {
  const p = (target as Marked)[PREPARED];
  return p !== undefined && p.family === family && p.address === target.address && p.data === target.data
    ? p
    : undefined;
}

/** Builds the preparation of `target` and keeps it on the object (when it can take a property). */
export function prepare(
  target: ProbeTarget,
  family: 4 | 6,
  canonical: string,
  bytes: Uint8Array,
): PreparedTarget {
  const p = new PreparedTarget(
    family,
    target.address,
    target.data,
    canonical,
    bytes,
    InFlightTable.addressHash(canonical),
    family === 4 ? parseIpv4(canonical) : parseIpv6(canonical),
  );
  // A plain assignment, not a non-enumerable defineProperty: that cost ~1.5 µs a call, which a caller passing a
  // fresh object per probe would pay every time. Symbol keys stay out of JSON and Object.keys all the same.
  const marked = target as Marked;
  if (Object.hasOwn(marked, PREPARED) ? !Object.isFrozen(marked) : Object.isExtensible(marked)) {
    marked[PREPARED] = p;
  }
  return p;
}
