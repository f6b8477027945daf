/**
 * Census benchmark (issue 11): one /16 pass at 20,000 probes/s with no retries in the lab, against `fping -g` and
 * `nmap -sn` sweeping the same prefix in the same invocation, runs interleaved. The lab's target answers for all of
 * 198.19.0.0/16 and an nft set lets through echo requests only to a seeded ~1/64 of it, so every tool's host list
 * is checked against the hosts that exist.
 *
 * Figures per tool (medians of RUNS runs): wall time (ours: first probe to the pass complete, from the pass record;
 * the peers: their process's wall time), CPU (ours: the process's user + system during the pass; the peers: the
 * whole process), hosts found, false positives and misses. Ours twice: the pass code alone (`pinger`, sweep.ts),
 * and end to end (`recorded`, recorded.ts: a real agent and control plane, first probe to the pass recorded with
 * every answer stored; CPU the agent process's, hosts the control plane's list). Needs root. Bounded: every child
 * is killed after 120 s.
 *
 *   node --import tsx bench/census/run.ts [--runs 3] [--rate 20000] [--timeout 500]
 */
import { parseArgs } from 'node:util';
import { allowOnly, existingHosts } from '../../test/lab/census-hosts.js';
import { CENSUS_PREFIX, Lab } from '../../test/lab/lab.js';
import { runToEnd, tsxArgv } from '../../test/lab/process.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '20000' },
    timeout: { type: 'string', default: '500' },
  },
});
const RUNS = Number(values.runs);
const RATE = Number(values.rate);
const TIMEOUT = Number(values.timeout);

interface Run {
  wallMs: number;
  cpuMs: number;
  found: number;
  falsePositives: number;
  missed: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function compare(found: string[], exist: Set<string>): Pick<Run, 'found' | 'falsePositives' | 'missed'> {
  const f = new Set(found);
  let falsePositives = 0;
  for (const h of f) if (!exist.has(h)) falsePositives++;
  let missed = 0;
  for (const h of exist) if (!f.has(h)) missed++;
  return { found: f.size, falsePositives, missed };
}

/** `/usr/bin/time` around a peer: wall, user and system seconds from its last line. */
function timed(stderr: string): { wallMs: number; cpuMs: number } {
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`[bench] no timing in: ${stderr.slice(-500)}`);
  return { wallMs: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000 };
}

async function ours(lab: Lab, exist: Set<string>): Promise<Run> {
  const job = { prefix: CENSUS_PREFIX, rate: RATE, retries: 0, timeout: TIMEOUT };
  const { code, stdout, stderr } = await runToEnd(
    lab.agent,
    tsxArgv('bench/census/sweep.ts', [JSON.stringify(job)]),
    120_000,
  );
  if (code !== 0) throw new Error(`[bench] sweep failed (${code}): ${stderr}`);
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    passMs: number;
    cpuMs: number;
    hosts: string[];
  };
  return { wallMs: r.passMs, cpuMs: r.cpuMs, ...compare(r.hosts, exist) };
}

async function recorded(lab: Lab, exist: Set<string>): Promise<Run> {
  const job = { prefix: CENSUS_PREFIX, rate: RATE, timeout: TIMEOUT, pps: 2 * RATE };
  const { code, stdout, stderr } = await runToEnd(
    lab.agent,
    tsxArgv('bench/census/recorded.ts', [JSON.stringify(job)]),
    120_000,
  );
  if (code !== 0) throw new Error(`[bench] recorded pass failed (${code}): ${stderr}`);
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    completeMs: number;
    answered: number;
    stored: number;
    cpuMs: number;
    hosts: string[];
  };
  if (r.stored !== r.answered) throw new Error(`[bench] ${r.stored} of ${r.answered} answers stored`);
  return { wallMs: r.completeMs, cpuMs: r.cpuMs, ...compare(r.hosts, exist) };
}

async function fping(lab: Lab, exist: Set<string>): Promise<Run> {
  // -i: ms between any two probes (1000/RATE), -r 0: no retries, -t: the same timeout as ours.
  const argv = [
    '/usr/bin/time',
    '-f',
    'TIME %e %U %S',
    'fping',
    '-g',
    CENSUS_PREFIX,
    '-a',
    '-q',
    '-r',
    '0',
    '-t',
    String(TIMEOUT),
    '-i',
    String(1000 / RATE),
  ];
  const { stdout, stderr } = await runToEnd(lab.agent, argv, 120_000);
  const hosts = stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l.trim()));
  return { ...timed(stderr), ...compare(hosts, exist) };
}

async function nmap(lab: Lab, exist: Set<string>): Promise<Run> {
  // -PE: ICMP echo only — the target's kernel answers TCP for every address of its `local` route, so nmap's default
  // discovery probes (SYN 443, ACK 80) would find all 65,534. --min-rate: the same 20,000/s; no retries.
  const argv = [
    '/usr/bin/time',
    '-f',
    'TIME %e %U %S',
    'nmap',
    '-sn',
    '-n',
    '-PE',
    '--min-rate',
    String(RATE),
    '--max-retries',
    '0',
    '-oG',
    '-',
    CENSUS_PREFIX,
  ];
  const { stdout, stderr } = await runToEnd(lab.agent, argv, 120_000);
  const hosts = [...stdout.matchAll(/^Host: (\S+) .*Status: Up/gm)].map((m) => m[1]!);
  return { ...timed(stderr), ...compare(hosts, exist) };
}

const lab = await Lab.create({ census: true });
try {
  const hosts = existingHosts(2026);
  await allowOnly(lab, hosts);
  const exist = new Set(hosts);
  const tools = { pinger: ours, recorded, fping, nmap } as const;
  const runs: Record<string, Run[]> = { pinger: [], recorded: [], fping: [], nmap: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const [name, run] of Object.entries(tools)) {
      const result = await run(lab, exist);
      runs[name]!.push(result);
      process.stderr.write(`run ${r + 1} ${name}: ${JSON.stringify(result)}\n`);
    }
  }
  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => [
      name,
      {
        wallMs: median(rs.map((x) => x.wallMs)),
        cpuMs: median(rs.map((x) => x.cpuMs)),
        found: median(rs.map((x) => x.found)),
        falsePositives: Math.max(...rs.map((x) => x.falsePositives)),
        missed: Math.max(...rs.map((x) => x.missed)),
      },
    ]),
  );
  const ratio = (peer: string) => summary[peer]!.wallMs / summary.pinger!.wallMs;
  process.stdout.write(
    `${JSON.stringify({ prefix: CENSUS_PREFIX, rate: RATE, timeout: TIMEOUT, runs: RUNS, exist: hosts.length, summary, wallRatio: { fping: ratio('fping'), nmap: ratio('nmap') } }, null, 2)}\n`,
  );
} finally {
  await lab.destroy();
}
