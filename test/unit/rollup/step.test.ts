/** Step and tier choice: the nice step that fits 1,000 points, the coarsest tier dividing the step. */
import { describe, expect, it } from 'vitest';
import { chooseStep, StepError, slotCount, tierFor } from '../../../control-plane/rollup/step.js';

const NS = 1_000_000_000n;
const T = 1_767_225_600n * NS;

describe('step', () => {
  it('picks the smallest nice step with at most 1,000 points', () => {
    expect(chooseStep(T, T + 3_600n * NS)).toEqual({ step: 60, tier: 'minute' });
    expect(chooseStep(T, T + 86_400n * NS)).toEqual({ step: 120, tier: 'minute' });
    expect(chooseStep(T, T + 30n * 86_400n * NS)).toEqual({ step: 3_600, tier: 'hour' });
    expect(chooseStep(T, T + 2n * 365n * 86_400n * NS)).toEqual({ step: 86_400, tier: 'day' });
  });

  it('keeps a given step, refusing one that gives more than 10,000 points', () => {
    expect(chooseStep(T, T + 86_400n * NS, 300)).toEqual({ step: 300, tier: 'minute' });
    expect(() => chooseStep(T, T + 30n * 86_400n * NS, 60)).toThrow(StepError);
    expect(() => chooseStep(T, T + 30n * 86_400n * NS, 60)).toThrow(/at most 10000/);
  });

  it('counts the aligned slots a range touches and maps steps to tiers', () => {
    expect(slotCount(T, T, 60)).toBe(1);
    expect(slotCount(T + 59n * NS, T + 61n * NS, 60)).toBe(2);
    expect([60, 300, 5_400, 7_200, 86_400, 604_800].map(tierFor)).toEqual([
      'minute',
      'minute',
      'minute',
      'hour',
      'day',
      'day',
    ]);
  });
});
