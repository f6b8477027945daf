/**
 * Building blocks shared by the wire schemas. Runtime-free: no `node:*`, no I/O.
 */
import * as v from 'valibot';

/** The six probe protocols. The suffix `6` means the IPv6 family. */
export const PROTOCOLS = ['icmp', 'icmp6', 'udp', 'udp6', 'tcp', 'tcp6'] as const;
export const ProtocolSchema = v.picklist(PROTOCOLS, 'must be one of icmp, icmp6, udp, udp6, tcp, tcp6');
export type Protocol = v.InferOutput<typeof ProtocolSchema>;

/** What became of one probe. A timeout is a result too, so that loss is countable. */
export const STATUSES = ['reply', 'timeout', 'ttl-exceeded', 'unreachable', 'reset', 'error'] as const;
export const StatusSchema = v.picklist(
  STATUSES,
  'must be one of reply, timeout, ttl-exceeded, unreachable, reset, error',
);
export type Status = v.InferOutput<typeof StatusSchema>;

/** IP family a protocol probes over. */
export function protocolFamily(protocol: Protocol): 4 | 6 {
  return protocol.endsWith('6') ? 6 : 4;
}

/** Whether a protocol addresses a port (udp, tcp) or not (icmp). */
export function protocolHasPort(protocol: Protocol): boolean {
  return !protocol.startsWith('icmp');
}

const ipv4 = v.pipe(v.string(), v.ipv4());
const ipv6 = v.pipe(v.string(), v.ipv6());

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters.
const HOSTNAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/i;

/** Classifies an address: an IPv4 literal, an IPv6 literal, or a host name (resolved per family later). */
export function addressKind(address: string): 4 | 6 | 'name' | undefined {
  if (v.is(ipv4, address)) return 4;
  if (v.is(ipv6, address)) return 6;
  // A dotted quad that failed the IPv4 check (e.g. 300.1.1.1) is a typo, not a host name.
  if (/^[\d.]+$/.test(address)) return undefined;
  if (HOSTNAME.test(address)) return 'name';
  return undefined;
}

/** An IPv4/IPv6 literal or a host name. */
export const AddressSchema = v.pipe(
  v.string('must be a string'),
  v.trim(),
  v.check((s) => addressKind(s) !== undefined, 'must be an IPv4 address, an IPv6 address or a host name'),
);

/** An IPv4 or IPv6 literal (what a probe targets or hears from). */
export const IpSchema = v.pipe(v.string('must be a string'), v.ip('must be an IPv4 or IPv6 address'));

/** Resource ids are opaque strings chosen by the control plane (`src_…`, `dst_…`). */
export const IdSchema = v.pipe(
  v.string('must be a string'),
  v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -'),
);

/** An integer within [min, max], with a message that names the range. */
export function intRange(min: number, max: number) {
  return v.pipe(
    v.number('must be a number'),
    v.integer('must be an integer'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
}

/** A query string's `limit`: a whole number from 1 to `max`, as a number. */
export function limitParam(max: number) {
  return v.pipe(
    v.string(),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(1, 'must be at least 1'),
    v.maxValue(max, `must be at most ${max}`),
  );
}

export const Uint16Schema = intRange(0, 65_535);
export const Uint8Schema = intRange(0, 255);

/** Free-form key/value labels (e.g. `dc: ams1`). */
export const LabelsSchema = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,63}$/, 'label keys are 1–63 letters, digits, _ . or -')),
    v.pipe(
      v.string('label values must be strings'),
      v.maxLength(256, 'label values are at most 256 characters'),
    ),
  ),
  v.check((r) => Object.keys(r).length <= 32, 'at most 32 labels'),
);

/** Nanoseconds since the Unix epoch as a decimal string: 2^53 is too small for a number. */
export const NanosSchema = v.pipe(
  v.string('must be a decimal string of nanoseconds since the epoch'),
  v.regex(/^(0|[1-9]\d{0,18})$/, 'must be a decimal string of nanoseconds since the epoch'),
  // Signed 64-bit, so stores can keep it as a native integer (SQLite INTEGER) and order it numerically.
  // Valibot runs every action of a pipe even after one fails: only a string the regex let through may reach
  // BigInt, which throws on anything else (a 500 where the client deserves a 400).
  v.check((s) => !/^\d+$/.test(s) || BigInt(s) < 2n ** 63n, 'must be below 2^63 (the year 2262)'),
);

/** ISO 8601 timestamp string (e.g. lastSeen, createdAt). */
export const TimestampSchema = v.pipe(v.string(), v.isoTimestamp());

/**
 * The agent's global packets-per-second budget (`pinger agent --pps`), shared by every destination and census pass
 * of one agent. A census rate above an agent's budget is held to the budget by that agent.
 */
export const AGENT_PPS = { default: 20_000, min: 1, max: 10_000_000 } as const;
