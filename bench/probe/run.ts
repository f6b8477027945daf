/**
 * Probe engine benchmark (issue 3). Runs, in one invocation, our engine and its peers on the same paths:
 *
 *   1. sustained ICMP probes/s from one process, zero self-caused loss, to loopback and to a lab target:
 *      ours and net-ping with the same count and window (probes in flight), fping at its fastest lossless
 *      period;
 *   2. RTT error on a lab path with 20 ms of added delay: ours against the wire (tcpdump timestamps on the
 *      agent's interface, per probe) and against iputils ping running at the same time;
 *   3. CPU time per 1,000 probes, from the same runs.
 *
 * Every figure is the median of RUNS runs. Needs root (namespaces, raw sockets). Bounded: fixed counts, and every
 * child is killed after a deadline.
 *
 *   node --import tsx bench/probe/run.ts [--runs 3] [--count 100000] [--rtt-only]
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LAB, Lab } from '../../test/lab/lab.js';
import { runToEnd, startService, tsxArgv } from '../../test/lab/process.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    count: { type: 'string', default: '100000' },
    /** Only the RTT error part (2), e.g. while working on timing. */
    'rtt-only': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const COUNT = Number(values.count);
const WINDOWS = [256, 1024];
const FPING_PERIODS_MS = [1, 0.5, 0.2, 0.1, 0.05, 0.04, 0.033, 0.025, 0.02, 0.0167];
const FPING_COUNT = 20_000;

