/**
 * The lab's userland responder, run inside the target namespace (this kernel has no netem to delay packets):
 * answers ICMP / ICMPv6 echo requests and UDP datagrams itself, after `--delay` ms, optionally corrupting the
 * last byte of what it echoes (`--corrupt`) so that a prober's payload check must fail; `--tcp-port` opens a TCP
 * listener (v4 and v6) so that a SYN finds an open port; `--syn-port` answers SYNs to that port itself with a
 * SYN-ACK after the delay (raw TCP socket; the kernel's own RSTs for that closed port must be dropped with nft,
 * see `silenceResets` in nft.ts), so that TCP probes cross the same delay as echoes. The kernel's own echo
 * replies must be off in the namespace (net.ipv4.icmp_echo_ignore_all=1, net.ipv6.icmp.echo_ignore_all=1).
 *
 *   ip netns exec NS node --import tsx test/lab/responder.ts [--delay MS] [--corrupt] [--udp-port N] [--tcp-port N]
 *     [--syn-port N]
 *
 * Prints `ready` once its sockets are open; exits on SIGTERM or when stdin closes.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { parseIpv4 } from '../../agent/packets/address.js';
import { internetChecksum } from '../../agent/packets/checksum.js';
import { decodeIpv4Header } from '../../agent/packets/ipv4.js';
import { decodeTcp, encodeTcp, TCP_FLAGS } from '../../agent/packets/tcp.js';
import { RawChannel } from '../../agent/probes/raw-channel.js';
import { DelayLine } from './delay-line.js';

const V6_PLACEHOLDER = new Uint8Array(16);

const { values } = parseArgs({
  options: {
    delay: { type: 'string', default: '0' },
    corrupt: { type: 'boolean', default: false },
    'udp-port': { type: 'string' },
    'tcp-port': { type: 'string' },
    'syn-port': { type: 'string' },
  },
});
const corrupt = values.corrupt;

/** Holds each answer `--delay` ms after its request was read (see delay-line.ts for why not a timer). */
const delay = new DelayLine(Number(values.delay));
const after = (since: bigint, action: () => void) => delay.after(since, action);

function maybeCorrupt(message: Buffer, from: number): void {
  if (corrupt && message.length > from) message[message.length - 1]! ^= 0xff;
}

// The engine's own channel: drains the socket per wake-up, sends synchronously, large receive buffer — so that
// the responder keeps up with the lab's loss test on a loaded machine.
const icmp4: RawChannel = new RawChannel(
  'icmp4',
  (packet, source, at) => {
    const ihl = (packet[0]! & 0x0f) * 4;
    if (packet[ihl] !== 8) return; // echo requests only
    const reply = Buffer.from(packet.subarray(ihl));
    reply[0] = 0;
    maybeCorrupt(reply, 8);
    reply.writeUInt16BE(0, 2);
    reply.writeUInt16BE(internetChecksum(reply), 2);
    after(at, () => icmp4.send(reply, source, 64, ignore));
  },
  [8],
);

const icmp6: RawChannel = new RawChannel(
  'icmp6',
  (packet, source, at) => {
    // No IPv6 header on raw ICMPv6 sockets; the kernel computes ICMPv6 checksums on them.
    const reply = Buffer.from(packet);
    reply[0] = 129;
    maybeCorrupt(reply, 8);
    reply.writeUInt16BE(0, 2);
    after(at, () => icmp6.send(reply, source, 64, ignore));
  },
  [128],
);

function ignore(): void {}

const synChannels: RawChannel[] = [];
if (values['syn-port']) {
  const synPort = Number(values['syn-port']);
  for (const kind of ['tcp4', 'tcp6'] as const) {
    const channel: RawChannel = new RawChannel(kind, (packet, source, at) => {
      let offset = 0;
      let addresses: { src: Uint8Array; dst: Uint8Array } = { src: V6_PLACEHOLDER, dst: V6_PLACEHOLDER };
      if (kind === 'tcp4') {
        const ip = decodeIpv4Header(packet);
        offset = ip.payloadOffset;
        addresses = { src: parseIpv4(ip.dst), dst: parseIpv4(ip.src) };
      }
      const syn = decodeTcp(packet, offset);
      if (syn.dstPort !== synPort || syn.flags !== TCP_FLAGS.SYN) return;
      const synAck = encodeTcp(
        {
          srcPort: synPort,
          dstPort: syn.srcPort,
          seq: 1,
          ack: (syn.seq + 1) >>> 0,
          flags: TCP_FLAGS.SYN | TCP_FLAGS.ACK,
          window: 64_240,
          options: { mss: 1460 },
        },
        addresses,
      );
      after(at, () => channel.send(synAck, source, 64, ignore));
    });
    // IPv6 raw sockets compute the TCP checksum themselves when asked (IPV6_CHECKSUM at offset 16).
    if (kind === 'tcp6') channel.setOption(41, 7, 16);
    synChannels.push(channel);
  }
}

const sockets: { close(): unknown }[] = [];
let waiting = 1;
const opened = () => {
  if (--waiting === 0) process.stdout.write('ready\n');
};
if (values['udp-port']) {
  const port = Number(values['udp-port']);
  for (const type of ['udp4', 'udp6'] as const) {
    // The bound socket takes the datagrams (no port unreachable) and sends the echoes; the request's arrival
    // time comes from a raw UDP socket's copy of it, stamped by the kernel like the ICMP requests above, so that
    // a late wake-up of this process does not lengthen the UDP delay.
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    socket.on('message', () => {});
    const copies: RawChannel = new RawChannel(type, (packet, source, at) => {
      // IPv4 raw sockets deliver the IP header; IPv6 ones start at the UDP header.
      const udp = type === 'udp4' ? (packet[0]! & 0x0f) * 4 : 0;
      if (packet.length < udp + 8 || packet.readUInt16BE(udp + 2) !== port) return;
      const sourcePort = packet.readUInt16BE(udp); // `packet` is only valid during this call
      const reply = Buffer.from(packet.subarray(udp + 8));
      maybeCorrupt(reply, 0);
      after(at, () => socket.send(reply, sourcePort, source));
    });
    waiting++;
    socket.bind(port, type === 'udp4' ? '0.0.0.0' : '::', opened);
    sockets.push(socket, copies);
  }
}
if (values['tcp-port']) {
  const port = Number(values['tcp-port']);
  for (const host of ['0.0.0.0', '::']) {
    const server = net.createServer((connection) => connection.destroy());
    waiting++;
    server.listen({ port, host, ipv6Only: host === '::', backlog: 4096 }, opened);
    sockets.push(server);
  }
}
opened();

let stopping = false;
function stop(): void {
  // SIGTERM and the end of stdin can both come; a second close of a dgram socket would throw.
  if (stopping) return;
  stopping = true;
  icmp4.close();
  icmp6.close();
  for (const c of synChannels) c.close();
  for (const s of sockets) s.close();
  void delay.close().finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
