/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th retry
 * waits a uniformly random time in [0, min(cap, base · 2^n)). Full jitter spreads a fleet of agents that all lost
 * the control plane at once, so they do not return in lock-step. Three lines, so hand-written rather than a
 * dependency.
 */
export interface BackoffOptions {
  /** First ceiling in ms (attempt 0). */
  baseMs: number;
  /** Largest ceiling in ms. */
  capMs: number;
  /** Uniform random in [0, 1); injectable for tests. */
  random?: () => number;
}

/** Delay in ms before retry number `attempt` (0-based). */
export function fullJitterDelay(
  attempt: number,
  { baseMs, capMs, random = Math.random }: BackoffOptions,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
