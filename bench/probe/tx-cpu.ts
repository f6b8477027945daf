/**
 * What kernel transmit stamps cost in CPU (issue 13: within 10 % of the engine without them): the same tree run
 * with and without them, alternated run by run (the order flipped every round, so that neither side always runs
 * first into a machine another job just left), medians over the rounds. Two workloads:
 *
 * - `many`: 10,000 destinations at 1 s through the engine the agent's way (bench/probe/many.ts: its own network
 *   namespace, loopback targets), CPU ms per 1,000 probes (user + system, and user alone) from the worker's
 *   `process.cpuUsage()` after a warm-up interval;
 * - `window`: 100,000 ICMP probes to 127.0.0.1 with 256 in flight (bench/probe/ours.ts), CPU ms per 1,000.
 *
 * CPU time, not wall time: a shared machine stretches the wall clock; CPU per probe moves far less. Prints a JSON
 * line per run on stderr and a summary (medians, with ÷ without) on stdout. Needs root.
 *
 *   node --import tsx bench/probe/tx-cpu.ts [--rounds 5] [--count 10000] [--seconds 9] [--warmup 3000]
 *     [--only many|window]
 *
 * `many` measures after `--warmup` ms: start-up (the JIT, and on a loaded machine a first stall whose backlog of
 * answers is read late) is no part of the per-probe cost. Runs that lost answers are counted apart: on a loaded
 * machine a stall long enough to overflow the socket's receive buffer turns answers into timeouts, which cost
 * differently.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runToEnd, tsxArgv } from '../../test/lab/process.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    count: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '3000' },
    only: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
if (!(ROUNDS >= 1 && ROUNDS <= 20)) throw new Error('[bench] --rounds 1–20');

type Figures = { cpu: number; user: number; wallMs: number; answered: number };

async function many(tx: boolean): Promise<Figures> {
  const args = ['--count', values.count, '--seconds', values.seconds, '--warmup', values.warmup];
  if (!tx) args.push('--no-tx-timestamps');
  const started = performance.now();
  const { code, stdout, stderr } = await runToEnd(null, tsxArgv('bench/probe/many.ts', args), 180_000);
  if (code !== 0) throw new Error(`[bench] many.ts failed (${code}): ${stderr}`);
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    cpuMsPer1000: number;
    userMsPer1000: number;
    sent: number;
    byStatus: Record<string, number>;
  };
  return {
    cpu: r.cpuMsPer1000,
    user: r.userMsPer1000,
    wallMs: performance.now() - started,
    answered: (r.byStatus.reply ?? 0) / r.sent,
  };
}

async function window(tx: boolean): Promise<Figures> {
  const job = { address: '127.0.0.1', protocol: 'icmp', count: 100_000, window: 256, txTimestamps: tx };
  const { code, stdout, stderr } = await runToEnd(
    null,
    tsxArgv('bench/probe/ours.ts', [JSON.stringify(job)]),
  );
  if (code !== 0) throw new Error(`[bench] ours.ts failed (${code}): ${stderr}`);
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    sent: number;
    received: number;
    seconds: number;
    cpuMs: number;
    userMs: number;
  };
  return {
    cpu: (r.cpuMs / r.sent) * 1000,
    user: (r.userMs / r.sent) * 1000,
    wallMs: r.seconds * 1000,
    answered: r.received / r.sent,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const lost = (f: Figures) => f.answered < 0.999;
const medianOrNull = (xs: number[]) => (xs.length === 0 ? null : median(xs));

const workloads = { many, window } as const;
const names = (values.only ? [values.only] : Object.keys(workloads)) as (keyof typeof workloads)[];
const summary: Record<string, unknown> = { rounds: ROUNDS, loadavgAtStart: loadavg()[0] };
for (const name of names) {
  const runs: Record<'on' | 'off', Figures[]> = { on: [], off: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ([true, false] as const) : ([false, true] as const);
    for (const tx of order) {
      const f = await workloads[name](tx);
      runs[tx ? 'on' : 'off'].push(f);
      process.stderr.write(`${JSON.stringify({ workload: name, round, tx, ...f, loadavg: loadavg()[0] })}\n`);
    }
  }
  const on = { cpu: median(runs.on.map((f) => f.cpu)), user: median(runs.on.map((f) => f.user)) };
  const off = { cpu: median(runs.off.map((f) => f.cpu)), user: median(runs.off.map((f) => f.user)) };
  // Paired by round too: each round's two runs met about the same machine.
  const paired = median(runs.on.map((f, i) => f.cpu / runs.off[i]!.cpu));
  summary[name] = {
    cpuMsPer1000: { on: on.cpu, off: off.cpu, ratio: on.cpu / off.cpu, pairedRatio: paired },
    userMsPer1000: { on: on.user, off: off.user, ratio: on.user / off.user },
    runs: { on: runs.on.map((f) => f.cpu), off: runs.off.map((f) => f.cpu) },
    answered: { on: median(runs.on.map((f) => f.answered)), off: median(runs.off.map((f) => f.answered)) },
    lostAnswers: { on: runs.on.filter(lost).length, off: runs.off.filter(lost).length },
    // Runs that answered every probe: the steady per-probe cost, without a stall's timeouts.
    cpuMsPer1000AllAnswered: {
      on: medianOrNull(runs.on.filter((f) => !lost(f)).map((f) => f.cpu)),
      off: medianOrNull(runs.off.filter((f) => !lost(f)).map((f) => f.cpu)),
    },
  };
}
summary.loadavgAtEnd = loadavg()[0];
process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
