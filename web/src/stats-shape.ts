/**
 * The stats API's answers (issue 10) as the dashboard reads them. Until contract/stats.ts is on main these are
 * written out from its documented shape; once it is, this file re-exports the contract's inferred types instead.
 *
 * Units, as the contract states them: `t` and `lastResult` are ns since the epoch as decimal strings; RTT figures
 * are microseconds; `loss` is a fraction 0–1; `step` and `window` are seconds.
 */
import type { Status } from '../../contract/index.js';

export interface StatsFigures {
  sent: number;
  received: number;
  loss: number;
  min: number | null;
  mean: number | null;
  stddev: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  jitter: number | null;
}

export interface StatsPoint extends StatsFigures {
  t: string;
}

export interface StatsSeries {
  source: string;
  destination: string;
  points: StatsPoint[];
}

export interface StatsResponse {
  step: number;
  series: StatsSeries[];
}

export interface SummaryRow extends StatsFigures {
  source: string;
  destination: string;
  lastResult: string;
  lastStatus: Status;
}

export interface SummaryResponse {
  window: number;
  rows: SummaryRow[];
}

export type SummaryWindow = '5m' | '1h' | '24h';
