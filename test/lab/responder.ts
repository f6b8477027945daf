/**
 * The lab's userland responder, run inside the target namespace (this kernel has no netem to delay packets):
 * answers ICMP / ICMPv6 echo requests and UDP datagrams itself, after `--delay` ms, optionally corrupting the
 * last byte of what it echoes (`--corrupt`) so that a prober's payload check must fail; `--tcp-port` opens a TCP
 * listener (v4 and v6) so that a SYN finds an open port. The kernel's own echo
 * replies must be off in the namespace (net.ipv4.icmp_echo_ignore_all=1, net.ipv6.icmp.echo_ignore_all=1).
 *
 *   ip netns exec NS node --import tsx test/lab/responder.ts [--delay MS] [--corrupt] [--udp-port N] [--tcp-port N]
 *
 * Prints `ready` once its sockets are open; exits on SIGTERM or when stdin closes.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import raw from 'raw-socket';
import { internetChecksum } from '../../agent/packets/checksum.js';

const { values } = parseArgs({
  options: {
    delay: { type: 'string', default: '0' },
    corrupt: { type: 'boolean', default: false },
    'udp-port': { type: 'string' },
    'tcp-port': { type: 'string' },
  },
});
const delayNs = BigInt(Math.round(Number(values.delay) * 1e6));
const corrupt = values.corrupt;

/**
 * Runs `action` `delayNs` after `since`: a timer gets close, then the loop spins on setImmediate for the last
 * stretch, since a timer alone fires up to a millisecond late and the RTT tests compare to 0.2 ms.
 */
function after(since: bigint, action: () => void): void {
  if (delayNs === 0n) {
    action();
    return;
  }
  const due = since + delayNs;
  const spin = () => {
    if (process.hrtime.bigint() >= due) action();
    else setImmediate(spin);
  };
  const coarseMs = Number(delayNs / 1_000_000n) - 2;
  if (coarseMs > 0) setTimeout(spin, coarseMs);
  else spin();
}

function maybeCorrupt(message: Buffer, from: number): void {
  if (corrupt && message.length > from) message[message.length - 1]! ^= 0xff;
}

const icmp4 = raw.createSocket({ protocol: raw.Protocol.ICMP, addressFamily: raw.AddressFamily.IPv4 });
icmp4.on('message', (packet: Buffer, source: string) => {
  const at = process.hrtime.bigint();
  const ihl = (packet[0]! & 0x0f) * 4;
  if (packet[ihl] !== 8) return; // echo requests only
  const reply = Buffer.from(packet.subarray(ihl));
  reply[0] = 0;
  maybeCorrupt(reply, 8);
  reply.writeUInt16BE(0, 2);
  reply.writeUInt16BE(internetChecksum(reply), 2);
  after(at, () => icmp4.send(reply, 0, reply.length, source, () => undefined));
});

const icmp6 = raw.createSocket({ protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 });
icmp6.on('message', (packet: Buffer, source: string) => {
  const at = process.hrtime.bigint();
  if (packet[0] !== 128) return; // echo requests only; no IPv6 header on raw ICMPv6 sockets
  const reply = Buffer.from(packet);
  reply[0] = 129;
  maybeCorrupt(reply, 8);
  // The kernel computes ICMPv6 checksums on raw ICMPv6 sockets.
  reply.writeUInt16BE(0, 2);
  after(at, () => icmp6.send(reply, 0, reply.length, source, () => undefined));
});

const sockets: { close(): unknown }[] = [];
let waiting = 1;
const opened = () => {
  if (--waiting === 0) process.stdout.write('ready\n');
};
if (values['udp-port']) {
  const port = Number(values['udp-port']);
  for (const type of ['udp4', 'udp6'] as const) {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    socket.on('message', (message, remote) => {
      const at = process.hrtime.bigint();
      const reply = Buffer.from(message);
      maybeCorrupt(reply, 0);
      after(at, () => socket.send(reply, remote.port, remote.address));
    });
    waiting++;
    socket.bind(port, type === 'udp4' ? '0.0.0.0' : '::', opened);
    sockets.push(socket);
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

function stop(): void {
  icmp4.close();
  icmp6.close();
  for (const s of sockets) s.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
