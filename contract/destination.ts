/**
 * Destinations: what to probe and how. A destination is probed by every source unless `sources` names some.
 *
 * Its address is one host (an IP literal or a name), or a CIDR prefix: then it is a census, swept in passes (see
 * census.ts), with a `census` object of its own and a 30-minute default interval.
 */
import * as v from 'valibot';
import { CENSUS_DEFAULTS, type Census, CensusSchema, defaultCensus } from './census.js';
import {
  addressKind,
  IdSchema,
  intRange,
  LabelsSchema,
  type Protocol,
  ProtocolSchema,
  protocolFamily,
  protocolHasPort,
  TimestampSchema,
} from './common.js';
import { looksLikePrefix, parsePrefix } from './prefix.js';

/** Limits of the numeric fields, in one place for the schema, the CLI help and the docs. */
export const LIMITS = {
  intervalMs: { min: 10, max: 86_400_000 },
  timeoutMs: { min: 1, max: 60_000 },
  ttl: { min: 1, max: 255 },
  port: { min: 1, max: 65_535 },
  dataBytes: 1024,
  sources: 1000,
} as const;

export const DEFAULTS = { protocol: 'icmp', interval: 1000, timeout: 1000, ttl: 64, data: '' } as const;

/** The family an address or prefix is of, or 'name' for a host name; undefined when it is neither. */
function destinationAddressKind(address: string): 4 | 6 | 'name' | undefined {
  if (!looksLikePrefix(address)) return addressKind(address);
  const parsed = parsePrefix(address);
  return 'prefix' in parsed ? parsed.prefix.family : undefined;
}

/** One host (IPv4, IPv6, a host name) or a census prefix, with the rule it breaks named when it is neither. */
const DestinationAddressSchema = v.pipe(
  v.string('must be a string'),
  v.trim(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const address = dataset.value;
    if (looksLikePrefix(address)) {
      const parsed = parsePrefix(address);
      if ('issue' in parsed) addIssue({ message: parsed.issue });
    } else if (addressKind(address) === undefined) {
      addIssue({ message: 'must be an IPv4 address, an IPv6 address or a host name' });
    }
  }),
);

const fields = {
  active: v.boolean('must be true or false'),
  address: DestinationAddressSchema,
  protocol: ProtocolSchema,
  port: v.nullable(intRange(LIMITS.port.min, LIMITS.port.max)),
  /** Milliseconds between probes. */
  interval: intRange(LIMITS.intervalMs.min, LIMITS.intervalMs.max),
  /** Milliseconds to wait for an answer; may exceed the interval (several probes in flight). */
  timeout: intRange(LIMITS.timeoutMs.min, LIMITS.timeoutMs.max),
  /** IPv4 TTL or IPv6 hop limit of the probe. */
  ttl: intRange(LIMITS.ttl.min, LIMITS.ttl.max),
  /** Payload text appended to each probe and checked in the echo (`datamatch`). */
  data: v.pipe(
    v.string('must be a string'),
    v.maxBytes(LIMITS.dataBytes, `must be at most ${LIMITS.dataBytes} bytes`),
  ),
  /** Source ids that probe this destination; empty means every source. */
  sources: v.pipe(
    v.array(IdSchema, 'must be an array of source ids'),
    v.maxLength(LIMITS.sources, `must name at most ${LIMITS.sources} sources`),
  ),
  labels: LabelsSchema,
  /** Census settings; only for a prefix address, which always has them. */
  census: CensusSchema,
};

/** The fields a destination is made of, before the rules that tie them together. */
export interface DestinationFields {
  active: boolean;
  address: string;
  protocol: Protocol;
  port: number | null;
  interval: number;
  timeout: number;
  ttl: number;
  data: string;
  sources: string[];
  labels: Record<string, string>;
  /** Present exactly when the address is a prefix. */
  census?: Census;
}

/** The issues of the cross-field rules, each with the field it is about. Empty when the whole is consistent. */
export function destinationRuleIssues(d: DestinationFields): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const kind = destinationAddressKind(d.address);
  const family = protocolFamily(d.protocol);
  const prefix = looksLikePrefix(d.address);
  if (kind !== undefined && kind !== 'name' && kind !== family) {
    issues.push({
      path: 'address',
      message: `is an IPv${kind} ${prefix ? 'prefix' : 'address'} but protocol ${d.protocol} probes over IPv${family}`,
    });
  }
  if (d.census !== undefined && !prefix) {
    issues.push({
      path: 'census',
      message: 'is only for a prefix address (a census); use null or leave it out',
    });
  }
  if (protocolHasPort(d.protocol) && d.port === null) {
    issues.push({ path: 'port', message: `is required for protocol ${d.protocol}` });
  }
  if (!protocolHasPort(d.protocol) && d.port !== null) {
    issues.push({ path: 'port', message: `must be null for protocol ${d.protocol}` });
  }
  return new Set(d.sources).size === d.sources.length
    ? issues
    : [...issues, { path: 'sources', message: 'must not name a source twice' }];
}

