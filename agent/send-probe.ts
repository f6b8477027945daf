/**
 * Adapts the probe engine to the scheduler's {@link SendProbe}: resolve the destination's address for its
 * protocol's family (cached per DNS TTL), send one probe on the shared raw sockets, stamp the destination id.
 *
 * This runs once per probe (tens of thousands a second with many destinations), so its common path allocates
 * nothing and looks nothing up by hash: what it derives from a destination (the family, whether the address is
 * an IP literal, the ProbeTarget, the callback that stamps outcomes) sits in a {@link Memo} in the scheduler's
 * per-destination memo slot, built again when the destination object changes (the scheduler replaces it on a
 * configuration change, never mutates it). An IP literal goes straight to the prober; a name asks the resolver's
 * cache, synchronously; only a name due for resolution waits for the resolver. The engine's fresh outcome object
 * is stamped and handed on, not copied.
 */
import { isIP } from 'node:net';
import { type Destination, type Protocol, protocolFamily } from '../contract/index.js';
import { type Clock, systemClock } from './clock.js';
import { errorResult } from './error-result.js';
import type { OutcomeCallback, ProbeOutcome, Prober, ProbeTarget } from './probes/types.js';
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

function targetOf(d: Destination, address: string): ProbeTarget {
  return { protocol: d.protocol, address, port: d.port, ttl: d.ttl, timeout: d.timeout, data: d.data };
}

/** What one sender derives from one destination object, once. */
class Memo {
  readonly family: 4 | 6;
  /** The address is an IP literal of the protocol's family: no resolver at all. */
  readonly literal: boolean;
  /** The target for the address last resolved (from the start for a literal). */
  target: ProbeTarget | undefined;
  /** The outcome callback for `done`; the scheduler passes the same `done` for every probe. */
  readonly stamp: OutcomeCallback;

  constructor(
    /** The sender that made it: another sender's memo (one over a new engine) is not reused. */
    readonly owner: object,
    readonly destination: Destination,
    readonly done: ResultCallback,
  ) {
    this.family = protocolFamily(destination.protocol);
    this.literal = isIP(destination.address) === this.family;
    this.target = this.literal ? targetOf(destination, destination.address) : undefined;
    this.stamp = stamper(destination, done);
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

  /** Sends to `address`, from the cache or once the resolver has answered. */
  const sendTo = (memo: Memo, address: string, seq: number, done: ResultCallback): void => {
    const d = memo.destination;
    let target = memo.target;
    if (target === undefined || target.address !== address) {
      target = targetOf(d, address);
      memo.target = target;
    }
    engine()
      .prober(d.protocol)
      .send(target, seq, done === memo.done ? memo.stamp : stamper(d, done));
  };

  const memoOf = (scheduled: ScheduledDestination, done: ResultCallback): Memo => {
    const memo = scheduled.memo;
    if (memo instanceof Memo && memo.owner === owner && memo.destination === scheduled.destination)
      return memo;
    const fresh = new Memo(owner, scheduled.destination, done);
    scheduled.memo = fresh;
    return fresh;
  };

  return (scheduled: ScheduledDestination, seq: number, done: ResultCallback): void => {
    const m = memoOf(scheduled, done);
    const d = m.destination;
    const address = m.literal ? d.address : resolver.cached(d.address, m.family);
    if (address !== undefined) {
      sendTo(m, address, seq, done);
      return;
    }
    // A name due for resolution (or one that does not resolve): the probe leaves once the resolver answers.
    const failed = () => done(errorResult(d, seq, clock.wallNs().toString()));
    resolver.resolve(d.address, m.family).then((resolved) => {
      try {
        sendTo(m, resolved, seq, done);
      } catch {
        failed();
      }
    }, failed);
  };
}
