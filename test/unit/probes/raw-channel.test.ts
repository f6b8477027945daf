/**
 * The raw channel's receive times come from the kernel (SO_TIMESTAMPNS through agent/native), not from the moment
 * the process gets round to reading: a reply that arrives while the process is busy keeps its arrival time.
 * Root: raw sockets, echoes to loopback only.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeIcmpv4Echo } from '../../../agent/packets/icmp.js';
import { encodeIcmpv6Echo } from '../../../agent/packets/icmp6.js';
import { type ChannelKind, missingAddonFunctions, RawChannel } from '../../../agent/probes/raw-channel.js';
import { until } from '../../helpers/until.js';

const BUSY_NS = 20_000_000n;

describe('raw channel receive timestamps', () => {
  it('come from the kernel on every kind of channel', () => {
    for (const kind of ['icmp4', 'icmp6', 'udp4', 'udp6', 'tcp4', 'tcp6'] as ChannelKind[]) {
      const channel = new RawChannel(kind, () => {});
      try {
        expect(channel.timestamps, kind).toBe('kernel');
      } finally {
        channel.close();
      }
    }
  });

  it.each([
    ['icmp4', '127.0.0.1'],
    ['icmp6', '::1'],
  ] as const)(
    '%s: each send gets its own kernel transmit stamp, after the process clock and before the reply',
    async (kind, address) => {
      const id = (process.pid ^ 0x3c3c) & 0xffff;
      const replies = new Map<number, { receivedAt: bigint; receivedReal: number; hopLimit: number }>();
      const channel = new RawChannel(
        kind,
        (packet, _source, receivedAt, receivedReal, hopLimit) => {
          const at = kind === 'icmp4' ? (packet[0]! & 0x0f) * 4 : 0;
          if (packet[at] === (kind === 'icmp4' ? 0 : 129) && packet.readUInt16BE(at + 4) === id)
            replies.set(packet.readUInt16BE(at + 6), { receivedAt, receivedReal, hopLimit });
        },
        [kind === 'icmp4' ? 0 : 129],
        { txTimestamps: true },
      );
      const plain = new RawChannel(kind, () => {});
      try {
        expect(channel.txTimestamps).toBe('kernel');
        // Off unless asked: a channel such as the lab responder's has no use for them.
        expect(plain.txTimestamps).toBe('process');
        const sends = [1, 2, 3, 4, 5].map((seq) => {
          // The tag given with each send comes back with its stamp.
          const stamped = {
            txReal: 0,
            tag: -1,
            sentAt: 0n,
            txStamped(real: number, tag: number) {
              this.txReal = real;
              this.tag = tag;
            },
          };
          const request = kind === 'icmp4' ? encodeIcmpv4Echo({ id, seq }) : encodeIcmpv6Echo({ id, seq });
          channel.send(
            request,
            address,
            64,
            (err, at) => {
              expect(err).toBeNull();
              stamped.sentAt = at;
            },
            request.length,
            undefined,
            stamped,
            seq,
          );
          return stamped;
        });
        await until(`the ${kind} echo replies`, () => replies.size === sends.length, 5_000);
        channel.pollTxStamps();
        expect(channel.txStamps).toBe(sends.length);
        expect(channel.txUnmatched).toBe(0);
        sends.forEach((s, i) => {
          const reply = replies.get(i + 1)!;
          // Every send stamped, in send order, each before its own reply on the same (wall) clock.
          expect(s.txReal, `seq ${i + 1}`).toBeGreaterThan(0);
          expect(s.tag).toBe(i + 1);
          if (i > 0) expect(s.txReal).toBeGreaterThan(sends[i - 1]!.txReal);
          expect(reply.receivedReal).toBeGreaterThan(s.txReal);
          // The kernel's send-to-arrival is within the process's (send clock read first, arrival the same stamp).
          expect(reply.receivedReal - s.txReal).toBeLessThanOrEqual(
            Number(reply.receivedAt - s.sentAt) + 1000,
          );
          // Loopback: the reply keeps the hop limit it was sent with (IPv6 only; IPv4 reads it from the header).
          expect(reply.hopLimit).toBe(kind === 'icmp6' ? 64 : -1);
        });
      } finally {
        channel.close();
        plain.close();
      }
    },
  );

  it.each([
    ['icmp4', '127.0.0.1'],
    ['icmp6', '::1'],
  ] as const)('%s: a reply read 20 ms late keeps its arrival time', async (kind, address) => {
    const id = (process.pid ^ 0x5a5a) & 0xffff;
    const arrivals = new Map<number, { receivedAt: bigint; readAt: bigint }>();
    const channel = new RawChannel(
      kind,
      (packet, _source, receivedAt) => {
        const at = kind === 'icmp4' ? (packet[0]! & 0x0f) * 4 : 0;
        if (packet[at] === (kind === 'icmp4' ? 0 : 129) && packet.readUInt16BE(at + 4) === id) {
          arrivals.set(packet.readUInt16BE(at + 6), { receivedAt, readAt: process.hrtime.bigint() });
        }
      },
      [kind === 'icmp4' ? 0 : 129],
    );
    /** One echo, the thread kept busy for `busyNs` after the send: only the kernel's stamp knows when it came. */
    const echo = async (seq: number, busyNs: bigint) => {
      const request = kind === 'icmp4' ? encodeIcmpv4Echo({ id, seq }) : encodeIcmpv6Echo({ id, seq });
      let sentAt = 0n;
      channel.send(request, address, 64, (err, at) => {
        expect(err).toBeNull();
        sentAt = at;
      });
      const busyUntil = process.hrtime.bigint() + busyNs;
      while (process.hrtime.bigint() < busyUntil) {}
      await until(`the ${kind} echo reply ${seq} from ${address}`, () => arrivals.has(seq), 5_000);
      return { sentAt, ...arrivals.get(seq)! };
    };
    try {
      // Linux turns receive timestamps on for the whole system lazily, from a workqueue, when the first socket
      // asks: a packet that arrives before then is stamped when read. Wait for stamps to come in before measuring
      // (a machine where nothing else holds them on, and the channel is opened just before the echo, is exactly
      // that case).
      let seq = 0;
      await until('the kernel to stamp arrivals', async () => {
        const { sentAt, receivedAt } = await echo(++seq, 2_000_000n);
        return receivedAt - sentAt < 1_000_000n;
      });

      const { sentAt, receivedAt, readAt } = await echo(++seq, BUSY_NS);
      expect(sentAt).toBeGreaterThan(0n);
      expect(readAt - sentAt).toBeGreaterThanOrEqual(BUSY_NS);
      expect(receivedAt).toBeGreaterThan(sentAt);
      // Loopback answers within microseconds; 5 ms leaves room for a loaded machine and is still 4× under the
      // time the reply waited to be read.
      expect(receivedAt - sentAt).toBeLessThan(5_000_000n);
    } finally {
      channel.close();
    }
  });

  it('a channel closed by its own handler reads nothing more, not even from a socket that took its descriptor', async () => {
    const id = (process.pid ^ 0x3c3c) & 0xffff;
    const ours = (packet: Buffer, seq?: number) => {
      const at = (packet[0]! & 0x0f) * 4;
      return packet.readUInt16BE(at + 4) === id && (seq === undefined || packet.readUInt16BE(at + 6) === seq);
    };
    let closed = false;
    let readAfterClose = 0;
    let next: RawChannel | undefined;
    let nextRead = 0;
    const channel = new RawChannel('icmp4', (packet) => {
      if (closed) readAfterClose++;
      if (closed || !ours(packet)) return;
      closed = true;
      channel.close();
      // The lowest free descriptor is the one just closed: the new socket takes it, and loopback puts its
      // echo (request and reply) in that socket before send returns.
      next = new RawChannel('icmp4', (p) => {
        if (ours(p, 9)) nextRead++;
      });
      next.send(encodeIcmpv4Echo({ id, seq: 9 }), '127.0.0.1', 64, () => {});
    });
    try {
      // Two echoes queue four packets: the handler closes the channel on the first.
      for (const seq of [1, 2]) channel.send(encodeIcmpv4Echo({ id, seq }), '127.0.0.1', 64, () => {});
      await until(
        'the new socket or the closed channel to read the new echo',
        () => nextRead >= 2 || readAfterClose > 0,
        5_000,
      );
      expect(readAfterClose).toBe(0);
      expect(nextRead).toBe(2);
    } finally {
      channel.close();
      next?.close();
    }
  });
});

describe('the native addon in a checkout where it was not built', () => {
  it('fails to load with one message naming the file and the command that builds it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pinger-native-'));
    try {
      const loader = join(dir, 'index.cjs');
      await copyFile(new URL('../../../agent/native/index.cjs', import.meta.url), loader);
      let error: unknown;
      try {
        createRequire(import.meta.url)(loader);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('AddonLoadError');
      expect((error as Error).message).toContain(join(dir, 'build/Release/pinger_native.node'));
      expect((error as Error).message).toContain('`npm run install`');
      expect((error as Error).message).toContain('Cannot find module');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('raw channel addon check', () => {
  it('names the functions a stale addon lacks', () => {
    const current = createRequire(import.meta.url)('../../../agent/native/index.cjs') as object;
    expect(missingAddonFunctions(current)).toEqual([]);
    const { sendTo: _gone, ...older } = current as Record<string, unknown>;
    expect(missingAddonFunctions(older)).toEqual(['sendTo']);
  });
});