interface WorkerResult {
  tool: string;
  sent: number;
  received: number;
  seconds: number;
  cpuMs: number;
  rtts?: (number | null)[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
}

/** Runs a bench worker in `ns` (or here when null) and parses its JSON line. */
async function worker(ns: string | null, script: string, job: object): Promise<WorkerResult> {
  const argv = tsxArgv(script, [JSON.stringify(job)]);
  const { code, stdout, stderr } = await runToEnd(ns, argv, 180_000);
  if (code !== 0) throw new Error(`[bench] ${script} failed (${code}): ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkerResult;
}

/** fping's fastest period with no loss over FPING_COUNT probes, all RUNS times; with its rate and CPU. */
async function fpingFastest(ns: string | null, target: string) {
  let best: { periodMs: number; rate: number; cpuPer1000: number } | undefined;
  for (const periodMs of FPING_PERIODS_MS) {
    const rates: number[] = [];
    const cpus: number[] = [];
    let lossless = true;
    for (let r = 0; r < RUNS && lossless; r++) {
      const argv = [
        '/usr/bin/time',
        '-f',
        'TIME %e %U %S',
        'fping',
        '-c',
        `${FPING_COUNT}`,
        '-p',
        `${periodMs}`,
        '-i',
        '0',
        '-q',
        target,
      ];
      const { stderr } = await runToEnd(ns, argv, 120_000);
      const m = /xmt\/rcv\/%loss = (\d+)\/(\d+)/.exec(stderr);
      const t = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (!m || !t) throw new Error(`[bench] fping output not understood: ${stderr}`);
      if (m[1] !== m[2]) lossless = false;
      rates.push(Number(m[1]) / Number(t[1]));
      cpus.push(((Number(t[2]) + Number(t[3])) * 1000 * 1000) / Number(m[1]));
    }
    if (!lossless) break;
    best = { periodMs, rate: median(rates), cpuPer1000: median(cpus) };
  }
  return best;
}

async function throughput(ns: string | null, target: string) {
  const rows: string[] = [];
  const summary: Record<string, number> = {};
  for (const window of WINDOWS) {
    for (const [tool, script] of [
      ['pinger', 'bench/probe/ours.ts'],
      ['net-ping', 'bench/probe/net-ping.ts'],
    ] as const) {
      const results: WorkerResult[] = [];
      for (let r = 0; r < RUNS; r++) {
        results.push(await worker(ns, script, { address: target, protocol: 'icmp', count: COUNT, window }));
      }
      const rate = median(results.map((x) => x.sent / x.seconds));
      const lost = Math.max(...results.map((x) => x.sent - x.received));
      const cpu = median(results.map((x) => (x.cpuMs / x.sent) * 1000));
      summary[`${tool}/${window}`] = rate;
      rows.push(
        `| ${tool} | ${window} | ${Math.round(rate).toLocaleString('en')} | ${lost} | ${cpu.toFixed(1)} |`,
      );
    }
  }
  const fping = await fpingFastest(ns, target);
  rows.push(
    fping
      ? `| fping -p ${fping.periodMs} | 1 | ${Math.round(fping.rate).toLocaleString('en')} | 0 | ${fping.cpuPer1000.toFixed(1)} |`
      : '| fping | – | no lossless period | – | – |',
  );
  return { rows, summary, fping };
}

/** Parses `tcpdump -tt --time-stamp-precision=nano` echo lines into request/reply times by id and seq. */
function wireRtts(capture: string): Map<string, number> {
  const req = new Map<string, number>();
  const rtt = new Map<string, number>();
  for (const line of capture.split('\n')) {
    const m = /^(\d+)\.(\d+) IP6? .*ICMP6?,? echo (request|reply), id (\d+), seq (\d+)/.exec(line);
    if (!m) continue;
    const ns = BigInt(m[1]!) * 1_000_000_000n + BigInt(m[2]!.padEnd(9, '0'));
    const key = `${m[4]}/${m[5]}`;
    if (m[3] === 'request') req.set(key, Number(ns % 10n ** 12n));
    else if (req.has(key) && !rtt.has(key)) rtt.set(key, (Number(ns % 10n ** 12n) - req.get(key)!) / 1000);
  }
  return rtt;
}

/** tcpdump on the agent's interface, writing `file`; resolves once it listens. */
async function capture(ns: string, file: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'tcpdump',
      '-i',
      'a0',
      '-n',
      '--immediate-mode',
      '--time-stamp-precision=nano',
      '-U',
      '-w',
      file,
      'icmp',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('[bench] tcpdump did not start')), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error('[bench] tcpdump exited')));
  });
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function rttError(lab: Lab) {
  // The responder answers (after the delay), so the target's kernel must not.
  await lab.sysctl(lab.target, 'net.ipv4.icmp_echo_ignore_all=1');
  const responder = await startService(lab.target, tsxArgv('test/lab/responder.ts', ['--delay', '20']));
  const rows: string[] = [];
  try {
    const medErr: number[] = [];
    const p99Err: number[] = [];
    const vsPingMedian: number[] = [];
    const vsPingP99: number[] = [];
    const wireMedian: number[] = [];
    const wireP99: number[] = [];
    const pingMedErr: number[] = [];
    const pingP99Err: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pinger-bench-'));
      const file = path.join(dir, 'cap.pcap');
      const tcpdump = await capture(lab.agent, file);
      try {
        const [ours, ping] = await Promise.all([
          worker(lab.agent, 'bench/probe/ours.ts', {
            address: LAB.target.v4,
            protocol: 'icmp',
            count: 300,
            window: 0,
            interval: 7,
            timeout: 1000,
            rtts: true,
          }),
          runToEnd(lab.agent, ['ping', '-n', '-i', '0.005', '-c', '300', LAB.target.v4], 60_000),
        ]);
        await tcpdump.stop();
        const capture = execFileSync('tcpdump', ['-r', file, '-n', '-tt', '--time-stamp-precision=nano'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        const wire = wireRtts(capture);
        // Our worker's RTTs are in seq order from 0; its ICMP id (a random sourceid) and ping's differ: take the
        // capture series that lines up with ours.
        const oursBySeq = ours.rtts!;
        const oursRtts = oursBySeq.filter((x): x is number => x !== null);
        const wireById = new Map<string, number[]>();
        for (const [key, us] of wire) {
          const [id, seq] = key.split('/');
          if (!wireById.has(id!)) wireById.set(id!, []);
          wireById.get(id!)![Number(seq)] = us;
        }
        // Our id is the one whose wire RTTs line up with ours in count; ping uses its own id.
        let errors: number[] = [];
        let oursSeries: number[] | undefined;
        for (const series of wireById.values()) {
          const e = oursBySeq.map((us, i) =>
            us === null || series[i] === undefined ? Number.NaN : us - series[i]!,
          );
          const ok = e.filter((x) => Number.isFinite(x));
          if (ok.length > errors.length && median(ok.map(Math.abs)) < 5000) {
            errors = ok;
            oursSeries = series;
          }
        }
        medErr.push(median(errors));
        p99Err.push(quantile(errors, 0.99));
        // ping's own error against the same wire: its probe per icmp_seq against the other series.
        const pingBySeq = new Map(
          [...ping.stdout.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g)].map((m) => [
            Number(m[1]),
            Number(m[2]) * 1000,
          ]),
        );
        let pingErrors: number[] = [];
        let pingSeries: number[] = [];
        for (const series of wireById.values()) {
          if (series === oursSeries) continue;
          const e = [...pingBySeq].flatMap(([seq, us]) =>
            series[seq] === undefined ? [] : [us - series[seq]!],
          );
          if (e.length > pingErrors.length) {
            pingErrors = e;
            pingSeries = series;
          }
        }
        // The same side-by-side comparison on the wire: what the path gave each tool's probes.
        const wireOurs = (oursSeries ?? []).filter((x) => x !== undefined);
        const wirePing = pingSeries.filter((x) => x !== undefined);
        wireMedian.push(median(wireOurs) - median(wirePing));
        wireP99.push(quantile(wireOurs, 0.99) - quantile(wirePing, 0.99));
        pingMedErr.push(median(pingErrors));
        pingP99Err.push(quantile(pingErrors, 0.99));
        const pingMs = [...pingBySeq.values()];
        vsPingMedian.push(median(oursRtts) - median(pingMs));
        vsPingP99.push(quantile(oursRtts, 0.99) - quantile(pingMs, 0.99));
      } finally {
        await tcpdump.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    rows.push(
      `| ours − wire (tcpdump on the agent's interface), per probe | ${median(medErr).toFixed(1)} | ${median(p99Err).toFixed(1)} |`,
    );
    rows.push(
      `| iputils ping − wire, per probe (ping prints 0.1 ms steps: ±50 µs of rounding) | ${median(pingMedErr).toFixed(1)} | ${median(pingP99Err).toFixed(1)} |`,
    );
    rows.push(
      `| ours − iputils ping, distributions side by side | ${median(vsPingMedian).toFixed(1)} | ${median(vsPingP99).toFixed(1)} |`,
    );
    rows.push(
      `| the wire under ours − the wire under ping, side by side (the path's share of the line above) | ${median(wireMedian).toFixed(1)} | ${median(wireP99).toFixed(1)} |`,
    );
  } finally {
    await responder.stop();
  }
  return rows;
}

const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
const started = new Date().toISOString();
const load = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');
const loop = values['rtt-only']
  ? { rows: [], summary: {} as Record<string, number> }
  : await throughput(null, '127.0.0.1');
const lab = await Lab.create();
let out = '';
try {
  const labRun = values['rtt-only']
    ? { rows: [], summary: {} as Record<string, number> }
    : await throughput(lab.agent, LAB.target.v4);
  const rtt = await rttError(lab);
  const ratio = (run: { summary: Record<string, number> }) =>
    (
      Math.max(run.summary['pinger/256']!, run.summary['pinger/1024']!) /
      Math.max(run.summary['net-ping/256']!, run.summary['net-ping/1024']!)
    ).toFixed(2);
  const table = ['| tool | window | probes/s | lost | CPU ms / 1,000 probes |', '|---|---|---|---|---|'];
  const throughputSection = values['rtt-only']
    ? []
    : [
        '**1. Sustained ICMP probes/s, one process** (median of runs; window = probes in flight; lost = worst run)',
        '',
        'Loopback (127.0.0.1):',
        '',
        ...table,
        ...loop.rows,
        '',
        `Lab target (${LAB.target.v4}, one router hop, kernel echo):`,
        '',
        ...table,
        ...labRun.rows,
        '',
        `Ratio pinger / net-ping (best window each): loopback ${ratio(loop)}×, lab ${ratio(labRun)}×`,
        '',
      ];
  out = [
    `Run ${started} · \`node --import tsx bench/probe/run.ts --runs ${RUNS} --count ${COUNT}${values['rtt-only'] ? ' --rtt-only' : ''}\` · ${os.cpus().length} CPUs (nproc), ${cpuModel} · Node ${process.version} · load average at start ${load}`,
    '',
    ...throughputSection,
    '**2. RTT error, 20 ms added delay (lab responder), 300 probes per run at 7 ms beside ping at 5 ms** (µs)',
    '',
    '| comparison | median | p99 |',
    '|---|---|---|',
    ...rtt,
  ].join('\n');
} finally {
  await lab.destroy();
}
process.stdout.write(`${out}\n`);
