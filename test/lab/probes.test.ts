/**
 * The probe engine against real packets: all six protocols from the lab's agent namespace to its target through
 * its router, with the target answering by kernel (TCP, UDP port unreachable) or by the lab's responder (echo
 * with delay or corruption), and nft shaping the path. Needs root (network namespaces, raw sockets).
 */

import * as v from 'valibot';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeOutcome } from '../../agent/probes/types.js';
import { type Protocol, ResultInputSchema } from '../../contract/index.js';
import { LAB, Lab } from './lab.js';
import { median, pingRtts, runPlans } from './lab-run.js';
import { blackHole, clearImpairment, induceLoss, rejectAdmin, silenceResets } from './nft.js';
import type { Plan } from './probe-driver.js';
import { ROOT, runToEnd, type Service, startService, tsxArgv } from './process.js';

const UDP_ECHO = 7007;
const UDP_CLOSED = 7009;
const TCP_OPEN = 8080;
const TCP_CLOSED = 8081;
/** Answered by the responder itself (delayed SYN-ACK), the kernel's RSTs silenced. */
const TCP_SYN = 8090;
const DATA = 'lab-payload';

const isRoot = process.getuid?.() === 0;

function fam(protocol: Protocol): 'v4' | 'v6' {
  return protocol.endsWith('6') ? 'v6' : 'v4';
}

let seqBase = 0;

/**
 * A plan to the lab target with sensible defaults. Plans of one run get distinct seq ranges unless told
 * otherwise (so that a mix-up between plans shows as a wrong rseq too).
 */
function plan(name: string, protocol: Protocol, over: Partial<Plan> = {}): Plan {
  seqBase = (seqBase + 1000) & 0xffff;
  const needsPort = !protocol.startsWith('icmp');
  return {
    name,
    protocol,
    address: LAB.target[fam(protocol)],
    port: needsPort ? (protocol.startsWith('udp') ? UDP_ECHO : TCP_OPEN) : null,
    ttl: 64,
    timeout: 1000,
    data: DATA,
    count: 3,
    interval: 10,
    seq: seqBase,
    ...over,
  };
}

const ALL: Protocol[] = ['icmp', 'icmp6', 'udp', 'udp6', 'tcp', 'tcp6'];

