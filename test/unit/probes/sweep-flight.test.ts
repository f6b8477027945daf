/**
 * A sweep's probes in flight as array slots (sweep-flight.ts), through the real probers: every probe settles
 * exactly once — answered (icmp, icmp6, udp, tcp), timed out at its own deadline, failed when the engine closes —
 * with the outcome an ordinary probe would have had, and nothing is left in the prober's table. Real raw sockets,
 * traffic to loopback only. Root (raw sockets).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProbeEngine } from '../../../agent/probes/engine.js';
import { SweepFlight } from '../../../agent/probes/sweep-flight.js';
import type { ProbeOutcome, ProbeTarget } from '../../../agent/probes/types.js';
import type { Protocol } from '../../../contract/index.js';
import { until } from '../../helpers/until.js';

const isRoot = process.getuid?.() === 0;

/** A sweep over `addresses` whose outcomes are kept per index, with when each came. */
function sweepOf(protocol: Protocol, addresses: readonly string[], port: number | null, timeoutMs: number) {
  const outcomes: ProbeOutcome[][] = addresses.map(() => []);
  const settledAt: number[] = addresses.map(() => 0);
  const flight = new SweepFlight({
    protocol,
    count: addresses.length,
    timeoutMs,
    port,
    address: (i) => addresses[i]!,
    indexOf: (a) => addresses.indexOf(a),
    done: (o) => {
      outcomes[o.rseq]!.push(o);
      settledAt[o.rseq] = performance.now();
    },
  });
  const target = (i: number): ProbeTarget => ({
    protocol,
    address: addresses[i]!,
    port,
    ttl: 64,
    timeout: timeoutMs,
    data: 'sweep',
  });
  const settled = (indexes: readonly number[]) => indexes.every((i) => outcomes[i]!.length > 0);
  return { flight, outcomes, settledAt, target, settled };
}

/** A bound UDP port that echoes datagrams back while `echo.on`, and drops them otherwise. */
async function udpEcho(): Promise<{ socket: dgram.Socket; echo: { on: boolean } }> {
  const echo = { on: true };
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, from) => {
    if (echo.on) socket.send(msg, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, echo };
}

