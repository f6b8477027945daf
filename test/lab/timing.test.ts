/**
 * How exact the probe engine's RTTs are, measured against the wire: tcpdump records the agent's interface at
 * nanosecond precision while the engine probes the lab target through its router and the responder's 20 ms
 * delay, over all six protocols at once, and every probe's RTT is compared with its own request → answer time in
 * the capture. With kernel stamps on both ends (SO_TIMESTAMPING on the send, SO_TIMESTAMPNS on the arrival) the
 * two clocks read the same moments, so the error is what is left between the driver's stamp and the capture
 * tap's. Also: transmit stamps turned off are marked as such, and IPv6 answers carry their hop limit, which the
 * router decrements. Needs root (network namespaces, raw sockets, tcpdump).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeOutcome } from '../../agent/probes/types.js';
import type { Protocol } from '../../contract/index.js';
import { LAB, Lab } from './lab.js';
import { median, runPlans } from './lab-run.js';
import { silenceResets } from './nft.js';
import type { Plan } from './probe-driver.js';
import { type Service, startService, tsxArgv } from './process.js';
import { captureWire, probeKey, readPcap, wireRtts } from './wire.js';

const UDP_ECHO = 7017;
const TCP_OPEN = 8180;
/** Answered by the responder itself after the delay, the kernel's RSTs silenced. */
const TCP_SYN = 8190;
const ALL: Protocol[] = ['icmp', 'icmp6', 'udp', 'udp6', 'tcp', 'tcp6'];
const COUNT = 200;

const isRoot = process.getuid?.() === 0;

function fam(protocol: Protocol): 'v4' | 'v6' {
  return protocol.endsWith('6') ? 'v6' : 'v4';
}

/** One plan per protocol, each in a seq range of its own. */
function plans(tag: string): Plan[] {
  return ALL.map((p, i) => ({
    name: `${tag}-${p}`,
    protocol: p,
    address: LAB.target[fam(p)],
    port: p.startsWith('udp') ? UDP_ECHO : p.startsWith('tcp') ? TCP_SYN : null,
    ttl: 64,
    timeout: 1000,
    data: 'timing',
    count: COUNT,
    interval: 10,
    seq: 1000 * (i + 1),
    // Spread over the interval, so that the six protocols' sends do not leave in one burst.
    start: i,
  }));
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
}

describe.skipIf(!isRoot)('RTT against the wire (root, lab)', () => {
  let lab: Lab;
  let responder: Service | undefined;
  let dir: string;

  beforeAll(async () => {
    lab = await Lab.create();
    dir = mkdtempSync(path.join(os.tmpdir(), 'pinger-timing-'));
    await lab.sysctl(lab.target, 'net.ipv4.icmp_echo_ignore_all=1', 'net.ipv6.icmp.echo_ignore_all=1');
    await silenceResets(lab, TCP_SYN);
    responder = await startService(
      lab.target,
      tsxArgv('test/lab/responder.ts', [
        '--delay',
        '20',
        '--udp-port',
        `${UDP_ECHO}`,
        '--tcp-port',
        `${TCP_OPEN}`,
        '--syn-port',
        `${TCP_SYN}`,
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    await responder?.stop();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs every protocol's plan while capturing; each probe's outcome with its wire RTT. */
  async function measure(tag: string, options: { txTimestamps?: boolean } = {}) {
    const file = path.join(dir, `${tag}.pcap`);
    const capture = await captureWire(lab.agent, 'a0', file);
    let outcomes: Record<string, ProbeOutcome[]> = {};
    try {
      outcomes = await runPlans(lab, plans(tag), 60_000, options);
    } finally {
      // Until the last answer of each plan is in the file (tcpdump writes a block at a time).
      const last = Object.values(outcomes).flatMap((os) => os.filter((o) => o.status === 'reply').slice(-1));
      await capture.stop((frames) => {
        const wire = wireRtts(frames, LAB.agent);
        return last.every((o) => wire.has(probeKey(o.protocol, o.rid, o.rseq)));
      });
    }
    const wire = wireRtts(readPcap(readFileSync(file)), LAB.agent);
    return { outcomes, wire };
  }

  it('times every probe by the kernel on both ends, within 5 µs of the wire at the median and 50 µs at p99', {
    retry: 1,
  }, async () => {
    const { outcomes, wire } = await measure('kernel');
    for (const p of ALL) {
      const replies = outcomes[`kernel-${p}`]!.filter((o) => o.status === 'reply');
      expect(replies.length, `${p} replies`).toBeGreaterThan(COUNT * 0.95);
      const errors: number[] = [];
      for (const o of replies) {
        expect(o.timing, `${p} seq ${o.rseq}`).toEqual({ send: 'kernel', receive: 'kernel', lateness: 0 });
        const onWire = wire.get(probeKey(p, o.rid, o.rseq));
        if (onWire !== undefined) errors.push(Math.abs(o.rtt! - onWire));
      }
      // Every reply of ours is on the wire (tcpdump drops none at this rate).
      expect(errors.length, `${p} probes found on the wire`).toBeGreaterThan(replies.length * 0.95);
      const med = median(errors);
      const p99 = quantile(errors, 0.99);
      expect(med, `${p}: median error ${med.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs`).toBeLessThanOrEqual(5);
      expect(p99, `${p}: median error ${med.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs`).toBeLessThanOrEqual(
        50,
      );
    }
  });

  it('marks probes sent without transmit stamps as timed by the process, and they measure longer', async () => {
    const { outcomes, wire } = await measure('process', { txTimestamps: false });
    for (const p of ALL) {
      const replies = outcomes[`process-${p}`]!.filter((o) => o.status === 'reply');
      expect(replies.length, `${p} replies`).toBeGreaterThan(COUNT * 0.95);
      const signed: number[] = [];
      for (const o of replies) {
        expect(o.timing, `${p} seq ${o.rseq}`).toEqual({ send: 'process', receive: 'kernel', lateness: 0 });
        const onWire = wire.get(probeKey(p, o.rid, o.rseq));
        if (onWire !== undefined) signed.push(o.rtt! - onWire);
      }
      // The process's clock is read before sendto: never after the packet reached the wire.
      expect(quantile(signed, 0.01), `${p}`).toBeGreaterThan(0);
    }
  });

  it('gives IPv6 answers the hop limit they arrived with: the target sends 64, the router takes one', async () => {
    const r = await runPlans(
      lab,
      plans('hops').map((p) => ({ ...p, count: 3 })),
    );
    for (const p of ALL) {
      for (const o of r[`hops-${p}`]!) {
        expect(o, `${p} seq ${o.rseq}`).toMatchObject({ status: 'reply', ttl: 63 });
      }
    }
    // Time exceeded from the router itself: its own hop limit, not decremented on the way.
    const exceeded = await runPlans(
      lab,
      plans('ttl1')
        .filter((p) => fam(p.protocol) === 'v6')
        .map((p) => ({ ...p, count: 2, ttl: 1 })),
    );
    for (const p of ALL.filter((x) => fam(x) === 'v6')) {
      for (const o of exceeded[`ttl1-${p}`]!) {
        expect(o, p).toMatchObject({ status: 'ttl-exceeded', address: LAB.router.v6, ttl: 64 });
      }
    }
  });
});
