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
import { internetChecksum } from '../../agent/packets/checksum.js';
import { RawChannel } from '../../agent/probes/raw-channel.js';

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
 * Runs `action` at least `--delay` ms after `since` (when the request was read). A plain timer, rounded up to
 * Node's whole milliseconds: the delay lands between N and N + 1 ms. Spinning for precision would take CPU from
 * the processes being measured, and the RTT tests compare against iputils ping crossing the same responder at
 * the same time, so the spread does not matter to them.
 */
function after(since: bigint, action: () => void): void {
  if (delayNs === 0n) {
    action();
    return;
  }
  const remainingMs = Number(since + delayNs - process.hrtime.bigint()) / 1e6;
  setTimeout(action, Math.max(1, Math.ceil(remainingMs)));
}

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