describe.skipIf(!isRoot)('probe engine in the lab (root)', () => {
  let lab: Lab;
  let responder: Service | undefined;

  async function respond(...args: string[]): Promise<void> {
    await responder?.stop();
    responder = await startService(
      lab.target,
      tsxArgv('test/lab/responder.ts', [
        '--udp-port',
        `${UDP_ECHO}`,
        '--tcp-port',
        `${TCP_OPEN}`,
        '--syn-port',
        `${TCP_SYN}`,
        ...args,
      ]),
    );
  }

  beforeAll(async () => {
    lab = await Lab.create();
    // The responder answers echo requests, so the target's kernel must not.
    await lab.sysctl(lab.target, 'net.ipv4.icmp_echo_ignore_all=1', 'net.ipv6.icmp.echo_ignore_all=1');
    await silenceResets(lab, TCP_SYN);
    await respond();
  }, 60_000);

  afterEach(async () => {
    await clearImpairment(lab);
  });

  afterAll(async () => {
    await responder?.stop();
    await lab?.destroy();
  });

  it('gets replies over all six protocols, tells open TCP ports from closed, and counts seq across the wrap', async () => {
    const r = await runPlans(lab, [
      ...ALL.map((p) => plan(`reply-${p}`, p, { seq: 65_534, count: 4 })),
      plan('closed-tcp', 'tcp', { port: TCP_CLOSED }),
      plan('closed-tcp6', 'tcp6', { port: TCP_CLOSED }),
    ]);
    for (const p of ALL) {
      const outcomes = r[`reply-${p}`]!;
      expect(outcomes.map((o) => o.rseq)).toEqual([65_534, 65_535, 0, 1]);
      for (const o of outcomes) {
        expect(o).toMatchObject({ status: 'reply', protocol: p, target: LAB.target[fam(p)] });
        expect(o.address).toBe(LAB.target[fam(p)]);
        expect(o.rtt).toBeGreaterThan(0);
        expect(o.rtt).toBeLessThanOrEqual(1_000_000);
        // One router on the way: 64 - 1 (IPv6: the hop limit from IPV6_RECVHOPLIMIT).
        expect(o.ttl).toBe(63);
        expect(o.datamatch).toBe(p.startsWith('tcp') ? null : true);
        expect(BigInt(o.rtime)).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
      }
    }
    expect(r['reply-icmp']![0]).toMatchObject({ rtype: 0, rcode: 0, rid: 4242 });
    expect(r['reply-icmp6']![0]).toMatchObject({ rtype: 129, rcode: 0, rid: 4242 });
    for (const p of ['tcp', 'tcp6'] as const) {
      for (const o of r[`closed-${p}`]!) {
        expect(o).toMatchObject({
          status: 'reset',
          address: LAB.target[fam(p)],
          rtype: null,
          datamatch: null,
        });
      }
    }
  });

  it('reports ttl-exceeded from the router at TTL 1, and a closed UDP port as unreachable', async () => {
    const r = await runPlans(lab, [
      ...ALL.map((p) => plan(`ttl-${p}`, p, { ttl: 1 })),
      plan('closed-udp', 'udp', { port: UDP_CLOSED }),
      plan('closed-udp6', 'udp6', { port: UDP_CLOSED }),
    ]);
    for (const p of ALL) {
      for (const o of r[`ttl-${p}`]!) {
        expect(o).toMatchObject({ status: 'ttl-exceeded', address: LAB.router[fam(p)], datamatch: null });
        // ICMP time exceeded (11/0); ICMPv6 time exceeded (3/0).
        expect([o.rtype, o.rcode]).toEqual(fam(p) === 'v4' ? [11, 0] : [3, 0]);
        expect(o.rtt).toBeGreaterThan(0);
      }
    }
    // Port unreachable: ICMP 3/3, ICMPv6 1/4 — from the target itself.
    for (const o of r['closed-udp']!) {
      expect(o).toMatchObject({ status: 'unreachable', address: LAB.target.v4, rtype: 3, rcode: 3 });
    }
    for (const o of r['closed-udp6']!) {
      expect(o).toMatchObject({ status: 'unreachable', address: LAB.target.v6, rtype: 1, rcode: 4 });
    }
  });

  it('times out on a black-holed target, with several probes in flight', async () => {
    await blackHole(lab);
    // Timeout 300 ms at a 20 ms interval: 15 probes of each target in flight at once.
    const r = await runPlans(
      lab,
      ALL.map((p) => plan(`hole-${p}`, p, { timeout: 300, interval: 20, count: 20 })),
    );
    for (const p of ALL) {
      const outcomes = r[`hole-${p}`]!;
      expect(outcomes).toHaveLength(20);
      for (const o of outcomes) {
        expect(o).toMatchObject({
          status: 'timeout',
          address: null,
          rtt: null,
          rtype: null,
          datamatch: null,
        });
      }
    }
  });

  it('reports an nft reject as unreachable from the router, matched through the quoted datagram', async () => {
    await rejectAdmin(lab);
    const r = await runPlans(
      lab,
      ALL.map((p) => plan(`reject-${p}`, p)),
    );
    for (const p of ALL) {
      for (const o of r[`reject-${p}`]!) {
        // Administratively prohibited: ICMP 3/13, ICMPv6 1/1.
        expect(o).toMatchObject({ status: 'unreachable', address: LAB.router[fam(p)] });
        expect([o.rtype, o.rcode]).toEqual(fam(p) === 'v4' ? [3, 13] : [1, 1]);
      }
    }
  });

  it('measures an induced 10% loss within ±2 points over 3,000 probes per protocol (seq wrapping)', async () => {
    await induceLoss(lab, 10);
    const COUNT = 3000;
    const r = await runPlans(
      lab,
      ALL.map((p) =>
        plan(`loss-${p}`, p, {
          count: COUNT,
          interval: 1,
          // Generous: on a loaded 2-core machine the loop may be descheduled for a while, and an answer read
          // after the timeout is a timeout. Loss is what this test is about, not latency.
          timeout: 3000,
          seq: 64_000,
          port: p.startsWith('udp') ? UDP_CLOSED : p.startsWith('tcp') ? TCP_CLOSED : null,
        }),
      ),
    );
    for (const p of ALL) {
      const outcomes = r[`loss-${p}`]!;
      expect(outcomes).toHaveLength(COUNT);
      outcomes.forEach((o, i) => {
        expect(o.rseq).toBe((64_000 + i) & 0xffff);
        expect(['reply', 'reset', 'unreachable', 'timeout']).toContain(o.status);
      });
      const loss = (100 * outcomes.filter((o) => o.status === 'timeout').length) / COUNT;
      expect(loss, `${p} loss`).toBeGreaterThanOrEqual(8);
      expect(loss, `${p} loss`).toBeLessThanOrEqual(12);
    }
  });

  it('sees a corrupted echo as datamatch false', async () => {
    await respond('--corrupt');
    try {
      const r = await runPlans(
        lab,
        ALL.map((p) => plan(`corrupt-${p}`, p)),
      );
      for (const p of ALL) {
        for (const o of r[`corrupt-${p}`]!) {
          expect(o.status).toBe('reply');
          expect(o.datamatch).toBe(p.startsWith('tcp') ? null : false);
        }
      }
    } finally {
      await respond();
    }
  });

  it('keeps several destinations to one address and protocol apart, with the same seqs in flight at once', async () => {
    // Per protocol, four destinations to the same target address whose seqs start together and advance in
    // step, each with its own data, TTL or port, so that each has its own correct outcome: an answer matched
    // to another destination's probe shows as a wrong status, address, or datamatch false.
    const SEQ = 700;
    const COUNT = 25;
    const same = { seq: SEQ, count: COUNT, interval: 4, start: 0 };
    const plans: Plan[] = [];
    for (const p of ALL) {
      const udp = p.startsWith('udp');
      const tcp = p.startsWith('tcp');
      plans.push(
        plan(`a-${p}`, p, { ...same, data: 'alpha' }),
        plan(`b-${p}`, p, { ...same, data: 'bravo, a longer payload than alpha' }),
        plan(`c-${p}`, p, {
          ...same,
          data: '',
          port: udp ? UDP_CLOSED : tcp ? TCP_CLOSED : null,
        }),
        plan(`d-${p}`, p, { ...same, data: 'delta', ttl: 1 }),
      );
    }
    const r = await runPlans(lab, plans);
    for (const p of ALL) {
      const target = LAB.target[fam(p)];
      const echoes = !p.startsWith('tcp');
      for (const name of [`a-${p}`, `b-${p}`, `c-${p}`, `d-${p}`]) {
        const outcomes = r[name]!;
        expect(
          outcomes.map((o) => o.rseq),
          name,
        ).toEqual(Array.from({ length: COUNT }, (_, i) => SEQ + i));
        for (const o of outcomes) {
          const why = `${name} seq ${o.rseq}`;
          if (name.startsWith('d-')) {
            expect(o, why).toMatchObject({ status: 'ttl-exceeded', address: LAB.router[fam(p)] });
          } else if (name.startsWith('c-') && p.startsWith('udp')) {
            expect(o, why).toMatchObject({ status: 'unreachable', address: target, datamatch: null });
          } else if (name.startsWith('c-') && p.startsWith('tcp')) {
            expect(o, why).toMatchObject({ status: 'reset', address: target, datamatch: null });
          } else {
            // Echoes carry each destination's own data back: datamatch true only if matched to its own probe.
            expect(o, why).toMatchObject({
              status: 'reply',
              address: target,
              datamatch: echoes ? true : null,
            });
          }
        }
      }
    }
  });

  describe('pinger probe', () => {
    const pinger = (...args: string[]) =>
      runToEnd(lab.agent, [process.execPath, `${ROOT}bin/pinger.js`, 'probe', ...args]);

    it('prints a line per probe and a summary, and exits 0 when the target answers', async () => {
      const { code, stdout } = await pinger('-c', '3', '-i', '10', '--data', DATA, LAB.target.v4);
      expect(code).toBe(0);
      expect(
        stdout.match(/^198\.18\.2\.2 seq=\d: reply from 198\.18\.2\.2 ttl=63 time=\d+\.\d{3} ms$/gm),
      ).toHaveLength(3);
      expect(stdout).toMatch(
        /3 sent, 3 received, 0\.0% loss, rtt min\/avg\/max\/stddev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/,
      );
    });

    it('writes Result-shaped JSON lines with --json', async () => {
      const { code, stdout } = await pinger(
        '-p',
        'tcp6',
        '--port',
        `${TCP_CLOSED}`,
        '-c',
        '2',
        '-i',
        '10',
        '--json',
        LAB.target.v6,
      );
      expect(code).toBe(0);
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(3);
      for (const result of lines.slice(0, 2)) {
        // The agent adds the destination id; everything else is already the contract's shape.
        v.parse(ResultInputSchema, { destination: 'dst_cli', ...result });
        expect(result).toMatchObject({ status: 'reset', protocol: 'tcp6', address: LAB.target.v6 });
      }
      expect(lines[2].summary).toMatchObject({ sent: 2, received: 2, loss: 0 });
    });

    it('exits 1 when no target answers', async () => {
      await blackHole(lab);
      // Both lab addresses behind the router, which drops everything towards them.
      const { code, stdout, stderr } = await pinger(
        '-c',
        '2',
        '-i',
        '10',
        '-t',
        '200',
        LAB.target.v4,
        '198.18.2.9',
      );
      expect(code, stderr).toBe(1);
      expect(stdout).toContain('2 sent, 0 received, 100.0% loss');
    });

    it('exits 2 on bad arguments, naming the option and the rule, before sending anything', async () => {
      const cases: [string[], RegExp][] = [
        [['-p', 'udp', LAB.target.v4], /--port: is required for protocol udp/],
        [['--ttl', '256', LAB.target.v4], /--ttl: must be at most 255/],
        [['-p', 'icmp', LAB.target.v6], /TARGET fd00:198:18:2::2: is an IPv6 address but protocol icmp/],
      ];
      const runs = await Promise.all(cases.map(([args]) => pinger(...args)));
      runs.forEach(({ code, stderr }, i) => {
        expect(code, cases[i]![0].join(' ')).toBe(2);
        expect(stderr).toMatch(cases[i]![1]);
        expect(stderr).not.toContain('seq=');
      });
    });

    it('without CAP_NET_RAW, says how to grant it', async () => {
      const { code, stderr } = await runToEnd(lab.agent, [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        process.execPath,
        `${ROOT}bin/pinger.js`,
        'probe',
        LAB.target.v4,
      ]);
      expect(code).toBe(1);
      expect(stderr).toContain('CAP_NET_RAW');
      expect(stderr).toContain('setcap cap_net_raw+ep');
    });
  });

  describe('with 20 ms of added delay', () => {
    beforeAll(async () => {
      await respond('--delay', '20');
    }, 30_000);
    afterAll(async () => {
      await respond();
    }, 30_000);

    // Both tools take reply times from the kernel; the responder stamps requests in the kernel too and holds
    // every answer alike (delay-line.ts). Ours also takes send times from the kernel (transmit stamps), ping from
    // its clock before sendmsg: ping's RTTs are longer by its own send delay, which on a quiet machine is tens of
    // µs and on a loaded one (load 15 while this was written) up to a millisecond at the median. So never longer
    // than ping's by more than 0.2 ms (ping prints 0.1 ms steps), and shorter by at most 1.5 ms; the exact check,
    // each probe against the wire, is test/lab/timing.test.ts. A shared 2-core machine can still stall one side
    // for a moment: a failed comparison gets two more tries.
    it('measures a median RTT at most 0.2 ms above iputils ping on the same path, and not far below', {
      retry: 2,
    }, async () => {
      const COUNT = 300;
      // One protocol at a time beside ping of its family, both crossing the responder at the same time: all six.
      // Both send every 5 ms (four probes each in flight across the 20 ms): the same 300 samples in half the time.
      for (const p of ALL) {
        // TCP probes go to the port whose SYN-ACKs the responder itself sends after the delay.
        const port = p.startsWith('tcp') ? { port: TCP_SYN } : {};
        const [r, ping] = await Promise.all([
          runPlans(lab, [plan(`delay-${p}`, p, { count: COUNT, interval: 5, timeout: 1000, ...port })]),
          pingRtts(lab, [
            ...(fam(p) === 'v6' ? ['-6'] : []),
            '-n',
            '-i',
            '0.005',
            '-c',
            `${COUNT}`,
            LAB.target[fam(p)],
          ]),
        ]);
        expect(ping.length).toBeGreaterThan(COUNT * 0.95);
        const rtts = r[`delay-${p}`]!.filter((o) => o.status === 'reply').map((o) => o.rtt! / 1000);
        expect(rtts.length).toBeGreaterThan(COUNT * 0.95);
        const reference = median(ping);
        expect(reference).toBeGreaterThanOrEqual(20);
        // iputils prints RTTs of 10–100 ms with 0.1 ms resolution: its median is exact to ±0.05 ms.
        const why = `${p}: ours ${median(rtts)} ms, ping ${reference} ms`;
        expect(median(rtts) - reference, why).toBeLessThan(0.2);
        expect(median(rtts) - reference, why).toBeGreaterThan(-1.5);
      }
    });

    it('never takes a late answer to an earlier send of a seq for the current one', async () => {
      // The first send of seq 500 times out after 5 ms; its reply comes 20 ms after it, i.e. 10 ms after the
      // second send of seq 500. Matched wrongly, the second would show ~10 ms; matched rightly, ~20 ms. A warm-up
      // probe per protocol first, so that first-use costs (V8 compiling each path) do not delay the first send.
      const cases: Protocol[] = ['icmp', 'icmp6', 'udp', 'udp6'];
      const r = await runPlans(
        lab,
        cases.flatMap((p) => [
          plan(`warm-${p}`, p, { seq: 100, count: 1 }),
          plan(`first-${p}`, p, { seq: 500, count: 1, timeout: 5, start: 50 }),
          plan(`second-${p}`, p, { seq: 500, count: 1, timeout: 500, start: 60 }),
        ]),
      );
      for (const p of cases) {
        expect(r[`first-${p}`]![0]!.status).toBe('timeout');
        const second = r[`second-${p}`]![0] as ProbeOutcome;
        expect(second.status, `${p}: ${JSON.stringify(second)}`).toBe('reply');
        expect(second.rtt!).toBeGreaterThan(19_500);
      }
    });
  });
});
