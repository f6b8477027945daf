/**
 * Agent benchmark: one `pinger agent` probing 10,000 destinations (ICMP, every 1 s) against a lab target, with a
 * real `pinger serve` receiving every result.
 *
 *   node --import tsx bench/agent/run.ts [--destinations 10000] [--windows 3] [--window-ms 15000]
 *                                        [--samples 50] [--no-fping] [--cpu-prof DIR] [--write]
 *                                        [--agent-binary dist/agent/pinger-agent-linux-x64/pinger-agent]
 *                                        [--node-flags="--max-semi-space-size=8 …"] [--lab-kernel threads|inline]
 *
 * The lab (test/lab): agent ─ router ─ target namespaces; 198.18.64.0/18 is routed from the agent through the
 * router to the target, where a `local` route makes its kernel answer echo requests for every address in it, so
 * 10,000 destinations are 10,000 distinct addresses and every probe crosses two veth wires. The control plane
 * runs in the root namespace on a /30 veth into the agent's namespace (as in test/e2e/agent-failures).
 *
 * Where the lab's kernel work runs (`--lab-kernel`, bench/agent/lab-kernel.ts): by default (`threads`) each veth
 * processes what it receives in its own NAPI kernel thread, so the router's forwarding and the target's answers —
 * other machines' work on a real network — are not charged to the sender, and the benchmark reports those
 * threads' CPU beside each tool's. With `inline` (the only mode before 2026-11-22 10:00 UTC) that work runs inside the sender's
 * sendto and counts as the agent's (or fping's) system time: ~8–9 % of a core at 10,000 probes a second.
 *
 * Measured, over `--windows` windows of `--window-ms` each after a warm-up (medians reported):
 * - CPU % of one core: utime + stime of the agent process from /proc/<pid>/stat over the window;
 * - RSS: VmRSS from /proc/<pid>/status, sampled every second (max);
 * - send lateness p50 / p99: the agent's own histogram (pinger_agent_schedule_lateness_seconds) between two
 *   scrapes, interpolated within buckets as PromQL's histogram_quantile does;
 * - propagation: `--samples` destinations written through the API one after another (400 ms apart) while the
 *   10,000 run; for each, the kernel timestamp of its first echo request on the target's interface (tcpdump in
 *   the target namespace) minus the wall time the API request started.
 * Peer: fping 5 (`fping -l -q -p 1000 -i 0.1`, one process, the same 10,000 addresses once a second, in the same
 * namespace), CPU % and RSS over the same windows, measured after the agent has stopped.
 *
 * `--write` puts the figures in a "### Last `--write` run" subsection of BENCHMARKS.md's "## Agent (issue 4)",
 * replaced on each write; the hand-written history around it stays. Every phase is bounded in time; all traffic
 * stays inside the namespaces this script creates, which it deletes at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient } from '../../cli/client.js';
import { createFailureLab } from '../../test/e2e/agent-failures/failure-lab.js';
import {
  ADMIN_TOKEN,
  metricsPortOf,
  scrape,
  scrapeText,
  spawnCommand,
  spawnNode,
  startServe,
  total,
  until,
} from '../../test/e2e/agent-failures/processes.js';
import { run } from '../../test/lab/shell.js';
import { median, quantile } from '../ingest/stats.js';
import { buckets, quantileBetween } from './histogram.js';
import { type LabDevice, labDrops, threadLabKernel } from './lab-kernel.js';
import { measure, type Usage } from './proc-stats.js';

const { values: args } = parseArgs({
  options: {
    destinations: { type: 'string', default: '10000' },
    windows: { type: 'string', default: '3' },
    'window-ms': { type: 'string', default: '15000' },
    samples: { type: 'string', default: '50' },
    'no-fping': { type: 'boolean', default: false },
    /** Write a V8 CPU profile of the agent into this directory (node --cpu-prof), for finding its hot spots. */
    'cpu-prof': { type: 'string' },
    write: { type: 'boolean', default: false },
    /** Measure the built agent (npm run build:agent), as users run it, instead of `node bin/pinger.js agent`. */
    'agent-binary': { type: 'string' },
    /** Extra node/V8 flags for the agent run through node (e.g. "--max-semi-space-size=8"), space-separated. */
    'node-flags': { type: 'string', default: '' },
    /**
     * `threads` (default): the lab's veths process packets in their own NAPI kernel threads, so each tool is
     * charged for its own work only (bench/agent/lab-kernel.ts); `inline`: as before, the lab's routing and the
     * target's answers run inside the sender's sendto and count as its CPU.
     */
    'lab-kernel': { type: 'string', default: 'threads' },
  },
});
const N = Number(args.destinations);
const WINDOWS = Number(args.windows);
const WINDOW_MS = Number(args['window-ms']);
const SAMPLES = Number(args.samples);
const INTERVAL = 1000;
const PREFIX = '198.18.64.0/18';
const LATENESS = 'pinger_agent_schedule_lateness_seconds';
if (args['lab-kernel'] !== 'threads' && args['lab-kernel'] !== 'inline')
  throw new RangeError(`[bench:agent] --lab-kernel is threads or inline, not ${args['lab-kernel']}`);
