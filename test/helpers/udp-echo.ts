/**
 * A UDP socket on 127.0.0.1 that records and echoes every datagram, so an agent's UDP probes to it are answered
 * and a test can see when (and with what payload) each one reached the wire.
 */
import dgram from 'node:dgram';

export interface UdpEcho {
  port: number;
  /** Every datagram received, with `performance.now()` at its arrival. */
  seen: { at: number; payload: Buffer }[];
  close(): void;
}

/** Binds a recording echo socket on 127.0.0.1 at a free port. */
export async function udpEcho(): Promise<UdpEcho> {
  const socket = dgram.createSocket('udp4');
  const seen: UdpEcho['seen'] = [];
  socket.on('message', (msg, rinfo) => {
    seen.push({ at: performance.now(), payload: msg });
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, seen, close: () => socket.close() };
}
