/**
 * Adapts the probe engine to the scheduler's {@link SendProbe}: resolve the destination's address for its
 * protocol's family (cached per DNS TTL), send one probe on the shared raw sockets, stamp the destination id.
 *
 * This runs once per probe (tens of thousands a second with many destinations), so it allocates little: the
 * ProbeTarget is kept per destination object (the scheduler replaces a destination's object when its
 * configuration changes, never mutates it) and rebuilt only when the resolved address changes, and the
 * engine's fresh outcome object is stamped and handed on instead of copied.
 */
import { type Destination, protocolFamily, type ResultInput } from '../contract/index.js';
import type { ProbeEngine } from './probes/engine.js';
import type { ProbeOutcome, ProbeTarget } from './probes/types.js';
import type { Resolver } from './resolve.js';
import type { ProbeRequest, SendProbe } from './scheduler.js';

export function engineSender(engine: () => ProbeEngine, resolver: Resolver): SendProbe {
  const targets = new WeakMap<Destination, ProbeTarget>();
  return async ({ destination: d, seq }: ProbeRequest): Promise<ResultInput> => {
    const address = await resolver.resolve(d.address, protocolFamily(d.protocol));
    let target = targets.get(d);
    if (target === undefined || target.address !== address) {
      target = { protocol: d.protocol, address, port: d.port, ttl: d.ttl, timeout: d.timeout, data: d.data };
      targets.set(d, target);
    }
    const outcome: ProbeOutcome & Partial<ResultInput> = await engine().prober(d.protocol).probe(target, seq);
    // `detail` (why a probe could not be sent) is for logs, not part of a result.
    if (outcome.detail !== undefined) delete outcome.detail;
    outcome.destination = d.id;
    return outcome as ResultInput;
  };
}
