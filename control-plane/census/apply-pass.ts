/**
 * How a pass changes a census's hosts, as a pure function both stores call inside their write: answered hosts go
 * up (a new one, or one that was gone, makes an `appeared` event); known hosts the pass missed go down, and the
 * one miss that makes `goneAfter` in a row makes a `gone` event. Unanswered addresses that were never hosts leave
 * no trace.
 *
 * A slice of a split census changes only the hosts in its slice: a known host outside it is another source's to
 * report, and a host in a slice nobody reported (its source went silent) is left as it was — not missed, never
 * gone for that. The slices of one pass share its time (the slot), so they read and write disjoint hosts.
 *
 * Idempotent and order-safe by `lastPass`: a host already updated by this pass, or by a later one, is left as it
 * is, so a retried report changes nothing and a late report of an older pass never undoes a newer one.
 */
import { type CensusEvent, type CensusPass, censusAddressIndex, parsePrefix } from '../../contract/index.js';

/** A host as the stores keep it. */
export interface HostState {
  address: string;
  state: 'up' | 'down';
  firstSeen: bigint;
  lastSeen: bigint;
  lastRtt: number | null;
  passesAnswered: number;
  missed: number;
  /** Start of the last pass that updated this host. */
  lastPass: bigint;
}

/** What one pass changes: the hosts to write (only those that changed) and the events it makes. */
export interface PassEffect {
  hosts: HostState[];
  events: CensusEvent[];
}

/**
 * @param known every host of the census, by address
 * @param start the pass's start (its identity with the source and destination)
 * @param answers the pass's answers, `[address, rtt]`
 * @param goneAfter misses in a row that make a host gone
 * @param covers whether the pass probed an address (default: every address)
 */
export function applyPass(
  known: ReadonlyMap<string, HostState>,
  start: bigint,
  answers: readonly (readonly [string, number | null])[],
  goneAfter: number,
  covers: (address: string) => boolean = () => true,
): PassEffect {
  const at = start.toString();
  const hosts: HostState[] = [];
  const events: CensusEvent[] = [];
  const answered = new Set<string>();
  for (const [address, rtt] of answers) {
    answered.add(address);
    const host = known.get(address);
    if (host && host.lastPass >= start) continue;
    if (!host || host.missed >= goneAfter) events.push({ at, address, kind: 'appeared' });
    hosts.push({
      address,
      state: 'up',
      firstSeen: host?.firstSeen ?? start,
      lastSeen: start,
      lastRtt: rtt,
      passesAnswered: (host?.passesAnswered ?? 0) + 1,
      missed: 0,
      lastPass: start,
    });
  }
  for (const host of known.values()) {
    if (answered.has(host.address) || host.lastPass >= start || !covers(host.address)) continue;
    const missed = host.missed + 1;
    if (missed === goneAfter) events.push({ at, address: host.address, kind: 'gone' });
    hosts.push({ ...host, state: 'down', missed, lastPass: start });
  }
  return { hosts, events };
}

/**
 * What a reported pass changes, slices included: a split pass applies at its slot (the time every slice of the
 * pass shares) and covers only its slice; a single-source pass applies at its start and covers everything.
 */
export function passEffect(
  known: ReadonlyMap<string, HostState>,
  pass: CensusPass,
  goneAfter: number,
): PassEffect {
  const answers = pass.answers ?? [];
  const slice = pass.slice;
  if (slice === undefined) return applyPass(known, BigInt(pass.start), answers, goneAfter);
  const parsed = parsePrefix(pass.prefix);
  const prefix = 'prefix' in parsed ? parsed.prefix : undefined;
  const covers = (address: string) => {
    const i = prefix && censusAddressIndex(prefix, address);
    return i !== undefined && i >= slice.from && i < slice.to;
  };
  return applyPass(known, BigInt(slice.slot), answers, goneAfter, covers);
}

/**
 * Answers of a split pass that are not in its slice (at most `limit`), for the route to refuse: a host outside the
 * slice is another source's to report. Empty for a single-source pass.
 */
export function answersOutsideSlice(pass: CensusPass, limit = 5): string[] {
  const slice = pass.slice;
  if (slice === undefined || pass.answers === undefined) return [];
  const parsed = parsePrefix(pass.prefix);
  if ('issue' in parsed) return pass.answers.slice(0, limit).map(([a]) => a);
  const outside: string[] = [];
  for (const [address] of pass.answers) {
    const i = censusAddressIndex(parsed.prefix, address);
    if (i === undefined || i < slice.from || i >= slice.to) outside.push(address);
    if (outside.length >= limit) break;
  }
  return outside;
}
