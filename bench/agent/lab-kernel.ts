/**
 * Where the lab's kernel work runs. The lab's router and target are namespaces of this machine, joined by veth
 * pairs; by default a veth hands a packet to its peer's backlog and the kernel processes it at once, in the
 * sender's context. So everything the packet causes downstream — the router forwarding it, the target's kernel
 * answering it, the router forwarding the answer, its delivery to the agent's socket — runs inside the sender's
 * `sendto` and is charged to the sender's CPU time: the agent's, or fping's. On a real network that is other
 * machines' work (and the NIC's interrupt context).
 *
 * {@link threadLabKernel} gives each veth its own receive thread (threaded NAPI: GRO on, which turns on the veth's
 * NAPI; TSO off on the peer, or veth bypasses NAPI for such packets; then `threaded`), so each tool is charged for
 * its own syscalls only and the lab's work shows as the `napi/<dev>-<id>` kernel threads, which the benchmark
 * measures and reports beside the tools.
 *
 * The threads run SCHED_BATCH: a sender's `sendto` wakes the receiving veth's thread, and a normal thread would
 * preempt the sender on its own CPU at once — the agent would wait, mid-tick, for the router's work, which on a real
 * network happens elsewhere. A batch thread never preempts at wake-up; it runs on the other CPU or when the sender
 * sleeps. (SCHED_FIFO threads were tried: they wake per packet instead of batching and took 2–3 times the CPU.) On
 * a loaded machine the threads can still wait long enough for a veth's 256-packet ring to overflow, so the lab
 * loses probes that a real network would not; {@link labDrops} counts them, to tell such timeouts from the agent's.
 * Needs ethtool and chrt.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { run } from '../../test/lab/shell.js';

/** A veth of the lab: its namespace (undefined for the root namespace) and its name. */
export interface LabDevice {
  ns: string | undefined;
  dev: string;
}

/** The pids of the kernel's NAPI threads (`napi/<dev>-<id>`), by name. */
function napiThreads(): Map<number, string> {
  const threads = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm.startsWith('napi/')) threads.set(Number(entry), comm);
    } catch {
      // The process ended meanwhile.
    }
  }
  return threads;
}

/**
 * Moves the receive processing of each device into its own NAPI kernel thread (see the module comment) and
 * returns those threads' pids, for measuring them. The threads go with the devices.
 */
export async function threadLabKernel(devices: readonly LabDevice[]): Promise<number[]> {
  const pids: number[] = [];
  for (const { ns, dev } of devices) {
    const inNs = (argv: string[]) => (ns === undefined ? argv : ['ip', 'netns', 'exec', ns, ...argv]);
    const before = napiThreads();
    await run(inNs(['ethtool', '-K', dev, 'gro', 'on', 'tso', 'off']));
    await run(inNs(['sh', '-c', `echo 1 > /sys/class/net/${dev}/threaded`]));
    const added = [...napiThreads()].filter(
      ([pid, comm]) => !before.has(pid) && comm.startsWith(`napi/${dev}-`),
    );
    if (added.length === 0) throw new Error(`[bench:lab-kernel] no NAPI thread appeared for ${dev}`);
    for (const [pid] of added) await run(['chrt', '--batch', '--pid', '0', String(pid)]);
    pids.push(...added.map(([pid]) => pid));
  }
  return pids;
}

/** Packets each device dropped so far (receive plus transmit, e.g. a full veth ring), by device name. */
export async function labDrops(devices: readonly LabDevice[]): Promise<Record<string, number>> {
  const drops: Record<string, number> = {};
  for (const { ns, dev } of devices) {
    const argv = ['ip', ...(ns === undefined ? [] : ['-n', ns]), '-s', '-j', 'link', 'show', 'dev', dev];
    const [link] = JSON.parse(await run(argv)) as { stats64: Record<'rx' | 'tx', { dropped: number }> }[];
    drops[dev] = (link?.stats64.rx.dropped ?? 0) + (link?.stats64.tx.dropped ?? 0);
  }
  return drops;
}
