/**
 * How a pass changes a census's hosts, as a pure function both stores call inside their write: answered hosts go
 * up (a new one, or one that was gone, makes an `appeared` event); known hosts the pass missed go down, and the
 * one miss that makes `goneAfter` in a row makes a `gone` event. Unanswered addresses that were never hosts leave
 * no trace.
 *
 * Idempotent and order-safe by `lastPass`: a host already updated by this pass, or by a later one, is left as it
 * is, so a retried report changes nothing and a late report of an older pass never undoes a newer one.
 */
import type { CensusEvent } from '../../contract/index.js';

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
 */
export function applyPass(
  known: ReadonlyMap<string, HostState>,
  start: bigint,
  answers: readonly (readonly [string, number | null])[],
  goneAfter: number,
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
    if (answered.has(host.address) || host.lastPass >= start) continue;
    const missed = host.missed + 1;
    if (missed === goneAfter) events.push({ at, address: host.address, kind: 'gone' });
    hosts.push({ ...host, state: 'down', missed, lastPass: start });
  }
  return { hosts, events };
}
