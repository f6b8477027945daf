/**
 * Time as the agent sees it, behind one small interface so that the scheduler and the outbox can be driven by a
 * fake clock in tests (no sleeping) and by the real one in production.
 */

import { wallNs } from '../probes/clock.js';

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

/** The process clock: `performance.now()`, `process.hrtime.bigint()`, Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  // The same monotonic-to-wall mapping as the probes' rtime, so every result of one agent shares one clock.
  wallNs: () => wallNs(process.hrtime.bigint()),
  setTimer: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
