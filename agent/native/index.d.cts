/**
 * The project's addon (receive.c, timer.c): kernel receive timestamps for raw sockets that raw-socket opened, and
 * a sub-millisecond timer. Linux only.
 */

/** Descriptors of this process's open raw sockets with that domain (AF_INET 2, AF_INET6 10) and IP protocol. */
export function rawSocketFds(domain: number, protocol: number): number[];

/** Turns SO_TIMESTAMPNS on for `fd`, so that each datagram read carries the time the kernel took it in. */
export function enableTimestamps(fd: number): void;

/**
 * Reads one datagram from `fd` without blocking into `buffer`; returns its source address, or undefined when
 * the socket is empty. `meta` receives [arrival in `process.hrtime.bigint()` ns, bytes read, 1 if the kernel
 * stamped the arrival or 0 if it is the time of this read]. Throws on any other receive error.
 */
export function receive(fd: number, buffer: Buffer, meta: BigInt64Array): string | undefined;

/**
 * Sends `buffer[0, length)` from `fd` without blocking to `address` (4 or 16 bytes, network order). Returns true
 * when sent, false when the socket buffer is full (EAGAIN); throws on any other error (message `sendto: …`).
 */
export function sendTo(fd: number, buffer: Buffer, length: number, address: Uint8Array): boolean;

/**
 * A one-shot timer with sub-millisecond resolution (timer.c): a timerfd on CLOCK_MONOTONIC watched by the event
 * loop. It calls `callback` (with `this` the timer) as Node calls a setTimeout callback: nextTicks and microtasks
 * run after it, a throw is an uncaught exception. An armed timer keeps the process alive; a disarmed one does not.
 * It owns a descriptor and holds `callback` until closed: close it when done.
 */
export class Timer {
  constructor(callback: (this: Timer) => void);
  /**
   * Fires once at `deadlineNs` on the clock of `process.hrtime.bigint()` (at once when that is past), replacing
   * any earlier arming. Throws `[agent:timer] timerfd_settime: …` or `… uv_poll_start: …` on failure, and after
   * close().
   */
  arm(deadlineNs: bigint): void;
  /** Cancels the pending firing, if any; the process no longer waits for it. */
  disarm(): void;
  /** Disarms and releases the descriptor. Idempotent. */
  close(): void;
}
