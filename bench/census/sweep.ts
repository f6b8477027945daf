/**
 * One census pass with the agent's pass code and probe engine, for bench/census/run.ts (started in the lab's agent
 * namespace). Prints one JSON line: the pass summary, the CPU the process spent during the pass (user + system,
 * ms), and the hosts that answered.
 *
 *   ip netns exec NS node --import tsx bench/census/sweep.ts '{"prefix":…,"rate":…,"retries":…,"timeout":…}'
 */
import { ProbeEngine } from '../../agent/probes/engine.js';
import { startPass } from '../../agent/schedule/census/pass.js';
import { parsePrefix } from '../../contract/index.js';

const job = JSON.parse(process.argv[2] ?? '{}') as {
  prefix: string;
  rate: number;
  retries: number;
  timeout: number;
};
const parsed = parsePrefix(job.prefix);
if (!('prefix' in parsed)) throw new Error(`[bench] ${job.prefix} ${parsed.issue}`);
const engine = new ProbeEngine({ sourceid: 4444 });
const prober = await engine.open('icmp');
const hosts: string[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const pass = startPass({
  destination: { id: 'bench', protocol: 'icmp', port: null, ttl: 64, timeout: job.timeout, data: '' },
  prefix: parsed.prefix,
  rate: job.rate,
  retries: job.retries,
  prober,
  onAnswer: (r) => hosts.push(r.target),
});
const summary = await pass.done;
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
engine.close();
process.stdout.write(
  `${JSON.stringify({
    passMs: Number(summary.end - summary.start) / 1e6,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    probed: summary.probed,
    answered: summary.answered,
    errors: summary.errors,
    hosts,
  })}\n`,
);
