/**
 * Wall-clock nanoseconds for a monotonic `process.hrtime.bigint()` reading. RTTs are differences of monotonic
 * readings; `rtime` (when a probe was sent, ns since the epoch) maps the send reading onto the wall clock through
 * an offset that is refreshed every few seconds, so that wall-clock steps (NTP) show up without ever touching an
 * RTT.
 */

const REFRESH_NS = 5_000_000_000n;

let offset = 0n;
let refreshedAt = -REFRESH_NS;

function refresh(now: bigint): void {
  // performance.timeOrigin + performance.now() is the wall clock with sub-microsecond resolution.
  const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  offset = wallNs - process.hrtime.bigint();
  refreshedAt = now;
}

/** Nanoseconds since the epoch at monotonic time `hr`. */
export function wallNs(hr: bigint): bigint {
  if (hr - refreshedAt > REFRESH_NS || hr < refreshedAt) refresh(hr);
  return hr + offset;
}

/** Nanoseconds since the epoch at monotonic time `hr`, as the decimal string the contract carries. */
export function wallNanos(hr: bigint): string {
  return wallNs(hr).toString();
}

/** Microseconds between two monotonic readings, with the nanoseconds as the fraction. */
export function micros(from: bigint, to: bigint): number {
  return Number(to - from) / 1000;
}