describe.skipIf(!isRoot)('SweepFlight (root, loopback)', () => {
  let engine: ProbeEngine;
  const closers: (() => void)[] = [];

  beforeEach(() => {
    engine = new ProbeEngine({ sourceid: 1 + Math.floor(Math.random() * 65_534) });
  });

  afterEach(() => {
    engine.close();
    for (const close of closers.splice(0)) close();
  });

  it('icmp and icmp6: every address of the sweep answered once, with its index as seq and kernel send stamps', async () => {
    for (const [protocol, addresses] of [
      ['icmp', Array.from({ length: 64 }, (_, i) => `127.77.0.${i + 1}`)],
      ['icmp6', ['::1']],
    ] as const) {
      const prober = await engine.open(protocol, []);
      const s = sweepOf(protocol, addresses, null, 1000);
      for (let i = 0; i < addresses.length; i++) prober.sweep(s.flight, i, s.target(i));
      expect(s.flight.size).toBe(addresses.length);
      await until(`the ${protocol} sweep's replies`, () => s.settled(addresses.map((_, i) => i)), 5000);
      s.outcomes.forEach((calls, i) => {
        expect(calls.length, `${protocol} #${i}`).toBe(1);
        expect(calls[0]).toMatchObject({
          status: 'reply',
          protocol,
          target: addresses[i],
          address: addresses[i],
          rseq: i,
          datamatch: true,
          timing: { send: 'kernel', receive: 'kernel' },
        });
        expect(calls[0]!.rtt).toBeGreaterThan(0);
      });
      expect(s.flight.size).toBe(0);
      s.flight.close();
    }
  });

  it('tcp: a SYN-ACK from an open port and a RST from a closed one settle their sweep probes', async () => {
    const open = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
    closers.push(() => open.close());
    const port = (open.address() as net.AddressInfo).port;
    // 127.0.0.1 listens on the port (SYN-ACK); 127.0.0.2 does not (the wildcard is not bound): RST.
    const addresses = ['127.0.0.1', '127.0.0.2'];
    const prober = await engine.open('tcp', addresses);
    const s = sweepOf('tcp', addresses, port, 1000);
    for (let i = 0; i < addresses.length; i++) prober.sweep(s.flight, i, s.target(i));
    await until('the SYN-ACK and the RST', () => s.settled([0, 1]), 5000);
    expect(s.outcomes.map((calls) => calls.map((o) => o.status))).toEqual([['reply'], ['reset']]);
    expect(s.outcomes[1]![0]).toMatchObject({ target: '127.0.0.2', address: '127.0.0.2', rseq: 1 });
    s.flight.close();
  });

  it('times out the silent probes once each, at their own deadline, past a slot answered and sent again', async () => {
    const { socket, echo } = await udpEcho();
    closers.push(() => socket.close());
    const port = socket.address().port;
    const count = 300;
    // Every index probes the same silent-or-echoing port: the sweep tells them apart by seq and send time.
    const addresses = Array.from({ length: count }, () => '127.0.0.1');
    const prober = await engine.open('udp', ['127.0.0.1']);
    const timeoutMs = 400;
    const s = sweepOf('udp', addresses, port, timeoutMs);
    // Slot 0 answered first: its place at the front of the deadline queue goes stale when it is sent again.
    prober.sweep(s.flight, 0, s.target(0));
    await until('the echo of slot 0', () => s.settled([0]), 5000);
    expect(s.outcomes[0]!.map((o) => o.status)).toEqual(['reply']);
    echo.on = false;
    const sentAt = performance.now();
    for (let i = 1; i < count; i++) prober.sweep(s.flight, i, s.target(i));
    // Slot 0 again, 400 ms later: its deadline is after everyone else's, which must not wait for it.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const resentAt = performance.now();
    prober.sweep(s.flight, 0, s.target(0));
    const all = Array.from({ length: count }, (_, i) => i);
    await until('every timeout', () => all.every((i) => s.outcomes[i]!.length === (i === 0 ? 2 : 1)), 5000);
    for (let i = 1; i < count; i++) {
      expect(
        s.outcomes[i]!.map((o) => o.status),
        `#${i}`,
      ).toEqual(['timeout']);
      expect(s.outcomes[i]![0]!.timing?.send).toBe('kernel');
      const waited = s.settledAt[i]! - sentAt;
      expect(waited, `#${i}`).toBeGreaterThanOrEqual(timeoutMs - 1);
      expect(waited, `#${i} waited for the re-sent slot's deadline`).toBeLessThan(timeoutMs + 300);
    }
    expect(s.outcomes[0]![1]!.status).toBe('timeout');
    expect(s.settledAt[0]! - resentAt).toBeGreaterThanOrEqual(timeoutMs - 1);
    expect(s.flight.size).toBe(0);
    // A reply that comes after all (the echo back on, for a probe long timed out) settles nothing twice.
    echo.on = true;
    s.flight.close();
  });

  it('with a timedOut callback, a silent probe is reported by its index and makes no outcome', async () => {
    const { socket, echo } = await udpEcho();
    echo.on = false;
    closers.push(() => socket.close());
    const prober = await engine.open('udp', ['127.0.0.1']);
    const outcomes: ProbeOutcome[] = [];
    const silent: number[] = [];
    const flight = new SweepFlight({
      protocol: 'udp',
      count: 3,
      timeoutMs: 200,
      port: socket.address().port,
      address: () => '127.0.0.1',
      indexOf: () => -1,
      done: (o) => outcomes.push(o),
      timedOut: (i) => silent.push(i),
    });
    const target: ProbeTarget = {
      protocol: 'udp',
      address: '127.0.0.1',
      port: socket.address().port,
      ttl: 64,
      timeout: 200,
      data: '',
    };
    for (const i of [0, 1, 2]) prober.sweep(flight, i, target);
    await until('the three timeouts', () => silent.length === 3, 5000);
    expect(silent).toEqual([0, 1, 2]);
    expect(outcomes).toEqual([]);
    expect(flight.size).toBe(0);
    flight.close();
  });

  it('a UDP reply without our payload settles the sweep probe to that address and port', async () => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (_msg, from) => socket.send(Buffer.from('its own bytes'), from.port, from.address));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    closers.push(() => socket.close());
    const prober = await engine.open('udp', ['127.0.0.1']);
    const s = sweepOf('udp', ['127.0.0.9', '127.0.0.1'], socket.address().port, 1000);
    prober.sweep(s.flight, 1, s.target(1));
    await until('the reply', () => s.settled([1]), 5000);
    expect(s.outcomes[1]).toMatchObject([
      { status: 'reply', rseq: 1, target: '127.0.0.1', datamatch: false },
    ]);
    s.flight.close();
  });

  it('fails every probe still in flight once when the engine closes, and refuses a slot sent twice', async () => {
    const { socket, echo } = await udpEcho();
    echo.on = false;
    closers.push(() => socket.close());
    const prober = await engine.open('udp', ['127.0.0.1']);
    const s = sweepOf('udp', ['127.0.0.1', '127.0.0.1', '127.0.0.1'], socket.address().port, 60_000);
    for (const i of [0, 1, 2]) prober.sweep(s.flight, i, s.target(i));
    expect(() => prober.sweep(s.flight, 1, s.target(1))).toThrow(/sent again while in flight/);
    engine.close();
    expect(s.outcomes.map((calls) => calls.map((o) => o.status))).toEqual([['error'], ['error'], ['error']]);
    expect(s.outcomes[0]![0]!.detail).toMatch(/engine closed/);
    expect(s.flight.size).toBe(0);
  });
});