if (N < 1 || N > 14_000 || SAMPLES > 62)
  throw new RangeError('[bench:agent] at most 14,000 destinations and 62 samples');

/** The i-th address of the /18 (from 198.18.64.1). */
const address = (i: number) => {
  const n = (198 << 24) + (18 << 16) + (64 << 8) + 1 + i;
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
};

/** Runs `tasks` with at most `width` at once. */
async function pool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

const log = (msg: string) => process.stderr.write(`[bench:agent] ${msg}\n`);
const mb = (bytes: number) => bytes / 1024 / 1024;
const wallNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

const world = await createFailureLab(0);
const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-agent-'));
const cleanup: (() => unknown)[] = [];
let exitCode = 0;
try {
  const { lab } = world;
  await run(['ip', '-n', lab.agent, 'route', 'add', PREFIX, 'via', '198.18.1.1']);
  await run(['ip', '-n', lab.router, 'route', 'add', PREFIX, 'via', '198.18.2.2']);
  await run(['ip', '-n', lab.target, 'route', 'add', 'local', PREFIX, 'dev', 'lo']);
  const labDevices: LabDevice[] = [
    { ns: lab.agent, dev: 'a0' },
    { ns: lab.router, dev: 'r0' },
    { ns: lab.router, dev: 'r1' },
    { ns: lab.target, dev: 't0' },
    { ns: lab.agent, dev: world.controlLink.agent },
    { ns: undefined, dev: world.controlLink.root },
  ];
  const labThreads = args['lab-kernel'] === 'threads' ? await threadLabKernel(labDevices) : [];
  log(
    `lab kernel: ${args['lab-kernel']}${labThreads.length ? ` (NAPI threads ${labThreads.join(', ')})` : ''}`,
  );

  const serve = await startServe(world.controlHost, 0, join(dir, 'pinger.db'));
  cleanup.push(() => serve.proc.kill('SIGKILL'));
  const api = new ApiClient({ url: serve.url, token: ADMIN_TOKEN });
  const source = await api.createSource({ name: 'bench-agent' });
  let t = performance.now();
  await pool(
    Array.from(
      { length: N },
      (_, i) => () => api.createDestination({ address: address(i), protocol: 'icmp', interval: INTERVAL }),
    ),
    16,
  );
  log(`${N} destinations created in ${Math.round(performance.now() - t)} ms`);

  // The agent as users run it (--agent-binary), or from this clone through node: with node's --cpu-prof flag when
  // a profile is wanted (it is not allowed in NODE_OPTIONS).
  const agentArgs = ['agent', '--url', serve.url, '--spool', join(dir, 'spool'), '--metrics-port', '0'];
  const agentEnv = { PINGER_TOKEN: source.token };
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'pinger.js');
  const nodeFlags = [
    ...args['node-flags'].split(' ').filter((f) => f !== ''),
    ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : []),
  ];
  const agent = args['agent-binary']
    ? spawnCommand([resolve(args['agent-binary']), ...agentArgs], agentEnv, lab.agent)
    : spawnNode([...nodeFlags, bin, ...agentArgs], agentEnv, lab.agent);
  cleanup.push(() => agent.kill('SIGKILL'));
  const pid = agent.child.pid!;
  const port = await metricsPortOf(agent);
  await until(
    'the agent probing every destination',
    async () => total(await scrape(lab.agent, port), 'pinger_agent_destinations') === N,
    60_000,
    250,
  );
  // Warm-up: a few full rounds (JIT, socket buffers, the outbox's steady state).
  t = performance.now();
  await until('warm-up', () => performance.now() - t > 5000, 10_000, 250);
  log(`packets the lab's veths dropped before the windows: ${JSON.stringify(await labDrops(labDevices))}`);

  const agentWindows: (Usage & {
    p50: number;
    p99: number;
    sent: number;
    replies: number;
    timeouts: number;
    delivered: number;
    spoolBytes: number;
  })[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const before = await scrapeText(lab.agent, port);
    const usage = await measure(pid, WINDOW_MS, labThreads);
    const after = await scrapeText(lab.agent, port);
    const b0 = buckets(before, LATENESS);
    const b1 = buckets(after, LATENESS);
    // A series not exported yet (no timeout so far) counts 0.
    const counter = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const sentRe = /^pinger_agent_probes_sent_total\{protocol="icmp"\} (\S+)$/m;
    const replyRe = /^pinger_agent_results_total\{status="reply"\} (\S+)$/m;
    const timeoutRe = /^pinger_agent_results_total\{status="timeout"\} (\S+)$/m;
    const deliveredRe = /^pinger_agent_results_delivered_total (\S+)$/m;
    const spoolRe = /^pinger_agent_spool_bytes (\S+)$/m;
    const window = {
      ...usage,
      p50: 1000 * quantileBetween(b0, b1, 0.5),
      p99: 1000 * quantileBetween(b0, b1, 0.99),
      sent: counter(after, sentRe) - counter(before, sentRe),
      replies: counter(after, replyRe) - counter(before, replyRe),
      timeouts: counter(after, timeoutRe) - counter(before, timeoutRe),
      delivered: counter(after, deliveredRe) - counter(before, deliveredRe),
      spoolBytes: counter(after, spoolRe),
    };
    agentWindows.push(window);
    log(
      `agent window ${w + 1}: cpu ${window.cpuPercent.toFixed(1)} % (system ${window.systemPercent.toFixed(1)}; lab kernel threads ${window.othersPercent.toFixed(1)}), rss ${mb(window.rssMaxBytes).toFixed(1)} MB, ` +
        `lateness p50 ${window.p50.toFixed(3)} ms p99 ${window.p99.toFixed(3)} ms, ` +
        `${Math.round(window.sent / (WINDOW_MS / 1000))} probes/s, ${window.replies} replies, ` +
        `${window.timeouts} timeouts, ${Math.round(window.delivered / (WINDOW_MS / 1000))} delivered/s, ` +
        `spool ${mb(window.spoolBytes).toFixed(1)} MB`,
    );
  }
  log(`packets the lab's veths dropped after the windows: ${JSON.stringify(await labDrops(labDevices))}`);
  const serveCpu = await measure(serve.proc.child.pid!, 5000);

  // Propagation: API write → the destination's first echo request on the target's wire, captured by tcpdump in
  // the target namespace (kernel timestamps, wall clock, ns). Sampled addresses come from their own /26.
  const capture = spawn(
    'ip',
    [
      'netns',
      'exec',
      lab.target,
      'tcpdump',
      '-l',
      '-n',
      '-tt',
      '--time-stamp-precision=nano',
      '-i',
      't0',
      'icmp[icmptype] == icmp-echo and dst net 198.18.120.0/26',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanup.push(() => capture.kill('SIGKILL'));
  const seen = new Map<string, bigint>();
  let captureErr = '';
  capture.stderr.on('data', (d) => {
    captureErr += d;
  });
  let buf = '';
  capture.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const m = /^(\d+)\.(\d{9}) IP \S+ > (\S+?): ICMP echo request/.exec(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m && !seen.has(m[3]!)) seen.set(m[3]!, BigInt(m[1]!) * 1_000_000_000n + BigInt(m[2]!));
    }
  });
  await until('tcpdump listening', () => /listening on/.test(captureErr), 10_000, 50);
  const writes: { address: string; at: bigint }[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const sample = `198.18.120.${1 + i}`;
    const at = wallNs();
    await api.createDestination({ address: sample, protocol: 'icmp', interval: INTERVAL });
    writes.push({ address: sample, at });
    const next = performance.now() + 400;
    await until('sample spacing', () => performance.now() >= next, 1000, 10);
  }
  await until(
    'every sampled destination on the wire',
    () => writes.every((w) => seen.has(w.address)),
    30_000,
    100,
  );
  capture.kill('SIGTERM');
  const propagation = writes.map((w) => Number(seen.get(w.address)! - w.at) / 1e6);
  log(
    `propagation over ${propagation.length} writes: p50 ${median(propagation).toFixed(0)} ms, ` +
      `p99 ${quantile(propagation, 0.99).toFixed(0)} ms, max ${Math.max(...propagation).toFixed(0)} ms`,
  );

  agent.kill('SIGTERM');
  const exited = await Promise.race([
    agent.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000)),
  ]);
  const stopped = agent.logs.find((l) => l.msg === '[agent] stopped');
  log(`agent stopped: ${JSON.stringify(exited)} ${JSON.stringify(stopped ?? {})}`);
  log(`packets the lab's veths dropped so far: ${JSON.stringify(await labDrops(labDevices))}`);
  // Warnings and errors the agent logged, one line per kind with its count and first occurrence.
  const notable = new Map<string, { n: number; first: Record<string, unknown> }>();
  for (const l of agent.logs) {
    if (Number(l.level) < 40) continue;
    const key = String(l.msg ?? l.raw);
    const seenBefore = notable.get(key);
    if (seenBefore) seenBefore.n++;
    else notable.set(key, { n: 1, first: l });
  }
  for (const [msg, { n, first }] of notable)
    log(`agent logged ${n}× ${msg}: ${JSON.stringify(first).slice(0, 400)}`);

  // Peer: fping over the same addresses, alone on the machine now.
  const fpingWindows: Usage[] = [];
  if (!args['no-fping']) {
    const list = join(dir, 'targets.txt');
    writeFileSync(list, `${Array.from({ length: N }, (_, i) => address(i)).join('\n')}\n`);
    const fping = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.agent,
        'fping',
        '-l',
        '-q',
        '-p',
        String(INTERVAL),
        '-i',
        String(INTERVAL / N),
        '-f',
        list,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cleanup.push(() => fping.kill('SIGKILL'));
    t = performance.now();
    await until('fping warm-up', () => performance.now() - t > 5000, 10_000, 250);
    for (let w = 0; w < WINDOWS; w++) {
      const usage = await measure(fping.pid!, WINDOW_MS, labThreads);
      fpingWindows.push(usage);
      log(
        `fping window ${w + 1}: cpu ${usage.cpuPercent.toFixed(1)} % (system ${usage.systemPercent.toFixed(1)}; lab kernel threads ${usage.othersPercent.toFixed(1)}), ` +
          `rss ${mb(usage.rssMaxBytes).toFixed(1)} MB`,
      );
    }
    fping.kill('SIGINT');
    log(`packets the lab's veths dropped, in all: ${JSON.stringify(await labDrops(labDevices))}`);
  }

  const med = (xs: number[]) => median(xs);
  const figures = {
    destinations: N,
    windows: WINDOWS,
    windowMs: WINDOW_MS,
    labKernel: args['lab-kernel'],
    cpuPercent: med(agentWindows.map((w) => w.cpuPercent)),
    labKernelPercent: med(agentWindows.map((w) => w.othersPercent)),
    rssMb: mb(med(agentWindows.map((w) => w.rssMaxBytes))),
    latenessP50Ms: med(agentWindows.map((w) => w.p50)),
    latenessP99Ms: med(agentWindows.map((w) => w.p99)),
    probesPerSecond: med(agentWindows.map((w) => w.sent / (WINDOW_MS / 1000))),
    replyRatio: med(agentWindows.map((w) => w.replies / w.sent)),
    serveCpuPercent: serveCpu.cpuPercent,
    propagationP50Ms: median(propagation),
    propagationP99Ms: quantile(propagation, 0.99),
    propagationSamples: propagation.length,
    fpingCpuPercent: fpingWindows.length ? med(fpingWindows.map((w) => w.cpuPercent)) : Number.NaN,
    fpingLabKernelPercent: fpingWindows.length ? med(fpingWindows.map((w) => w.othersPercent)) : Number.NaN,
    fpingRssMb: fpingWindows.length ? mb(med(fpingWindows.map((w) => w.rssMaxBytes))) : Number.NaN,
    perWindow: { agent: agentWindows, fping: fpingWindows },
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  if (args.write) writeSection(figures);
} catch (err) {
  exitCode = 1;
  log(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  for (const c of cleanup.reverse()) c();
  await world.destroy();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);

function writeSection(f: {
  destinations: number;
  windows: number;
  windowMs: number;
  labKernel: string;
  cpuPercent: number;
  labKernelPercent: number;
  rssMb: number;
  latenessP50Ms: number;
  latenessP99Ms: number;
  probesPerSecond: number;
  replyRatio: number;
  serveCpuPercent: number;
  propagationP50Ms: number;
  propagationP99Ms: number;
  propagationSamples: number;
  fpingCpuPercent: number;
  fpingLabKernelPercent: number;
  fpingRssMb: number;
}): void {
  const path = join(import.meta.dirname, '..', '..', 'BENCHMARKS.md');
  const text = readFileSync(path, 'utf8');
  const cpu = cpus()[0]?.model ?? 'unknown';
  const ok = (value: number, goal: number) => (value <= goal ? 'met' : '**missed**');
  const ratio = (a: number, b: number) => (Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  // One subsection of its own, replaced by the next --write: the hand-written history around it stays.
  const section = `### Last \`--write\` run (${when} UTC)

\`node --import tsx bench/agent/run.ts --write\` (root), ${cpus().length} × ${cpu}, Node ${process.version}, one invocation;
${f.destinations.toLocaleString('en')} ICMP destinations at 1 s, lab kernel \`${f.labKernel}\`, medians of ${f.windows} windows of ${f.windowMs / 1000} s.

| | pinger agent | goal | | fping | agent / fping |
|---|---|---|---|---|---|
| CPU, % of one core | ${f.cpuPercent.toFixed(1)} | ≤ 25 | ${ok(f.cpuPercent, 25)} | ${f.fpingCpuPercent.toFixed(1)} | ${ratio(f.cpuPercent, f.fpingCpuPercent)} |
| the lab's NAPI threads meanwhile, % of one core | ${f.labKernelPercent.toFixed(1)} | | | ${f.fpingLabKernelPercent.toFixed(1)} | |
| RSS, MB (max in window) | ${f.rssMb.toFixed(1)} | ≤ 150 | ${ok(f.rssMb, 150)} | ${f.fpingRssMb.toFixed(1)} | ${ratio(f.rssMb, f.fpingRssMb)} |
| send lateness p50, ms | ${f.latenessP50Ms.toFixed(3)} | | | | |
| send lateness p99, ms | ${f.latenessP99Ms.toFixed(3)} | ≤ 2 | ${ok(f.latenessP99Ms, 2)} | | |
| propagation API write → first probe, p50 / p99 ms (${f.propagationSamples} writes) | ${f.propagationP50Ms.toFixed(0)} / ${f.propagationP99Ms.toFixed(0)} | p99 ≤ 1000 | ${ok(f.propagationP99Ms, 1000)} | | |

Probes sent per second: ${Math.round(f.probesPerSecond).toLocaleString('en')}; answered: ${(100 * f.replyRatio).toFixed(1)} %; the control plane
ingesting them used ${f.serveCpuPercent.toFixed(1)} % of a core. One invocation on a shared machine: compare with the
medians of several invocations below before concluding anything.
`;
  const heading = '## Agent (issue 4)\n';
  const last = /### Last `--write` run[\s\S]*?(?=\n### |\n## |$)/;
  let out: string;
  if (last.test(text)) out = text.replace(last, section.trimEnd());
  else if (text.includes(heading)) out = text.replace(heading, `${heading}\n${section}`);
  else out = `${text.trimEnd()}\n\n${heading}\n${section}`;
  writeFileSync(path, out);
  log('BENCHMARKS.md updated');
}
