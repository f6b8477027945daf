import { put16, put64, u16, u64 } from './bytes.js';
import { checkUint, checkWindow, needBytes, PacketError } from './errors.js';

/**
 * The payload every Pinger probe carries (ICMP echo data, UDP data), so that replies and quoted datagrams are
 * matched by content: some kernels rewrite the ICMP id, the payload survives.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      'P'      |      'N'      |      'G'      |      'R'      |  magic
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           sourceid            |              seq              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             send time, ns, monotonic (high 32 bits)           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             send time, ns, monotonic (low 32 bits)            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 destination's data bytes ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * The send time is `process.hrtime.bigint()` of the sender; only that process can interpret it.
 */
export interface ProbePayload {
  sourceid: number;
  seq: number;
  /** Monotonic send time in nanoseconds (`process.hrtime.bigint()`), as a u64. */
  sentNs: bigint;
  /** The destination's data bytes (a view when decoded). */
  data: Uint8Array;
}

/** 'PNGR' */
export const PROBE_MAGIC: Uint8Array = Uint8Array.of(0x50, 0x4e, 0x47, 0x52);
export const PROBE_HEADER_LENGTH = 16;

const U64_MAX = (1n << 64n) - 1n;

/**
 * Cheap early filter: whether `buf[offset, end)` starts with the probe magic and is long enough to hold the
 * probe header. Never throws (an out-of-range window is simply not a probe).
 */
export function isProbePayload(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  return (
    offset >= 0 &&
    end <= buf.length &&
    end - offset >= PROBE_HEADER_LENGTH &&
    buf[offset] === 0x50 &&
    buf[offset + 1] === 0x4e &&
    buf[offset + 2] === 0x47 &&
    buf[offset + 3] === 0x52
  );
}

/**
 * Decodes the probe payload in `buf[offset, end)`. Throws `truncated` below 16 bytes and `bad-field` on a
 * wrong magic. `data` is a view of the bytes after the header (what a complete echo should return unchanged).
 */
export function decodeProbePayload(buf: Uint8Array, offset = 0, end = buf.length): ProbePayload {
  checkWindow('probe payload', buf, offset, end);
  needBytes('probe payload', offset, end, PROBE_HEADER_LENGTH);
  if (!isProbePayload(buf, offset, end)) throw new PacketError('bad-field', 'probe payload: wrong magic');
  return {
    sourceid: u16(buf, offset + 4),
    seq: u16(buf, offset + 6),
    sentNs: u64(buf, offset + 8),
    data: buf.subarray(offset + PROBE_HEADER_LENGTH, end),
  };
}

/**
 * In-place readers of the probe header at `offset` (check {@link isProbePayload} first): for receive paths that
 * run per packet and decode nothing else, where {@link decodeProbePayload}'s object would be garbage at once.
 */
export function probeSourceid(buf: Uint8Array, offset: number): number {
  return u16(buf, offset + 4);
}

/** See {@link probeSourceid}. */
export function probeSeq(buf: Uint8Array, offset: number): number {
  return u16(buf, offset + 6);
}

/** See {@link probeSourceid}. */
export function probeSentNs(buf: Uint8Array, offset: number): bigint {
  return u64(buf, offset + 8);
}

/** Byte length of a probe payload carrying `dataLength` bytes of destination data. */
export function probePayloadLength(dataLength: number): number {
  return PROBE_HEADER_LENGTH + dataLength;
}

/**
 * Writes the probe payload into `target` at `offset` (e.g. straight after an ICMP echo header, to avoid a
 * copy) and returns the offset just past it. Throws `bad-field` on out-of-range fields, `truncated` when
 * `target` is too small.
 */
export function writeProbePayload(target: Uint8Array, offset: number, fields: ProbePayload): number {
  checkUint('probe sourceid', fields.sourceid, 0xffff);
  checkUint('probe seq', fields.seq, 0xffff);
  if (typeof fields.sentNs !== 'bigint' || fields.sentNs < 0n || fields.sentNs > U64_MAX) {
    throw new PacketError('bad-field', 'probe sentNs: must be a bigint 0–2^64-1');
  }
  const end = offset + probePayloadLength(fields.data.length);
  checkWindow('probe payload target', target, offset, Math.min(end, target.length));
  needBytes('probe payload target', offset, target.length, end - offset);
  target.set(PROBE_MAGIC, offset);
  put16(target, offset + 4, fields.sourceid);
  put16(target, offset + 6, fields.seq);
  put64(target, offset + 8, fields.sentNs);
  target.set(fields.data, offset + PROBE_HEADER_LENGTH);
  return end;
}

/** Encodes a probe payload into a new Buffer. */
export function encodeProbePayload(fields: ProbePayload): Buffer {
  const b = Buffer.alloc(probePayloadLength(fields.data.length));
  writeProbePayload(b, 0, fields);
  return b;
}

/**
 * Whether the probe payload in `buf[offset, end)` — one whose header already proved it ours (magic, sourceid,
 * seq and send time matched) — carries exactly `data` after the header: the echo came back unchanged, without
 * comparing against a copy of what was sent.
 */
export function echoesData(buf: Uint8Array, offset: number, end: number, data: Uint8Array): boolean {
  if (end - offset !== PROBE_HEADER_LENGTH + data.length || end > buf.length) return false;
  const start = offset + PROBE_HEADER_LENGTH;
  for (let i = 0; i < data.length; i++) if (buf[start + i] !== data[i]) return false;
  return true;
}

/**
 * Whether two byte sequences are equal (e.g. decoded `data` against the destination's data, or a whole echoed
 * payload against the one sent: the `datamatch` of a result).
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
