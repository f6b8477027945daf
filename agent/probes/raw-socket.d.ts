/**
 * The part of raw-socket 1.8 (no published types) that the probe engine uses, including the native `wrap` whose
 * synchronous `send`/`recv` let {@link RawChannel} send without a queue and drain the socket in one go.
 */
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';

  /** The native socket: each call is one syscall, callbacks run synchronously; errors throw. */
  interface SocketWrap extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      done: (bytes: number) => void,
    ): void;
    recv(buffer: Buffer, done: (buffer: Buffer, bytes: number, source: string) => void): void;
    pause(recvPaused: boolean, sendPaused: boolean): void;
    setOption(level: number, option: number, value: number | Buffer, length?: number): void;
    close(): void;
  }

  interface Socket extends EventEmitter {
    wrap: SocketWrap;
    setOption(level: number, option: number, value: number | Buffer, length?: number): void;
    /** Queued send (one per writable event); used by test responders, not by the engine. */
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      done: (error: Error | null, bytes: number) => void,
    ): Socket;
    close(): Socket;
  }

  const raw: {
    createSocket(options: { protocol: number; addressFamily: number; bufferSize?: number }): Socket;
    AddressFamily: { IPv4: number; IPv6: number };
    Protocol: { None: number; ICMP: number; TCP: number; UDP: number; ICMPv6: number };
    SocketLevel: Record<'SOL_SOCKET' | 'IPPROTO_IP' | 'IPPROTO_IPV6', number>;
    SocketOption: Record<'SO_RCVBUF' | 'SO_SNDBUF' | 'IP_TTL' | 'IPV6_UNICAST_HOPS', number>;
  };
  export default raw;
}
