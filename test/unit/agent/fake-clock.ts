/**
 * A deterministic {@link Clock} for tests: time moves only when the test calls {@link FakeClock.advance}, which
 * runs every timer due on the way in time order (timers set by timers included).
 */
import type { Clock, TimerHandle } from '../../../agent/schedule/clock.js';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, FakeTimer>();
  /** Wall clock at monotonic 0, ns. */
  readonly wallBase = 1_700_000_000_000_000_000n;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  wallNs(): bigint {
    return this.wallBase + BigInt(Math.round(this.#now * 1e6));
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    // Like Node: a timer never fires before its delay, and a delay below 1 ms is 1 ms.
    this.#timers.set(id, { id, at: this.#now + Math.max(1, ms), fn });
    return id as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** Timers pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order; `stall` holds the clock (a busy event loop). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.#timers.values()) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }

  /** Jumps time forward WITHOUT firing timers, as a blocked event loop would; they fire late on the next advance. */
  stall(ms: number): void {
    this.#now += ms;
  }
}
