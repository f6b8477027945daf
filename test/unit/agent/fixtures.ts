/** Test data shared by the agent's unit tests: destinations and results that pass the contract schemas. */
import type { Destination, ResultInput } from '../../../contract/index.js';
import { destinationInput, resultInput } from '../../helpers/factories.js';

/** A stored destination `id`: ICMP to 127.0.0.1 every second with a 500 ms timeout, unless `patch` says else. */
export function destination(id: string, patch: Partial<Destination> = {}): Destination {
  return {
    id,
    ...destinationInput({ address: '127.0.0.1', timeout: 500 }),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...patch,
  };
}

/** The `seq`-th reply from 127.0.0.1 for `dest`, one millisecond after the previous one, unless `patch` says else. */
export function result(dest: string, seq: number, patch: Partial<ResultInput> = {}): ResultInput {
  return resultInput(dest, {
    rtime: `${1_700_000_000_000_000_000n + BigInt(seq) * 1_000_000n}`,
    target: '127.0.0.1',
    address: '127.0.0.1',
    rtt: 42.5,
    rid: 7,
    rseq: seq & 0xffff,
    ttl: 64,
    ...patch,
  });
}
