/**
 * Listing a census's hosts, the same for every store: the state filter (`new` is up and first seen in the latest
 * pass), numeric address order, and the API shape.
 */
import type { CensusHost } from '../../contract/index.js';
import type { CensusHostState } from '../store/store.js';
import type { HostState } from './apply-pass.js';

/** A stored host as the API shows it. */
export function toCensusHost(h: HostState): CensusHost {
  return {
    address: h.address,
    state: h.state,
    firstSeen: h.firstSeen.toString(),
    lastSeen: h.lastSeen.toString(),
    lastRtt: h.lastRtt,
    passesAnswered: h.passesAnswered,
    missed: h.missed,
  };
}

/** Orders addresses numerically within a family (IPv4 before IPv6), not as text. */
export function compareAddresses(a: string, b: string): number {
  const key = (s: string) =>
    s.includes(':')
      ? `6${s
          .split(':')
          .map((g) => g.padStart(4, '0'))
          .join(':')}`
      : `4${s
          .split('.')
          .map((o) => o.padStart(3, '0'))
          .join('.')}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** Hosts in a state (`new`: up and first seen in the latest pass), ordered by address. */
export function filterHosts(
  hosts: HostState[],
  state: CensusHostState | undefined,
  latestPass: bigint | null,
): HostState[] {
  const kept = hosts.filter((h) =>
    state === undefined
      ? true
      : state === 'new'
        ? h.state === 'up' && h.firstSeen === latestPass
        : h.state === state,
  );
  return kept.sort((a, b) => compareAddresses(a.address, b.address));
}
