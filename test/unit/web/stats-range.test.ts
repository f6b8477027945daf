import { describe, expect, it } from 'vitest';
import {
  baseOf,
  MIN_SPAN_MS,
  panRange,
  presetRange,
  scaleRange,
  stepFor,
  zoomedTo,
} from '../../../web/src/stats-range.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const HOUR = 3_600_000;

describe('stats ranges moved by key', () => {
  it('zooms about the middle: + halves, − doubles, a fixed range that remembers its range button', () => {
    const day = presetRange('24h', NOW);
    const half = scaleRange(day, 0.5, NOW);
    expect(half).toEqual({ from: NOW - 18 * HOUR, to: NOW - 6 * HOUR, base: '24h' });
    expect(scaleRange(half, 2, NOW)).toEqual({ from: NOW - 24 * HOUR, to: NOW, base: '24h' });
    expect(baseOf(half)).toBe('24h');
  });

  it('never shows beyond now, never narrower than ten minutes, never wider than a year', () => {
    const hour = presetRange('1h', NOW);
    // Zooming out of the latest hour keeps now at the right edge.
    expect(scaleRange(hour, 2, NOW)).toEqual({ from: NOW - 2 * HOUR, to: NOW, base: '1h' });
    let r = hour;
    for (let i = 0; i < 10; i++) r = scaleRange(r, 0.5, NOW);
    expect(r.to - r.from).toBe(MIN_SPAN_MS);
    expect(
      scaleRange(presetRange('1y', NOW), 2, NOW).to - scaleRange(presetRange('1y', NOW), 2, NOW).from,
    ).toBe(31_536_000_000);
  });

  it('pans by a fraction of the span, stopping at now', () => {
    const hour = presetRange('1h', NOW);
    expect(panRange(hour, -0.25, NOW)).toEqual({
      from: NOW - 1.25 * HOUR,
      to: NOW - 0.25 * HOUR,
      base: '1h',
    });
    expect(panRange(hour, 0.25, NOW)).toEqual({ from: NOW - HOUR, to: NOW, base: '1h' });
  });

  it('a drag narrower than ten minutes is widened about its middle', () => {
    const hour = presetRange('1h', NOW);
    expect(zoomedTo(hour, NOW - 30 * 60_000, NOW - 29 * 60_000)).toEqual({
      from: NOW - 34.5 * 60_000,
      to: NOW - 24.5 * 60_000,
      base: '1h',
    });
  });

  it('fits the step to the width: at most a point a pixel', () => {
    expect(stepFor(3600, 1200)).toBe(60);
    expect(stepFor(30 * 86_400, 1238)).toBe(3600);
  });
});
