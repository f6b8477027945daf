/**
 * A host's history from what a store read (control-plane/census/host-history.ts): the figures against values
 * worked by hand (nearest-rank median and p90, loss over the passes listed), and the range a store reads.
 */
import { describe, expect, it } from 'vitest';
import { historyRange, summarize } from '../../../control-plane/census/host-history.js';

const pass = (answered: boolean, rtt: number | null = null) => ({ at: '1', answered, rtt });

describe('census host history', () => {
  it('sums up passes: loss over all listed, RTT figures over answers that carry one, by nearest rank', () => {
    expect(summarize([])).toEqual({
      passes: 0,
      answered: 0,
      loss: null,
      rttMin: null,
      rttMedian: null,
      rttP90: null,
      rttMax: null,
    });
    // An answer without an RTT counts as answered, not in the RTT figures.
    expect(summarize([pass(true), pass(false)])).toMatchObject({ answered: 1, loss: 0.5, rttMedian: null });
    expect(summarize([pass(true, 7)])).toMatchObject({ rttMin: 7, rttMedian: 7, rttP90: 7, rttMax: 7 });
    // 10 RTTs 10..100 given out of order: median is the 5th (50), p90 the 9th (90).
    const ten = [40, 100, 10, 70, 20, 90, 30, 60, 50, 80].map((r) => pass(true, r));
    expect(summarize([...ten, pass(false), pass(false)])).toEqual({
      passes: 12,
      answered: 10,
      loss: 2 / 12,
      rttMin: 10,
      rttMedian: 50,
      rttP90: 90,
      rttMax: 100,
    });
    // 11 RTTs: median the 6th, p90 the 10th (ceil(9.9)).
    const eleven = Array.from({ length: 11 }, (_, i) => pass(true, i + 1));
    expect(summarize(eleven)).toMatchObject({ rttMedian: 6, rttP90: 10 });
  });

  it('reads from the oldest answer kept (now − raw retention) unless asked for later, to now by default', () => {
    const now = 1_765_000_000_000;
    const nowNs = BigInt(now) * 1_000_000n;
    const day = 86_400_000_000_000n;
    expect(historyRange(undefined, undefined, now, 86_400)).toEqual({
      from: nowNs - day,
      to: nowNs,
      kept: nowNs - day,
    });
    expect(historyRange(0n, 5n, now, 86_400)).toEqual({ from: nowNs - day, to: 5n, kept: nowNs - day });
    expect(historyRange(nowNs - 5n, undefined, now, 86_400).from).toBe(nowNs - 5n);
    expect(historyRange(undefined, undefined, now, null)).toEqual({ from: 0n, to: nowNs, kept: null });
  });
});
