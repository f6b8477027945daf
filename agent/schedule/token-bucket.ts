/**
 * The agent's global packets-per-second budget: a token bucket refilled continuously at `rate` tokens per second,
 * holding at most `burst`. Time comes from the caller (monotonic ms), so the bucket is deterministic under a fake
 * clock.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  /**
   * @param rate tokens per second (> 0)
   * @param burst largest number of tokens that may be spent at once (≥ 1)
   * @param now the current monotonic time in ms
   */
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0)) throw new RangeError(`[agent:token-bucket] rate must be > 0, got ${rate}`);
    if (!(burst >= 1)) throw new RangeError(`[agent:token-bucket] burst must be ≥ 1, got ${burst}`);
    this.#tokens = burst;
    this.#last = now;
  }

  /** Spends one token if there is one. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Spends up to `n` whole tokens, but never the last `keep`: what a lower-priority consumer (a census pass) takes,
   * so that the consumer it yields to (ordinary probe ticks) always finds a token. Returns how many it spent.
   */
  takeUpTo(n: number, now: number, keep: number): number {
    this.#refill(now);
    const spent = Math.max(0, Math.min(n, Math.floor(this.#tokens - keep)));
    this.#tokens -= spent;
    return spent;
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.rate) * 1000;
  }

  #refill(now: number): void {
    if (now <= this.#last) return;
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
  }
}
