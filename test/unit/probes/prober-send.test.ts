/**
 * `Prober.send` calls its callback exactly once on every path a probe can take: an answer (echo reply, SYN-ACK,
 * RST, a UDP echo), an ICMP error quoting it, its timeout, a refused target, a send on a closed socket, and the
 * engine closing under it. Real raw sockets, traffic to loopback only. Root (raw sockets).
 *
 * "Exactly once" needs a bound on when a second call could still come: each test ends by waiting for a sentinel
 * probe sent last with the longest timeout to time out, by which time every earlier deadline has passed and the
 * table's sweep has run over it.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProbeEngine } from '../../../agent/probes/engine.js';
import type { ProbeOutcome, Prober, ProbeTarget } from '../../../agent/probes/types.js';
import type { Protocol } from '../../../contract/index.js';
import { until } from '../../helpers/until.js';

const isRoot = process.getuid?.() === 0;

/** Every call of one probe's callback, and whether the first came before `send` returned. */
interface Tracked {
  calls: ProbeOutcome[];
  synchronous: boolean;
}

function track(prober: Prober, target: ProbeTarget, seq: number): Tracked {
  const tracked: Tracked = { calls: [], synchronous: false };
  let returned = false;
  prober.send(target, seq, (outcome) => {
    if (!returned && tracked.calls.length === 0) tracked.synchronous = true;
    tracked.calls.push(outcome);
  });
  returned = true;
  return tracked;
}

function target(protocol: Protocol, address: string, over: Partial<ProbeTarget> = {}): ProbeTarget {
  return { protocol, address, port: null, ttl: 64, timeout: 1000, data: 'exactly-once', ...over };
}

