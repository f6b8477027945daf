/**
 * Adapts the probe engine to the scheduler's {@link SendProbe}: resolve the destination's address for its
 * protocol's family (cached per DNS TTL), send one probe on the shared raw sockets, stamp the destination id.
 */
import { protocolFamily, type ResultInput } from '../contract/index.js';
import type { ProbeEngine } from './probes/engine.js';
import type { Resolver } from './resolve.js';
import type { ProbeRequest, SendProbe } from './scheduler.js';

export function engineSender(engine: () => ProbeEngine, resolver: Resolver): SendProbe {
  return async ({ destination: d, seq }: ProbeRequest): Promise<ResultInput> => {
    const address = await resolver.resolve(d.address, protocolFamily(d.protocol));
    const { detail: _detail, ...outcome } = await engine()
      .prober(d.protocol)
      .probe(
        { protocol: d.protocol, address, port: d.port, ttl: d.ttl, timeout: d.timeout, data: d.data },
        seq,
      );
    return { destination: d.id, ...outcome };
  };
}
