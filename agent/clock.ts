/**
 * Time as the agent sees it, behind one small interface so that the scheduler and the outbox can be driven by a
 * fake clock in tests (no sleeping) and by the real one in production.
 */

import native, { type Timer as NativeTimer } from './native/index.cjs';
import { wallNs } from './probes/clock.js';

/** An opaque timer handle, only ever handed back to the clock that made it. */
export type TimerHandle = { readonly __timer: unique symbol };

export interface Clock {
  /** Monotonic milliseconds (fractional), for scheduling and lateness. Never jumps with the wall clock. */
  now(): number;
  /** Wall clock in nanoseconds since the Unix epoch, for result timestamps. */
  wallNs(): bigint;
  /** Calls `fn` once after `ms` milliseconds (never before). */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a pending timer; a no-op for one that already fired or was cleared. */
  clearTimer(handle: TimerHandle): void;
}

/**
 * A native timer (agent/native/timer.c: a timerfd on the event loop) lent to one pending setTimer call. Timers
 * are pooled because creating one costs a timerfd_create, an epoll registration and a close, and the scheduler
 * re-arms its one timer up to a thousand times a second.
 */
interface PooledTimer {
  readonly timer: NativeTimer;
  /** The pending call's function, or undefined while the timer is idle in the pool. */
  fn: (() => void) | undefined;
  /** Bumped each time the timer is returned to the pool, so a stale handle cannot cancel its next use. */
  use: number;
}

/** What setTimer hands out for a native timer: the timer and which use of it this handle names. */
class PreciseTimer {
  constructor(
    readonly pooled: PooledTimer,
    readonly use: number,
  ) {}
}

/** Idle timers kept for reuse; the agent has only a handful pending at once (scheduler, outbox, sync). */
const MAX_IDLE = 8;
const idle: PooledTimer[] = [];
/** False once the addon could not make a timer (no Timer in an old build, no descriptors left): setTimeout. */
let nativeUsable = typeof native.Timer === 'function';

function release(pooled: PooledTimer): void {
  pooled.fn = undefined;
  pooled.use++;
  if (idle.length < MAX_IDLE) idle.push(pooled);
  else pooled.timer.close();
}

function acquire(): PooledTimer | undefined {
  const reused = idle.pop();
  if (reused !== undefined) return reused;
  if (!nativeUsable) return undefined;
  try {
    const pooled: PooledTimer = {
      timer: new native.Timer(() => {
        const fn = pooled.fn;
        if (fn === undefined) return;
        release(pooled); // first, so that fn may set a timer that reuses this one
        fn();
      }),
      fn: undefined,
      use: 0,
    };
    return pooled;
  } catch {
    // Per call this would repeat (and log) at the timer rate; the fallback keeps the agent running, late by < 1 ms.
    nativeUsable = false;
    return undefined;
  }
}

/**
 * `setTimeout` with sub-millisecond precision: Node's timers round up to libuv's next whole millisecond of loop
 * time (0 to ~1 ms late), a timerfd wakes the loop within the kernel's timer slack (50 µs) of the deadline.
 */
function setPreciseTimer(fn: () => void, ms: number): TimerHandle {
  const pooled = Number.isFinite(ms) && ms < 2 ** 31 ? acquire() : undefined;
  if (pooled === undefined) return setTimeout(fn, ms) as unknown as TimerHandle;
  // Rounded up so that the timer never fires before `ms` has passed, as setTimeout never does.
  pooled.timer.arm(process.hrtime.bigint() + BigInt(Math.ceil(Math.max(0, ms) * 1e6)));
  pooled.fn = fn;
  return new PreciseTimer(pooled, pooled.use) as unknown as TimerHandle;
}

function clearPreciseTimer(handle: TimerHandle): void {
  if (!(handle instanceof PreciseTimer)) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
    return;
  }
  const { pooled, use } = handle;
  if (pooled.use !== use || pooled.fn === undefined) return; // fired or cleared already
  pooled.timer.disarm();
  release(pooled);
}

/** The process clock: `performance.now()`, `process.hrtime.bigint()`, precise native timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  // The same monotonic-to-wall mapping as the probes' rtime, so every result of one agent shares one clock.
  wallNs: () => wallNs(process.hrtime.bigint()),
  setTimer: setPreciseTimer,
  clearTimer: clearPreciseTimer,
};