/** A bound UDP port that never answers (datagrams to it are read and dropped). */
async function silentUdpPort(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  socket.on('message', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

/** A UDP port that echoes every datagram back. */
async function udpEcho(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

/** A TCP port nothing listens on: bound by a listener that is closed again at once. */
async function closedTcpPort(address: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!isRoot)('Prober.send settles every probe exactly once (root, loopback)', () => {
  let engine: ProbeEngine;
  const closers: (() => void)[] = [];

  beforeEach(() => {
    engine = new ProbeEngine({ sourceid: 1 + Math.floor(Math.random() * 65_534) });
  });

  afterEach(() => {
    engine.close();
    for (const close of closers.splice(0)) close();
  });

  /** Waits until every probe has been called back, then past all their deadlines; each must have one call. */
  async function settleAll(probes: Tracked[], longestTimeoutMs: number): Promise<void> {
    await until(
      () => `every probe to be called back (${probes.filter((p) => p.calls.length === 0).length} not yet)`,
      () => probes.every((p) => p.calls.length > 0),
      longestTimeoutMs + 5000,
    );
    const silent = await silentUdpPort('udp4', '127.0.0.1');
    closers.push(() => silent.close());
    const udp = await engine.open('udp', ['127.0.0.1']);
    const sentinel = track(
      udp,
      target('udp', '127.0.0.1', { port: silent.address().port, timeout: longestTimeoutMs + 50 }),
      60_000,
    );
    await until('the sentinel probe to time out', () => sentinel.calls.length > 0, longestTimeoutMs + 5000);
    expect(sentinel.calls.map((o) => o.status)).toEqual(['timeout']);
    for (const p of probes) expect(p.calls.length, JSON.stringify(p.calls)).toBe(1);
  }

  it('answers: echo replies (icmp, icmp6), a UDP echo, SYN-ACK and RST (tcp, tcp6) — never synchronously', async () => {
    const echo4 = await udpEcho('udp4', '127.0.0.1');
    const echo6 = await udpEcho('udp6', '::1');
    closers.push(
      () => echo4.close(),
      () => echo6.close(),
    );
    const open4 = net.createServer((s) => s.destroy());
    const open6 = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => open4.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => open6.listen(0, '::1', resolve));
    closers.push(
      () => open4.close(),
      () => open6.close(),
    );
    const [closed4, closed6] = [await closedTcpPort('127.0.0.1'), await closedTcpPort('::1')];
    const cases: [Protocol, string, number | null, ProbeOutcome['status']][] = [
      ['icmp', '127.0.0.1', null, 'reply'],
      ['icmp6', '::1', null, 'reply'],
      ['udp', '127.0.0.1', echo4.address().port, 'reply'],
      ['udp6', '::1', echo6.address().port, 'reply'],
      ['tcp', '127.0.0.1', (open4.address() as net.AddressInfo).port, 'reply'],
      ['tcp6', '::1', (open6.address() as net.AddressInfo).port, 'reply'],
      ['tcp', '127.0.0.1', closed4, 'reset'],
      ['tcp6', '::1', closed6, 'reset'],
    ];
    const probes: Tracked[] = [];
    for (const [protocol, address, port] of cases) {
      const prober = await engine.open(protocol, [address]);
      probes.push(track(prober, target(protocol, address, { port, timeout: 300 }), 7));
    }
    await settleAll(probes, 300);
    probes.forEach((p, i) => {
      const [protocol, address, port, status] = cases[i]!;
      expect(p.synchronous, `${protocol} ${port}`).toBe(false);
      expect(p.calls[0], `${protocol} ${port}`).toMatchObject({ status, protocol, target: address, rseq: 7 });
      expect(p.calls[0]!.rtt).toBeGreaterThan(0);
    });
    // Echoes carry our payload back: the data matches.
    for (const i of [0, 1, 2, 3]) expect(probes[i]!.calls[0]!.datamatch).toBe(true);
  });

  it('an ICMP port unreachable quoting the probe (udp, udp6 to a closed port), and a timeout', async () => {
    const udp4 = await silentUdpPort('udp4', '127.0.0.1');
    const udp6 = await silentUdpPort('udp6', '::1');
    closers.push(
      () => udp4.close(),
      () => udp6.close(),
    );
    const probes: Tracked[] = [];
    const expected: ProbeOutcome['status'][] = [];
    for (const [protocol, address, silent] of [
      ['udp', '127.0.0.1', udp4],
      ['udp6', '::1', udp6],
    ] as const) {
      const prober = await engine.open(protocol, [address]);
      // A port nothing is bound to: bind one, note it, and let it go.
      const gone = await silentUdpPort(protocol === 'udp' ? 'udp4' : 'udp6', address);
      const closedPort = gone.address().port;
      await new Promise<void>((resolve) => gone.close(resolve));
      probes.push(track(prober, target(protocol, address, { port: closedPort, timeout: 200 }), 1));
      expected.push('unreachable');
      probes.push(track(prober, target(protocol, address, { port: silent.address().port, timeout: 200 }), 2));
      expected.push('timeout');
    }
    await settleAll(probes, 200);
    expect(probes.map((p) => p.calls[0]!.status)).toEqual(expected);
    expect(probes[0]!.calls[0]).toMatchObject({ address: '127.0.0.1', rtype: 3, rcode: 3 });
    expect(probes[2]!.calls[0]).toMatchObject({ address: '::1', rtype: 1, rcode: 4 });
  });

  it('a refused target: at once, status error, naming why', async () => {
    const probes: [Tracked, RegExp][] = [];
    const refuse = async (protocol: Protocol, t: Partial<ProbeTarget>, seq: number, why: RegExp) => {
      const address = t.address ?? '127.0.0.1';
      // With the source towards the target known (UDP/TCP over IPv4), as the agent opens its probers.
      const prober = await engine.open(protocol, net.isIP(address) === 4 ? [address] : []);
      probes.push([track(prober, target(protocol, '127.0.0.1', t), seq), why]);
    };
    await refuse('icmp', { address: '::1' }, 1, /not an IPv4 address: ::1/);
    await refuse('icmp6', { address: '127.0.0.1' }, 1, /not an IPv6 address/);
    await refuse('icmp', { address: 'localhost' }, 1, /not an IPv4 address/);
    await refuse('icmp', {}, 70_000, /seq/);
    await refuse('icmp', { data: 'x'.repeat(70_000) }, 1, /./);
    await refuse('udp', { port: null }, 1, /udp needs a destination port/);
    await refuse('udp', { port: 7 }, -1, /seq/);
    await refuse('tcp', { port: null }, 1, /tcp needs a destination port/);
    await refuse('tcp', { port: 7 }, 65_536, /seq must be an integer 0–65535/);
    await refuse('tcp6', { address: '::1', port: 70_000 }, 1, /port/i);
    for (const [p, why] of probes) {
      expect(p.synchronous, `${why} ${JSON.stringify(p.calls)}`).toBe(true);
      expect(p.calls.length).toBe(1);
      expect(p.calls[0]).toMatchObject({ status: 'error', address: null, rtt: null });
      expect(p.calls[0]!.detail).toMatch(why);
    }
    await settleAll(
      probes.map(([p]) => p),
      50,
    );
  });

  it('the engine closing under probes in flight, and a send on the closed engine', async () => {
    const silent = await silentUdpPort('udp4', '127.0.0.1');
    closers.push(() => silent.close());
    const icmp = await engine.open('icmp');
    const udp = await engine.open('udp', ['127.0.0.1']);
    const tcp = await engine.open('tcp', ['127.0.0.1']);
    const inFlight = [
      // A reply may come before the close: either way, once.
      track(icmp, target('icmp', '127.0.0.1'), 1),
      track(udp, target('udp', '127.0.0.1', { port: silent.address().port, timeout: 150 }), 1),
      track(udp, target('udp', '127.0.0.1', { port: silent.address().port, timeout: 150 }), 2),
    ];
    engine.close();
    for (const p of inFlight.slice(1)) {
      expect(p.calls.map((o) => [o.status, o.detail])).toEqual([['error', '[probes] engine closed']]);
    }
    // The probers outlive the engine that made them: a send now fails at once, as an outcome.
    const late = [
      track(icmp, target('icmp', '127.0.0.1', { timeout: 150 }), 3),
      track(udp, target('udp', '127.0.0.1', { port: silent.address().port, timeout: 150 }), 3),
      track(tcp, target('tcp', '127.0.0.1', { port: 7, timeout: 150 }), 3),
    ];
    for (const p of late) {
      expect(p.synchronous).toBe(true);
      expect(p.calls[0]).toMatchObject({ status: 'error' });
      expect(p.calls[0]!.detail).toMatch(/socket is closed/);
    }
    // The sentinel needs an open engine: past 150 ms nothing above may be called again.
    engine = new ProbeEngine({ sourceid: 1 + Math.floor(Math.random() * 65_534) });
    await settleAll([...inFlight, ...late], 150);
  });

  it('a UDP probe sent before the source port is bound waits for it, and a route lookup for an unseen target', async () => {
    const echo = await udpEcho('udp4', '127.0.0.1');
    closers.push(() => echo.close());
    // prober(), not open(): nothing awaited, so the port is not bound and 127.0.0.1's source not looked up yet.
    const udp = engine.prober('udp');
    const tcp = engine.prober('tcp');
    const probes = [
      track(udp, target('udp', '127.0.0.1', { port: echo.address().port, timeout: 500 }), 5),
      track(tcp, target('tcp', '127.0.0.2', { port: await closedTcpPort('127.0.0.1'), timeout: 500 }), 5),
    ];
    expect(probes.every((p) => !p.synchronous)).toBe(true);
    await settleAll(probes, 500);
    expect(probes[0]!.calls[0]).toMatchObject({ status: 'reply', datamatch: true });
    // Nothing listens on 127.0.0.2 at that port: the kernel resets.
    expect(probes[1]!.calls[0]).toMatchObject({ status: 'reset', address: '127.0.0.2' });
  });

  it('a UDP reply without our payload settles the oldest probe to that address and port, each once', async () => {
    // Services that answer with bytes of their own, on two ports of one address: the index is per (address, port).
    const servers = await Promise.all(
      ['pong-a', 'pong-b'].map(async (answer) => {
        const socket = dgram.createSocket('udp4');
        socket.on('message', (_msg, from) => socket.send(answer, from.port, from.address));
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        closers.push(() => socket.close());
        return socket;
      }),
    );
    const udp = await engine.open('udp', ['127.0.0.1']);
    const probes: Tracked[] = [];
    for (let seq = 0; seq < 6; seq++) {
      const port = servers[seq % 2]!.address().port;
      probes.push(track(udp, target('udp', '127.0.0.1', { port, timeout: 500 }), seq));
    }
    await settleAll(probes, 500);
    for (const [seq, p] of probes.entries()) {
      expect(p.calls[0], `seq ${seq}`).toMatchObject({ status: 'reply', rseq: seq, datamatch: false });
    }
  });
});
