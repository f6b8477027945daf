/**
 * Adapts the probe engine to the scheduler's {@link SendProbe}: resolve the destination's address for its
 * protocol's family (cached per DNS TTL), send one probe on the shared raw sockets, stamp the destination id.
 *
 * This runs once per probe (tens of thousands a second with many destinations), so its common path allocates
 * nothing and looks nothing up by hash: what it derives from a destination (the family, whether the address is
 * an IP literal, the callback that stamps outcomes) sits in a {@link Memo} in the scheduler's per-destination memo
 * slot, and the memo is the ProbeTarget itself, so a probe reads one object of the sender's. It is built again
 * when the destination object changes (the scheduler replaces it on a configuration change, never mutates it).
 * An IP literal goes straight to the prober; a name asks the resolver's cache, synchronously; only a name due for
 * resolution waits for the resolver. The engine's fresh outcome object is stamped and handed on, not copied.
 */
import { isIP } from 'node:net';
import { type Destination, type Protocol, protocolFamily } from '../../contract/index.js';
import type { OutcomeCallback, ProbeOutcome, Prober, ProbeTarget } from '../probes/types.js';
import { type Clock, systemClock } from './clock.js';
import { errorResult } from './error-result.js';
import type { Resolver } from './resolve.js';
import type { ResultCallback, ScheduledDestination, SendProbe } from './scheduler.js';

/** Where the sender gets a protocol's prober from: the probe engine (which throws once closed). */
export interface ProberSource {
  prober(protocol: Protocol): Prober;
}

/** Hands the engine's outcome on as a result of `destination`, through `done`. */
function stamper(destination: Destination, done: ResultCallback): OutcomeCallback {
  const id = destination.id;
  return (outcome: ProbeOutcome & { destination?: string }) => {
    // `detail` (why a probe could not be sent) is for logs, not part of a result.
    if (outcome.detail !== undefined) delete outcome.detail;
    outcome.destination = id;
    done(outcome as ProbeOutcome & { destination: string });
  };
}

/**
 * What one sender derives from one destination object, once: the ProbeTarget itself (so a probe reads one object,
 * not a memo and then a target), and the rest. Immutable: a name that resolves to another address gets a new one.
 */
class Memo implements ProbeTarget {
  readonly protocol: Protocol;
  readonly port: number | null;
  readonly ttl: number;
  readonly timeout: number;
  readonly data: string;

  constructor(
    /** The sender that made it: another sender's memo (one over a new engine) is not reused. */
    readonly owner: object,
    readonly destination: Destination,
    readonly family: 4 | 6,
    /** The address is an IP literal of the protocol's family: no resolver at all. */
    readonly literal: boolean,
    /** The address probed: the literal, or the name's address when this memo was made ('' before any). */
    readonly address: string,
    /** The `done` that {@link stamp} calls; the scheduler passes the same one for every probe. */
    readonly done: ResultCallback,
    readonly stamp: OutcomeCallback,
  ) {
    this.protocol = destination.protocol;
    this.port = destination.port;
    this.ttl = destination.ttl;
    this.timeout = destination.timeout;
    this.data = destination.data;
  }

  /** This memo for another address of its (host name) destination. */
  at(address: string): Memo {
    return new Memo(this.owner, this.destination, this.family, false, address, this.done, this.stamp);
  }
}

/**
 * A {@link SendProbe} over the probe engine. `engine` is asked for the prober at every probe, so a closed engine
 * turns probes into error results (the scheduler records a throw as one). `clock` stamps the error results of
 * names that do not resolve.
 */
export function engineSender(
  engine: () => ProberSource,
  resolver: Resolver,
  clock: Pick<Clock, 'wallNs'> = systemClock,
): SendProbe {
  const owner = {};

  const memoOf = (scheduled: ScheduledDestination, done: ResultCallback): Memo => {
    const memo = scheduled.memo;
    if (memo instanceof Memo && memo.owner === owner && memo.destination === scheduled.destination)
      return memo;
    const d = scheduled.destination;
    const family = protocolFamily(d.protocol);
    const literal = isIP(d.address) === family;
    const fresh = new Memo(owner, d, family, literal, literal ? d.address : '', done, stamper(d, done));
    scheduled.memo = fresh;
    return fresh;
  };

  /** Sends to `address` (from the resolver) with the memo for it, kept for the next probe. */
  const sendTo = (
    scheduled: ScheduledDestination,
    memo: Memo,
    address: string,
    seq: number,
    done: ResultCallback,
    lateness: number,
  ) => {
    let target = memo;
    if (address !== memo.address) {
      target = memo.at(address);
      // Unless the destination changed meanwhile (a probe that waited for the resolver).
      if (scheduled.memo === memo) scheduled.memo = target;
    }
    send(target, seq, done, lateness);
  };

  const send = (memo: Memo, seq: number, done: ResultCallback, lateness: number): void => {
    engine()
      .prober(memo.protocol)
      .send(memo, seq, done === memo.done ? memo.stamp : stamper(memo.destination, done), lateness);
  };

  return (scheduled: ScheduledDestination, seq: number, done: ResultCallback, lateness = 0): void => {
    const memo = memoOf(scheduled, done);
    if (memo.literal) {
      send(memo, seq, done, lateness);
      return;
    }
    const d = memo.destination;
    const address = resolver.cached(d.address, memo.family);
    if (address !== undefined) {
      sendTo(scheduled, memo, address, seq, done, lateness);
      return;
    }
    // A name due for resolution (or one that does not resolve): the probe leaves once the resolver answers.
    const failed = () => done(errorResult(d, seq, clock.wallNs().toString()));
    resolver.resolve(d.address, memo.family).then((resolved) => {
      try {
        // Late by the resolver's wait too, which the scheduler did not see: the mark keeps the slot's lateness.
        sendTo(scheduled, memo, resolved, seq, done, lateness);
      } catch {
        failed();
      }
    }, failed);
  };
}
