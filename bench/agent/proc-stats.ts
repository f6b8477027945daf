/**
 * CPU and memory of a process from /proc: CPU as utime + stime ticks over a wall-clock window (percent of one
 * core), resident memory from VmRSS. Linux only, as the agent is.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** utime and stime of `pid` (all its threads) in seconds. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** VmRSS of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`[bench] no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** One measurement window: CPU % of one core over it, RSS sampled every second (max and last). */
export interface Usage {
  cpuPercent: number;
  /** The kernel's share (stime): syscalls, and in the lab the veth/forwarding work done in the sender's context. */
  systemPercent: number;
  rssMaxBytes: number;
  rssLastBytes: number;
  /** CPU % of one core used by the `others` processes over the same window (e.g. the lab's kernel threads). */
  othersPercent: number;
}

const sum = (pids: readonly number[]) =>
  pids.reduce((total, p) => {
    const c = cpuTimes(p);
    return total + c.user + c.system;
  }, 0);

/** Measures `pid`, and the CPU of `others` together, over `ms` of wall time (bounded: exactly one window). */
export async function measure(pid: number, ms: number, others: readonly number[] = []): Promise<Usage> {
  const t0 = performance.now();
  const c0 = cpuTimes(pid);
  const o0 = sum(others);
  let rssMax = rssBytes(pid);
  let rssLast = rssMax;
  while (performance.now() - t0 < ms) {
    await new Promise((r) => setTimeout(r, Math.min(1000, ms - (performance.now() - t0))));
    rssLast = rssBytes(pid);
    rssMax = Math.max(rssMax, rssLast);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = cpuTimes(pid);
  const o1 = sum(others);
  return {
    cpuPercent: (100 * (c1.user + c1.system - c0.user - c0.system)) / elapsed,
    systemPercent: (100 * (c1.system - c0.system)) / elapsed,
    rssMaxBytes: rssMax,
    rssLastBytes: rssLast,
    othersPercent: (100 * (o1 - o0)) / elapsed,
  };
}
