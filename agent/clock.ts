/**
 * Time as the agent sees it, behind one small interface so that the scheduler and the outbox can be driven by a
 * fake clock in tests (no sleeping) and by the real one in production.
 */

/** An opaque timer handle, only ever handed back to the clock that made it. */
export type TimerHandle = { readonly __timer: unique symbol };

export interface Clock {
  /** Monotonic milliseconds (fractional), for scheduling and lateness. Never jumps with the wall clock. */
  now(): number;
  /** Wall clock in nanoseconds since the Unix epoch, for result timestamps. */
  wallNs(): bigint;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

// The wall clock in ns: the epoch at start-up in ms plus a monotonic ns offset, so that consecutive stamps never
// go backwards within a process and carry sub-millisecond resolution.
const wallBaseNs = BigInt(Date.now()) * 1_000_000n;
const monoBaseNs = process.hrtime.bigint();

/** The process clock: `performance.now()`, `process.hrtime.bigint()`, Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNs: () => wallBaseNs + (process.hrtime.bigint() - monoBaseNs),
  setTimer: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
