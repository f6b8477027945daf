/** Test data shared by the agent's unit tests: destinations and results that pass the contract schemas. */
import type { Destination, ResultInput } from '../../../contract/index.js';

export function destination(id: string, patch: Partial<Destination> = {}): Destination {
  return {
    id,
    active: true,
    address: '127.0.0.1',
    protocol: 'icmp',
    port: null,
    interval: 1000,
    timeout: 500,
    ttl: 64,
    data: '',
    sources: [],
    labels: {},
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...patch,
  };
}

export function result(dest: string, seq: number, patch: Partial<ResultInput> = {}): ResultInput {
  return {
    destination: dest,
    rtime: `${1_700_000_000_000_000_000n + BigInt(seq) * 1_000_000n}`,
    target: '127.0.0.1',
    protocol: 'icmp',
    address: '127.0.0.1',
    rtt: 42.5,
    rtype: 0,
    rcode: 0,
    rid: 7,
    rseq: seq & 0xffff,
    datamatch: true,
    status: 'reply',
    ttl: 64,
    ...patch,
  };
}
