/**
 * Test-side helpers: run probe plans in the lab's agent namespace and read back their outcomes; run iputils
 * ping there for comparison.
 */
import type { ProbeEngineOptions } from '../../agent/probes/engine.js';
import type { ProbeOutcome } from '../../agent/probes/types.js';
import type { Lab } from './lab.js';
import type { Plan } from './probe-driver.js';
import { runToEnd, tsxArgv } from './process.js';

/** Runs `plans` at once in the agent namespace (engine `options` besides its source id); outcomes by plan name. */
export async function runPlans(
  lab: Lab,
  plans: Plan[],
  timeoutMs = 60_000,
  options: Partial<ProbeEngineOptions> = {},
): Promise<Record<string, ProbeOutcome[]>> {
  const { code, stdout, stderr } = await runToEnd(
    lab.agent,
    tsxArgv('test/lab/probe-driver.ts', [JSON.stringify(plans), JSON.stringify(options)]),
    timeoutMs,
  );
  if (code !== 0) throw new Error(`[lab] probe driver exited ${code}: ${stderr}`);
  const byName: Record<string, ProbeOutcome[]> = {};
  for (const line of stdout.trim().split('\n')) {
    const { name, outcomes } = JSON.parse(line) as { name: string; outcomes: ProbeOutcome[] };
    byName[name] = outcomes;
  }
  return byName;
}

/** RTTs in ms that iputils ping printed for each reply (`time=…`). */
export async function pingRtts(lab: Lab, argv: string[], timeoutMs = 60_000): Promise<number[]> {
  const { stdout } = await runToEnd(lab.agent, ['ping', ...argv], timeoutMs);
  return [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
