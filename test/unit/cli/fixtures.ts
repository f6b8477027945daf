/** Bodies as the control plane answers them, valid under the contract schemas (the client checks them). */
import type { Destination, Result, Source, SourceWithToken } from '../../../contract/index.js';
import { destinationInput } from '../../helpers/factories.js';

export const source: Source = {
  id: 'src_0123456789abcdef',
  name: 'ams-1',
  location: 3,
  host: 7,
  sourceid: 42,
  address: null,
  labels: { dc: 'ams' },
  lastSeen: null,
  createdAt: '2026-11-22T04:00:00.000Z',
};

export const sourceWithToken: SourceWithToken = { ...source, token: 'pgr_agent_secretsecretsecret' };

export const destination: Destination = {
  id: 'dst_0123456789abcdef',
  ...destinationInput({ address: '198.18.0.1' }),
  createdAt: '2026-11-22T04:00:00.000Z',
  updatedAt: '2026-11-22T04:00:00.000Z',
};

/** The `i`-th of a run of replies, one second apart, newest first. */
export function reply(i: number): Result {
  return {
    destination: destination.id,
    source: source.id,
    rtime: `${1_795_000_000_000_000_000n - BigInt(i) * 1_000_000_000n}`,
    target: '198.18.0.1',
    protocol: 'icmp',
    address: '198.18.0.1',
    rtt: 41.25,
    rtype: 0,
    rcode: 0,
    rid: 1,
    rseq: i % 65_536,
    datamatch: true,
    status: 'reply',
    ttl: 64,
    rsite: 3,
    rhost: 7,
  };
}
