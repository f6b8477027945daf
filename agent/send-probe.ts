/**
 * Adapts the probe engine to the scheduler's {@link SendProbe}: resolve the destination's address for its
 * protocol's family (cached per DNS TTL), send one probe on the shared raw sockets, stamp the destination id.
 *
 * This runs once per probe (tens of thousands a second with many destinations), so it allocates little and
 * never a promise when the address is known at once (an IP literal, or a name fresh in the resolver's cache):
 * the prober is called synchronously with a callback. Only a name due for resolution waits for the resolver.
 * The ProbeTarget is kept per destination object (the scheduler replaces a destination's object when its
 * configuration changes, never mutates it) and rebuilt only when the resolved address changes, and the engine's
 * fresh outcome object is stamped and handed on instead of copied.
 */
import { type Destination, type Protocol, protocolFamily } from '../contract/index.js';
import { type Clock, systemClock } from './clock.js';
import { errorResult } from './error-result.js';
import type { ProbeOutcome, Prober, ProbeTarget } from './probes/types.js';
import type { Resolver } from './resolve.js';
import type { ResultCallback, SendProbe } from './scheduler.js';

/** Where the sender gets a protocol's prober from: the probe engine (which throws once closed). */
export interface ProberSource {
  prober(protocol: Protocol): Prober;
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
  const targets = new WeakMap<Destination, ProbeTarget>();

  const sendTo = (d: Destination, address: string, seq: number, done: ResultCallback): void => {
    let target = targets.get(d);
    if (target === undefined || target.address !== address) {
      target = { protocol: d.protocol, address, port: d.port, ttl: d.ttl, timeout: d.timeout, data: d.data };
      targets.set(d, target);
    }
    engine()
      .prober(d.protocol)
      .send(target, seq, (outcome: ProbeOutcome & { destination?: string }) => {
        // `detail` (why a probe could not be sent) is for logs, not part of a result.
        if (outcome.detail !== undefined) delete outcome.detail;
        outcome.destination = d.id;
        done(outcome as ProbeOutcome & { destination: string });
      });
  };

  return ({ destination: d }, seq, done) => {
    const family = protocolFamily(d.protocol);
    const address = resolver.cached(d.address, family);
    if (address !== undefined) {
      sendTo(d, address, seq, done);
      return;
    }
    // A name due for resolution (or one that does not resolve): the probe leaves once the resolver answers.
    const failed = () => done(errorResult(d, seq, clock.wallNs().toString()));
    resolver.resolve(d.address, family).then((resolved) => {
      try {
        sendTo(d, resolved, seq, done);
      } catch {
        failed();
      }
    }, failed);
  };
}
