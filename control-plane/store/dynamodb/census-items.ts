/**
 * Pure mappers of the census items (issue 11), beside items.ts so key layouts stay out of domain objects:
 *
 * | item  | pk                 | sk                                  |
 * |-------|--------------------|-------------------------------------|
 * | pass  | `CP#<destination>` | `<time:20>#<source>`                |
 * | host  | `CH#<destination>` | address                             |
 * | event | `CE#<destination>` | `<at:20>#<address>#<kind>`          |
 * | answer| `CA#<destination>#<address>` | `<at:20>`                 |
 *
 * An answer item is one host's answer in one pass (its RTT), written with the pass and expiring with raw results
 * (`expireAt`): a partition per host, so a host's history is one Query over a range of pass times, and a pass's
 * answers spread over as many partitions as it has hosts.
 * A pass's time is its start, or the slot of a split pass (so that the slices of one pass sit side by side). Times
 * are ns since the epoch, kept as decimal strings (they pass 2^53). Runtime-free.
 */
import type { CensusEvent, CensusPass } from '../../../contract/index.js';
import type { HostState } from '../../census/apply-pass.js';
import type { StoredPass } from '../../census/merge-passes.js';
import type { Item, Key } from './items.js';

const pad = (ns: string | bigint) => ns.toString().padStart(20, '0');

export const censusPassPartition = (destination: string) => `CP#${destination}`;
export const censusHostPartition = (destination: string) => `CH#${destination}`;
export const censusEventPartition = (destination: string) => `CE#${destination}`;

/** The key of a source's report of a pass: by the pass's time (`slice.slot` when split, else `start`). */
export const censusPassKey = (
  destination: string,
  pass: Pick<CensusPass, 'start' | 'slice'>,
  source: string,
): Key => ({
  pk: censusPassPartition(destination),
  sk: `${pad(pass.slice?.slot ?? pass.start)}#${source}`,
});

/** The pass time of a pass item (the number before the `#` of its sort key). */
export const censusPassTime = (item: Item): string => (item.sk as string).split('#')[0]!;
export const censusHostKey = (destination: string, address: string): Key => ({
  pk: censusHostPartition(destination),
  sk: address,
});

/** The attributes of a pass item (its answers are applied to the hosts, not kept). */
export function censusPassFields(source: string, p: CensusPass): Item {
  return {
    destination: p.destination,
    source,
    prefix: p.prefix,
    start: p.start,
    end: p.end,
    addresses: p.addresses,
    probed: p.probed,
    answered: p.answered,
    retries: p.retries,
    errors: p.errors,
    skipped: p.skipped,
    rate: p.rate,
    ...(p.slice
      ? {
          slot: p.slice.slot,
          sliceFrom: p.slice.from,
          sliceTo: p.slice.to,
          sliceOf: p.slice.of,
          ...(p.slice.members ? { sliceMembers: p.slice.members } : {}),
        }
      : {}),
  };
}

export function toStoredPass(item: Item): StoredPass {
  return {
    destination: item.destination as string,
    source: item.source as string,
    prefix: item.prefix as string,
    start: BigInt(item.start as string),
    end: BigInt(item.end as string),
    addresses: item.addresses as number,
    probed: item.probed as number,
    answered: item.answered as number,
    retries: item.retries as number,
    errors: item.errors as number,
    skipped: item.skipped as number,
    rate: item.rate as number,
    ...(typeof item.slot === 'string'
      ? {
          slice: {
            slot: BigInt(item.slot),
            from: item.sliceFrom as number,
            to: item.sliceTo as number,
            of: item.sliceOf as number,
            ...(Array.isArray(item.sliceMembers) ? { members: item.sliceMembers as string[] } : {}),
          },
        }
      : {}),
  };
}

export function censusHostFields(h: HostState): Item {
  return {
    address: h.address,
    state: h.state,
    firstSeen: h.firstSeen.toString(),
    lastSeen: h.lastSeen.toString(),
    lastRtt: h.lastRtt,
    passesAnswered: h.passesAnswered,
    missed: h.missed,
    lastPass: h.lastPass.toString(),
  };
}

export function toHostState(item: Item): HostState {
  return {
    address: item.address as string,
    state: item.state as 'up' | 'down',
    firstSeen: BigInt(item.firstSeen as string),
    lastSeen: BigInt(item.lastSeen as string),
    lastRtt: (item.lastRtt as number | null | undefined) ?? null,
    passesAnswered: item.passesAnswered as number,
    missed: item.missed as number,
    lastPass: BigInt(item.lastPass as string),
  };
}

export function censusEventItem(destination: string, e: CensusEvent): Item {
  return {
    pk: censusEventPartition(destination),
    sk: `${pad(e.at)}#${e.address}#${e.kind}`,
    at: e.at,
    address: e.address,
    kind: e.kind,
  };
}

export function toCensusEvent(item: Item): CensusEvent {
  return { at: item.at as string, address: item.address as string, kind: item.kind as CensusEvent['kind'] };
}

export const censusAnswerPartition = (destination: string, address: string) => `CA#${destination}#${address}`;

/** A host's answer in the pass at `at`, expiring like a raw result of that time (rawExpiry). */
export function censusAnswerItem(
  destination: string,
  at: bigint,
  address: string,
  rtt: number | null,
  expireAt: number,
): Item {
  return { pk: censusAnswerPartition(destination, address), sk: pad(at), rtt, expireAt };
}

/** The pass time and RTT of an answer item. */
export function toCensusAnswer(item: Item): [bigint, number | null] {
  return [BigInt(item.sk as string), (item.rtt as number | null | undefined) ?? null];
}

/** The lowest and highest sort keys of pass items in [from, to] (pass time, then `#source`). */
export const censusPassRange = (from: bigint, to: bigint): [string, string] => [pad(from), `${pad(to)}#~`];
export const censusTimeKey = pad;
