/**
 * Valid inputs for tests, shaped as the HTTP layer hands them to the store (already parsed by the contract
 * schemas, so defaults come from the contract itself), each with the fields a test cares about overridable.
 */
import * as v from 'valibot';
import {
  type DestinationCreate,
  DestinationCreateSchema,
  type ResultInput,
  type SourceCreate,
  SourceCreateSchema,
} from '../../contract/index.js';

/** A source to create, named "a" unless overridden; the rest are the contract's defaults. */
export function sourceInput(overrides: Partial<SourceCreate> = {}): SourceCreate {
  return v.parse(SourceCreateSchema, { name: 'a', ...overrides });
}

/** A destination to create: ICMP to 198.18.0.1 unless overridden; the rest are the contract's defaults. */
export function destinationInput(overrides: Partial<DestinationCreate> = {}): DestinationCreate {
  return v.parse(DestinationCreateSchema, { address: '198.18.0.1', ...overrides });
}

/**
 * The defaults the contract documents for a destination created with only an address, written out here rather
 * than read from the schema so that tests asserting them can fail.
 */
export const DESTINATION_DEFAULTS = {
  active: true,
  protocol: 'icmp',
  port: null,
  interval: 1000,
  timeout: 1000,
  ttl: 64,
  data: '',
  sources: [],
  labels: {},
} as const;

/** A send time well beyond 2^53 ns, so precision bugs show. */
export const RTIME = 1_763_780_000_123_456_789n;

/**
 * An answered ICMP probe of `destination` (sent at {@link RTIME}, seq 0 unless overridden), as an agent posts it.
 * Spread {@link TIMED_OUT} into `overrides` for a probe nothing answered.
 */
export function resultInput(destination: string, overrides: Partial<ResultInput> = {}): ResultInput {
  return {
    destination,
    rtime: RTIME.toString(),
    target: '198.18.0.1',
    protocol: 'icmp',
    address: '198.18.0.1',
    rtt: 1234.567,
    rtype: 0,
    rcode: 0,
    rid: 4242,
    rseq: 0,
    datamatch: true,
    status: 'reply',
    ttl: 63,
    ...overrides,
  };
}

/** The fields of a result whose probe timed out: the status, and null for all a reply would have told. */
export const TIMED_OUT = {
  status: 'timeout',
  address: null,
  rtt: null,
  rtype: null,
  rcode: null,
  datamatch: null,
  ttl: null,
} as const satisfies Partial<ResultInput>;
