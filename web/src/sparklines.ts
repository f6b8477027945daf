/**
 * The overview's sparklines, asked only for the destinations whose rows are in view: one small `GET /v1/stats`
 * per destination (its last hour in 5-minute steps, every source's line at once), kept by pair and asked again
 * at each refresh. One request for every pair's hour was 3.6 MB for 1,000 pairs and took the
 * server seconds, for the ~30 rows a screen shows; scrolling asks for the rows it comes to, once it settles.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { StatsPoint, StatsResponse } from '../../contract/index.js';
import type { Api } from './api.js';

/** One pair's hour: its points and the range they were asked for (where the line's ends sit). */
export interface SparkLine {
  points: readonly StatsPoint[];
  from: number;
  to: number;
}

const HOUR_MS = 3_600_000;
const STEP_MS = 300_000;
/** Wait for a scroll to settle before asking: a fling through 1,000 rows asks only for where it stops. */
const SETTLE_MS = 60;

/**
 * Lines by `destination/source` key, and `showing(ids)` to tell which destinations' rows are on screen (in any
 * order, repeats allowed): each is asked when it comes into view and again at each refresh while the tab is
 * visible. `showing` keeps the ids in a ref, not state: the rows coming into view cost no render of their own.
 */
export function useSparklines(
  api: Api,
  refreshMs: number,
): { lines: Map<string, SparkLine>; showing: (ids: readonly string[]) => void } {
  const [lines, setLines] = useState<Map<string, SparkLine>>(() => new Map());
  /** When each destination was last asked for, ms. */
  const asked = useRef(new Map<string, number>());
  const view = useRef<readonly string[]>([]);
  const settle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const askStale = useRef(() => {});
  askStale.current = () => {
    const now = Date.now();
    for (const id of new Set(view.current)) {
      // Half the interval: a line asked a moment after the last tick is still asked again at the next.
      if (now - (asked.current.get(id) ?? Number.NEGATIVE_INFINITY) < refreshMs / 2) continue;
      asked.current.set(id, now);
      // From the start of the 5-minute step the hour begins in: the first point the API gives sits at it.
      const from = Math.floor((now - HOUR_MS) / STEP_MS) * STEP_MS;
      api
        .get<StatsResponse>('/v1/stats', {
          destination: id,
          from: new Date(from).toISOString(),
          to: new Date(now).toISOString(),
          step: `${STEP_MS / 1000}`,
        })
        .then(
          (res) =>
            setLines((prev) => {
              const next = new Map(prev);
              for (const s of res.series)
                next.set(`${s.destination}/${s.source}`, { points: s.points, from, to: now });
              return next;
            }),
          // A failed line stays blank until the next refresh asks again; the rows' own figures carry the error.
          () => undefined,
        );
    }
  };

  const showing = useCallback((ids: readonly string[]) => {
    view.current = ids;
    clearTimeout(settle.current);
    settle.current = setTimeout(() => askStale.current(), SETTLE_MS);
  }, []);

  useEffect(() => {
    asked.current.clear();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') askStale.current();
    }, refreshMs);
    const shown = () => document.visibilityState === 'visible' && askStale.current();
    document.addEventListener('visibilitychange', shown);
    return () => {
      clearTimeout(settle.current);
      clearInterval(timer);
      document.removeEventListener('visibilitychange', shown);
    };
  }, [api, refreshMs]);
  return { lines, showing };
}
