/**
 * Ordinary destinations' lateness during a census sweep, this checkout against another (the peer: an older
 * commit checked out beside it, with its own built addon), runs alternated in one lab. Each run is the lab test's
 * driver (test/lab/census-driver.ts) of that checkout: 200 ordinary destinations at 100 ms beside one pass over
 * the prefix, the ordinary probes' lateness before the sweep (the baseline) and during it, and the process's GC and
 * event-loop figures during the pass. Prints one line per run and the medians. Needs root.
 *
 *   node --import tsx bench/census/lateness.ts --peer /path/to/other/checkout [--runs 5] [--prefix 198.19.64.0/18]
 *     [--rate 5000] [--timeout 1000] [--pps 20000]
 */
import { parseArgs } from 'node:util';
import type { CensusRun, CensusRunOutput } from '../../test/lab/census-driver.js';
import { allowOnly, existingHosts, existingHosts6 } from '../../test/lab/census-hosts.js';
import { LAB, Lab } from '../../test/lab/lab.js';
import { ROOT, runToEnd } from '../../test/lab/process.js';

const { values } = parseArgs({
  options: {
    peer: { type: 'string' },
    runs: { type: 'string', default: '5' },
    prefix: { type: 'string', default: '198.19.64.0/18' },
    rate: { type: 'string', default: '5000' },
    timeout: { type: 'string', default: '1000' },
    pps: { type: 'string', default: '20000' },
  },
});
if (values.peer === undefined) throw new Error('[bench] --peer <checkout> is required');
const run: CensusRun = {
  prefix: values.prefix,
  rate: Number(values.rate),
  retries: 0,
  interval: 600_000,
  timeout: Number(values.timeout),
  pps: Number(values.pps),
  passes: 1,
  ordinary: { count: 200, interval: 100, address: LAB.target.v4 },
  baselineMs: 3000,
  maxMs: 60_000,
};
const checkouts = { this: ROOT, peer: `${values.peer.replace(/\/+$/, '')}/` };

interface Row {
  during: number;
  baseline: number;
  gcMs: number;
  gcMaxMs: number;
  loopMax: number;
  cpuMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const lab = await Lab.create({ census: true });
try {
  await allowOnly(lab, existingHosts(2026), existingHosts6(2027));
  const rows: Record<string, Row[]> = { this: [], peer: [] };
  for (let r = 0; r < Number(values.runs); r++) {
    for (const [name, dir] of Object.entries(checkouts)) {
      const argv = [
        process.execPath,
        '--import',
        'tsx',
        `${dir}test/lab/census-driver.ts`,
        JSON.stringify(run),
      ];
      const { code, stdout, stderr } = await runToEnd(lab.agent, argv, run.maxMs + 15_000);
      if (code !== 0) throw new Error(`[bench] ${name}'s driver exited ${code}: ${stderr}`);
      const out = JSON.parse(stdout) as CensusRunOutput;
      const row: Row = {
        during: (100 * out.ordinary.within2ms) / out.ordinary.observed,
        baseline: (100 * out.baseline.within2ms) / out.baseline.observed,
        gcMs: out.process.gcMs,
        gcMaxMs: out.process.gcMaxMs,
        loopMax: out.process.loopMax,
        cpuMs: out.process.cpuMs,
      };
      rows[name]!.push(row);
      process.stderr.write(`run ${r + 1} ${name}: ${JSON.stringify(row)}\n`);
    }
  }
  const summary = Object.fromEntries(
    Object.entries(rows).map(([name, rs]) => [
      name,
      Object.fromEntries((Object.keys(rs[0]!) as (keyof Row)[]).map((k) => [k, median(rs.map((x) => x[k]))])),
    ]),
  );
  process.stdout.write(`${JSON.stringify({ run, checkouts, summary }, null, 2)}\n`);
} finally {
  await lab.destroy();
}
