/**
 * Many destinations through the real engine (issue 3, item "10,000 destinations at 1 s"): creates a network
 * namespace of its own, brings its loopback up (127.0.0.0/8 is all local there, so 10,000 distinct targets
 * answer from the kernel without leaving the namespace), runs `many-worker.ts` in it, prints the worker's JSON
 * line, and always deletes the namespace. Needs root. Pass `--cpu-prof` to profile the worker (the profile's
 * directory is printed on stderr), `--perf` to record it with `perf record -g` and node's `--perf-basic-prof`
 * (native frames too: the addon, libc, the kernel; the perf.data path is printed on stderr), `--silent` to have
 * nothing answer (echo ignored, UDP/TCP dropped: every probe times out).
 *
 *   node --import tsx bench/probe/many.ts [--count 10000] [--interval 1000] [--seconds 10] [--protocol icmp]
 *     [--warmup MS] [--silent] [--no-tx-timestamps] [--cpu-prof | --perf]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runToEnd, tsxArgv } from '../../test/lab/process.js';
import { run } from '../../test/lab/shell.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    interval: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    /** ms before measuring (default one interval). */
    warmup: { type: 'string' },
    protocol: { type: 'string', default: 'icmp' },
    'cpu-prof': { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    silent: { type: 'boolean', default: false },
    /** Time sends by the process's clock, for comparison (the engine's txTimestamps: false). */
    'no-tx-timestamps': { type: 'boolean', default: false },
  },
});

const ns = `pinger-many-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
await run(['ip', 'netns', 'add', ns]);
try {
  await run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  if (values.silent) {
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_echo_ignore_all=1']);
    const rules =
      'table inet silent {\n chain in {\n type filter hook input priority 0;\n meta l4proto { udp, tcp } drop\n }\n}\n';
    await run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules);
  }
  const job = {
    count: Number(values.count),
    interval: Number(values.interval),
    seconds: Number(values.seconds),
    protocol: values.protocol,
    txTimestamps: !values['no-tx-timestamps'],
    ...(values.warmup === undefined ? {} : { warmup: Number(values.warmup) }),
  };
  let argv = tsxArgv('bench/probe/many-worker.ts', [JSON.stringify(job)]);
  if (values['cpu-prof']) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pinger-many-prof-'));
    process.stderr.write(`cpu profile in ${dir}\n`);
    argv = [argv[0]!, '--cpu-prof', `--cpu-prof-dir=${dir}`, ...argv.slice(1)];
  } else if (values.perf) {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pinger-many-perf-')), 'perf.data');
    process.stderr.write(`perf data in ${file} (perf report -i ${file} --no-children)\n`);
    argv = ['perf', 'record', '-g', '-o', file, '--', argv[0]!, '--perf-basic-prof', ...argv.slice(1)];
  }
  const { code, stdout, stderr } = await runToEnd(ns, argv, (job.seconds + 60) * 1000);
  if (code !== 0) throw new Error(`[bench] many-worker failed (${code}): ${stderr}`);
  process.stdout.write(stdout);
} finally {
  await run(['ip', 'netns', 'del', ns]);
}
