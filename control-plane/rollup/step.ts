/**
 * Which step and tier answer a stats query: the step the client gave, or the smallest "nice" step that gives
 * at most {@link AUTO_STEP_POINTS} points; and the coarsest tier whose width divides the step (fewest rows to
 * read and merge).
 */
import {
  AUTO_STEP_POINTS,
  formatDuration,
  MAX_STEP_POINTS,
  TIER_SECONDS,
  type Tier,
} from '../../contract/index.js';

/** Steps the server picks from, seconds: the usual graph resolutions. */
export const NICE_STEPS: readonly number[] = [
  60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 2_592_000,
  31_536_000,
];

/** A given step would give more points than {@link MAX_STEP_POINTS}; `path` names the field. */
export class StepError extends Error {
  override name = 'StepError';
  readonly path = 'step';
}

/** Number of step-aligned slots that [from, to] (ns, inclusive) touches. */
export function slotCount(fromNs: bigint, toNs: bigint, step: number): number {
  const width = BigInt(step) * 1_000_000_000n;
  return Number(toNs / width - fromNs / width) + 1;
}

/**
 * The step for a query over [from, to] (ns, inclusive) and the tier that serves it.
 *
 * @throws {StepError} when a given step would give more than {@link MAX_STEP_POINTS} points
 */
export function chooseStep(fromNs: bigint, toNs: bigint, step?: number): { step: number; tier: Tier } {
  let chosen = step;
  if (chosen === undefined) {
    chosen = NICE_STEPS.find((s) => slotCount(fromNs, toNs, s) <= AUTO_STEP_POINTS) ?? NICE_STEPS.at(-1)!;
  } else if (slotCount(fromNs, toNs, chosen) > MAX_STEP_POINTS) {
    throw new StepError(
      `[stats] step ${formatDuration(chosen)} gives ${slotCount(fromNs, toNs, chosen)} points from ${fromNs} to ${toNs}: at most ${MAX_STEP_POINTS}`,
    );
  }
  return { step: chosen, tier: tierFor(chosen) };
}

/** The coarsest tier whose width divides `step` (a whole number of minutes). */
export function tierFor(step: number): Tier {
  if (step % TIER_SECONDS.day === 0) return 'day';
  if (step % TIER_SECONDS.hour === 0) return 'hour';
  return 'minute';
}