/** Turns the cross-field rules into valibot issues on the field they concern. */
const consistent = v.rawCheck<DestinationFields>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  for (const issue of destinationRuleIssues(dataset.value)) {
    addIssue({
      message: issue.message,
      path: [
        {
          type: 'object',
          origin: 'value',
          input: dataset.value as unknown as Record<string, unknown>,
          key: issue.path,
          value: dataset.value[issue.path as keyof DestinationFields],
        },
      ],
    });
  }
});

/**
 * Fills the defaults that depend on the address: a prefix gets a 30-minute interval (a sweep every second would
 * be a flood) and the census defaults; a single host keeps the 1 s interval and has no `census` at all, exactly as
 * before censuses existed.
 */
const addressDefaults = v.transform(
  (d: Omit<DestinationFields, 'interval' | 'census'> & { interval?: number; census?: Census | null }) => {
    const { interval, census, ...rest } = d;
    const prefix = looksLikePrefix(d.address);
    const out: DestinationFields = {
      ...rest,
      interval: interval ?? (prefix ? CENSUS_DEFAULTS.interval : DEFAULTS.interval),
    };
    // A census on a single host is kept, for the rule that refuses it to see.
    if (prefix || (census !== undefined && census !== null)) out.census = census ?? defaultCensus();
    return out;
  },
);

/** Body of `POST /v1/destinations`. */
export const DestinationCreateSchema = v.pipe(
  v.strictObject({
    active: v.optional(fields.active, true),
    address: fields.address,
    protocol: v.optional(fields.protocol, DEFAULTS.protocol),
    port: v.optional(fields.port, null),
    /** Default 1000 ms, or 30 minutes for a prefix. */
    interval: v.optional(fields.interval),
    timeout: v.optional(fields.timeout, DEFAULTS.timeout),
    ttl: v.optional(fields.ttl, DEFAULTS.ttl),
    data: v.optional(fields.data, DEFAULTS.data),
    sources: v.optional(fields.sources, []),
    labels: v.optional(fields.labels, {}),
    /** Only for a prefix, where it defaults to every census default; null means none. */
    census: v.optional(v.nullable(fields.census)),
  }),
  addressDefaults,
  consistent,
);
export type DestinationCreate = v.InferOutput<typeof DestinationCreateSchema>;

/**
 * Body of `PATCH /v1/destinations/:id`. Field rules apply here; the cross-field rules apply to the
 * destination the patch produces (see {@link DestinationCreateSchema}).
 */
export const DestinationPatchSchema = v.strictObject({
  active: v.optional(fields.active),
  address: v.optional(fields.address),
  protocol: v.optional(fields.protocol),
  port: v.optional(fields.port),
  interval: v.optional(fields.interval),
  timeout: v.optional(fields.timeout),
  ttl: v.optional(fields.ttl),
  data: v.optional(fields.data),
  sources: v.optional(fields.sources),
  labels: v.optional(fields.labels),
  /** null removes the census settings (needed to turn a prefix into a single host). */
  census: v.optional(v.nullable(fields.census)),
});
export type DestinationPatch = v.InferOutput<typeof DestinationPatchSchema>;

/** A destination as the API returns it. */
export const DestinationSchema = v.object({
  id: IdSchema,
  ...fields,
  // Optional on the way out: a store that predates censuses returns none, and the agent then uses the defaults.
  census: v.optional(fields.census),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type Destination = v.InferOutput<typeof DestinationSchema>;

/** Query of `GET /v1/destinations`. */
export const DestinationQuerySchema = v.strictObject({
  active: v.optional(
    v.pipe(
      v.picklist(['true', 'false'], 'must be true or false'),
      v.transform((s) => s === 'true'),
    ),
  ),
  protocol: v.optional(ProtocolSchema),
  source: v.optional(IdSchema),
});
export type DestinationQuery = v.InferOutput<typeof DestinationQuerySchema>;
