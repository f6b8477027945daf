/**
 * One raw socket of one protocol and family, shared by every probe in flight.
 *
 * raw-socket's own `Socket` queues each send until the next writable event and reads one datagram per readable
 * event: at tens of thousands of probes a second that costs a loop turn per packet and blurs the send time. This
 * channel drives the native handle directly: a send is one synchronous `sendto` with the clock read just before
 * it (falling back to a queue only when the socket buffer is full), and a readable event drains the socket in a
 * bounded batch.
 *
 * Receive times come from the kernel: the channel turns SO_TIMESTAMPNS on and reads with `recvmsg` through the
 * project's small addon (agent/native), so an RTT ends when the packet arrived, not when the process woke up to
 * read it — on a busy machine those differ by tens to hundreds of microseconds. raw-socket does not expose its
 * descriptor; the channel finds it as the one raw socket of its family and protocol that opening it added. Should
 * that not be exactly one, or /proc/self/fd not be readable, the channel reads through raw-socket and reads the
 * clock after each read (`timestamps` says which). With the descriptor known, sends whose address comes as bytes
 * go through the addon too (no per-packet address parsing or callback handle, as raw-socket's send has).
 *
 * Send times can come from the kernel too (`txTimestamps`): SO_TIMESTAMPING stamps each packet as the driver
 * takes it and queues the stamp, numbered by send, on the socket's error queue. The channel numbers its sends the
 * same way, and writes each stamp into the {@link TxStamped} object given with that send (the probe in flight).
 * A stamp in the error queue makes libuv's poll report a dead descriptor to raw-socket, so with the descriptor
 * known the channel polls it itself through the addon (watch.c), which reads the error queue as an event.
 */
import raw from 'raw-socket';
import native from '../native/index.cjs';
import { RawSocketError, RawSocketPermissionError } from './errors.js';

/** Which raw socket: the protocol family and the IP protocol it carries. */
export type ChannelKind = 'icmp4' | 'icmp6' | 'udp4' | 'udp6' | 'tcp4' | 'tcp6';

/**
 * Called for every datagram read, synchronously; `packet` is only valid during the call. `receivedAt` is the
 * arrival on the monotonic clock; `receivedReal` the kernel's stamp of it on the wall clock, in ns since the
 * addon's base (a number: see index.d.cts), 0 when the arrival was not stamped; `hopLimit` the IPv6 hop limit it came with, -1 where unknown (IPv4: read it
 * from the IP header).
 */
export type PacketHandler = (
  packet: Buffer,
  source: string,
  receivedAt: bigint,
  receivedReal: number,
  hopLimit: number,
) => void;

/**
 * Who is given a send's kernel transmit stamp: the wall-clock ns the packet left (since the addon's base, as
 * `receivedReal`), with the `tag` the send was given (a sweep's probe number: one object takes the stamps of
 * many probes).
 */
export interface TxStamped {
  txStamped(real: number, tag: number): void;
}

/** Options of a {@link RawChannel}. */
export interface RawChannelOptions {
  /** Ask the kernel for transmit timestamps (see the module comment); off by default. */
  txTimestamps?: boolean;
}

/** Called once a send is done: the monotonic time just before `sendto`, or why it failed. */
export type SendDone = (error: Error | null, sentAt: bigint) => void;

const PROTOCOL: Record<ChannelKind, number> = { icmp4: 1, icmp6: 58, udp4: 17, udp6: 17, tcp4: 6, tcp6: 6 };
const AF_INET = 2;
const AF_INET6 = 10;

// Linux socket option numbers that raw-socket does not name.
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const IPPROTO_ICMPV6 = 58;
const ICMP6_FILTER = 1;

/** Datagrams read per readable event at most, so one busy socket cannot starve the loop. */
const DRAIN_BATCH = 512;
/** Requested receive buffer: replies of a burst wait here while the loop is busy. */
const RCVBUF_BYTES = 8 * 1024 * 1024;

interface Backlogged {
  packet: Buffer;
  address: string;
  ttl: number;
  done: SendDone;
  to: Uint8Array | undefined;
  stamped: TxStamped | undefined;
  tag: number;
}

/** Sends whose transmit stamp may still come, by send number modulo this (a power of 2). */
const TX_RING = 4096;
/** Transmit stamps read per addon call: [send number, wall-clock ns] pairs. */
const TX_BATCH = 256;
// libuv's poll event bits, as the addon's watch() reports them.
const UV_READABLE = 1;
const UV_WRITABLE = 2;
const UV_PRIORITIZED = 8;

function isWouldBlock(err: unknown): boolean {
  return err instanceof Error && /temporarily unavailable|would block/i.test(err.message);
}

/** One shared raw socket; see the module comment. */
export class RawChannel {
  readonly kind: ChannelKind;
  readonly family: 4 | 6;
  readonly #socket: ReturnType<typeof raw.createSocket>;
  readonly #buffer = Buffer.allocUnsafe(65_536);
  readonly #backlog: Backlogged[] = [];
  /** The socket's descriptor when the kernel timestamps arrivals, else -1. */
  readonly #fd: number;
  /** Filled by each native read: [arrival in monotonic ns, bytes, kernel-stamped], then [wall-clock stamp, hop limit]. */
  readonly #meta = new BigInt64Array(3);
  readonly #extra = new Float64Array(2);
  /** The addon's poll of {@link #fd} (see the module comment), when the channel polls it itself. */
  #watch: native.Watch | undefined;
  #writable = false;
  /** Who gets the transmit stamp of send number n: slot n % TX_RING, checked against the number kept beside it. */
  readonly #txWaiting: (TxStamped | undefined)[] = [];
  readonly #txKeys = new Uint32Array(TX_RING);
  /** The tag given with the send in each slot (see {@link TxStamped}). */
  readonly #txTags = new Int32Array(TX_RING);
  /** The number the kernel gives the next send (it counts sends from 0 since transmit stamps were turned on). */
  #txNext = 0;
  readonly #txRead = new Float64Array(2 * TX_BATCH);
  #ttl = -1;
  #closed = false;
  #failure: Error | undefined;
  /** Datagrams read, for the engine's counters. */
  received = 0;
  /**
   * Where receive times come from: `kernel` (SO_TIMESTAMPNS, the packet's arrival) or `process` (the clock read
   * after the read returned).
   */
  readonly timestamps: 'kernel' | 'process';
  /** Where send times come from: `kernel` (SO_TIMESTAMPING transmit stamps) or `process` (the clock before sendto). */
  readonly txTimestamps: 'kernel' | 'process';
  /** Transmit stamps read, and those whose send was no longer known (for the engine's counters). */
  txStamps = 0;
  txUnmatched = 0;

  /**
   * Opens the socket. `icmpTypes` (ICMP channels only) is the set of ICMP types the kernel should deliver: it
   * drops the rest before they reach the process (ICMP_FILTER / ICMP6_FILTER).
   */
  constructor(
    kind: ChannelKind,
    onPacket: PacketHandler,
    icmpTypes?: readonly number[],
    options: RawChannelOptions = {},
  ) {
    checkAddon();
    this.kind = kind;
    this.family = kind.endsWith('6') ? 6 : 4;
    const domain = this.family === 6 ? AF_INET6 : AF_INET;
    const before = rawSocketFds(domain, PROTOCOL[kind]);
    try {
      this.#socket = raw.createSocket({
        protocol: PROTOCOL[kind],
        addressFamily: this.family === 6 ? raw.AddressFamily.IPv6 : raw.AddressFamily.IPv4,
      });
    } catch (err) {
      if (err instanceof Error && /not permitted|permission denied/i.test(err.message)) {
        throw new RawSocketPermissionError(err);
      }
      throw new RawSocketError(`[probes] cannot open a raw ${kind} socket: ${String(err)}`, { cause: err });
    }
    try {
      this.#fd = before ? timestampedFd(domain, PROTOCOL[kind], before) : -1;
      this.#setReceiveBuffer();
      if (icmpTypes) this.#setIcmpFilter(icmpTypes);
    } catch (err) {
      // A socket that cannot be set up as the channel needs is closed here, not left to the garbage collector.
      this.#socket.close();
      throw new RawSocketError(`[probes] cannot set up the raw ${kind} socket: ${String(err)}`, {
        cause: err,
      });
    }
    this.timestamps = this.#fd >= 0 ? 'kernel' : 'process';
    const wrap = this.#socket.wrap;
    // Take the native events over from raw-socket's queueing Socket (see the module comment).
    wrap.removeAllListeners('recvReady');
    wrap.removeAllListeners('sendReady');
    if (this.#fd >= 0) {
      // raw-socket's poll stopped for good, the addon's in its place: one poll per descriptor.
      wrap.pause(true, true);
      try {
        this.#watch = native.watch(this.#fd, (events: number) => this.#onEvents(events, onPacket), 0);
      } catch {
        wrap.pause(false, true); // raw-socket's poll back: no transmit stamps, which would end it
      }
    }
    if (this.#watch === undefined) {
      wrap.on('recvReady', () =>
        this.#fd >= 0 ? this.#drainStamped(onPacket) : this.#drainUnstamped(onPacket),
      );
      wrap.on('sendReady', () => this.#flush());
    }
    this.txTimestamps = this.#watch !== undefined && options.txTimestamps ? this.#enableTx() : 'process';
    // raw-socket closes the socket on a poll error and re-emits it: remember why, so that every later send
    // fails with that reason instead of a bare EBADF.
    this.#socket.on('error', (err: Error) => {
      this.#failure = err;
      this.close();
    });
  }

  /** Turns transmit stamps on; a kernel that refuses leaves the channel on process send times. */
  #enableTx(): 'kernel' | 'process' {
    try {
      native.enableTxTimestamps(this.#fd);
      return 'kernel';
    } catch {
      return 'process';
    }
  }

  #onEvents(events: number, onPacket: PacketHandler): void {
    if (events < 0) {
      this.#failure = new RawSocketError(`[probes] polling the ${this.kind} socket failed (libuv ${events})`);
      this.close();
      return;
    }
    // Stamps first: a reply read in the same wake-up then finds its probe's send stamp already there.
    if (events & UV_PRIORITIZED) this.#readTxStamps();
    if (events & UV_READABLE) this.#drainStamped(onPacket);
    if (events & UV_WRITABLE) this.#flush();
  }

  /**
   * Reads the transmit stamps waiting in the error queue into their sends' {@link TxStamped}: for an answer that
   * came before its probe's stamp was read (the channel reads them whenever the socket reports them). Not once
   * TX_RING sends brought no stamp at all: a device whose driver stamps nothing (some virtual ones) would
   * otherwise cost a system call per answer for nothing.
   */
  pollTxStamps(): void {
    if (this.txStamps === 0 && this.#txNext > TX_RING) return;
    this.#readTxStamps();
  }

  #readTxStamps(): void {
    if (this.txTimestamps !== 'kernel' || this.#closed) return;
    const read = this.#txRead;
    for (;;) {
      let n: number;
      try {
        n = native.txTimestamps(this.#fd, read);
      } catch {
        return;
      }
      for (let i = 0; i < n; i++) {
        const key = read[2 * i]! >>> 0;
        const slot = key & (TX_RING - 1);
        const stamped = this.#txWaiting[slot];
        if (stamped !== undefined && this.#txKeys[slot] === key) {
          this.#txWaiting[slot] = undefined;
          stamped.txStamped(read[2 * i + 1]!, this.#txTags[slot]!);
          this.txStamps++;
        } else {
          this.txUnmatched++;
        }
      }
      if (n < TX_BATCH) return;
    }
  }

  /** A read of the error queue is queued for the end of this turn (see {@link #sent}). */
  #txReadQueued = false;
  readonly #readQueuedTxStamps = (): void => {
    this.#txReadQueued = false;
    this.#readTxStamps();
  };

  /** A send left: the kernel gave it the next number, under which its stamp will come. */
  #sent(stamped: TxStamped | undefined, tag: number): void {
    if (this.txTimestamps !== 'kernel') return;
    // A software stamp is taken as the driver takes the packet, inside sendto for loopback, veth and most NICs: read
    // once after this turn's sends, the error queue is empty again before the loop polls, which then need not
    // wake for it (one recvmmsg a turn with sends, against an extra poll return and the same read). Stamps that
    // come later still wake the poll (#onEvents).
    if (!this.#txReadQueued) {
      this.#txReadQueued = true;
      queueMicrotask(this.#readQueuedTxStamps);
    }
    const key = this.#txNext;
    this.#txNext = (key + 1) >>> 0;
    const slot = key & (TX_RING - 1);
    // A slot still held is a send whose stamp never came (TX_RING sends ago): it keeps its process time.
    this.#txWaiting[slot] = stamped;
    this.#txKeys[slot] = key;
    this.#txTags[slot] = tag;
  }

  #setWritable(writable: boolean): void {
    if (this.#watch === undefined) {
      this.#socket.wrap.pause(false, !writable);
      return;
    }
    if (this.#writable === writable) return;
    this.#writable = writable;
    native.setWatch(this.#watch, writable ? 1 : 0);
  }

  #setReceiveBuffer(): void {
    try {
      // Root may exceed net.core.rmem_max; with CAP_NET_RAW alone, fall back to the capped option.
      this.#socket.setOption(SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES);
    } catch {
      this.#socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_RCVBUF, RCVBUF_BYTES);
    }
  }

  #setIcmpFilter(types: readonly number[]): void {
    if (this.family === 4) {
      // One 32-bit mask; a set bit blocks that type (types ≥ 32 cannot be named and pass).
      let mask = 0xffffffff;
      for (const t of types) mask &= ~(1 << t);
      const value = Buffer.alloc(4);
      value.writeUInt32LE(mask >>> 0);
      this.#socket.setOption(SOL_RAW, ICMP_FILTER, value, 4);
    } else {
      // struct icmp6_filter: 256 bits in host-order 32-bit words; a set bit blocks that type.
      const value = Buffer.alloc(32, 0xff);
      for (const t of types) {
        const word = value.readUInt32LE((t >> 5) * 4);
        value.writeUInt32LE((word & ~(1 << (t & 31))) >>> 0, (t >> 5) * 4);
      }
      this.#socket.setOption(IPPROTO_ICMPV6, ICMP6_FILTER, value, 32);
    }
  }

  /** Sets a socket option on the underlying socket (e.g. IPV6_CHECKSUM). */
  setOption(level: number, option: number, value: number): void {
    this.#socket.setOption(level, option, value);
  }

  /**
   * Sends `packet` (the IP payload: the kernel writes the IP header) to `address` with TTL / hop limit `ttl`.
   * `done` runs synchronously when the socket takes the packet at once, later when it had to wait for room.
   * Only `packet[0, length)` is sent, and the caller may reuse `packet` as soon as this returns (one that must
   * wait is copied): probers write every packet into one scratch buffer. `to`, the address's 4 or 16 bytes,
   * lets the packet go out through the addon's sendTo (no per-packet address parsing; see receive.c). `stamped`
   * is given the packet's transmit stamp with `tag`, when the channel has them.
   */
  send(
    packet: Buffer,
    address: string,
    ttl: number,
    done: SendDone,
    length = packet.length,
    to: Uint8Array | undefined = undefined,
    stamped: TxStamped | undefined = undefined,
    tag = 0,
  ): void {
    if (this.#closed) {
      const why = this.#failure ? ` after an error: ${this.#failure.message}` : '';
      done(
        new RawSocketError(`[probes] the ${this.kind} socket is closed${why}`, { cause: this.#failure }),
        0n,
      );
      return;
    }
    if (this.#backlog.length > 0 || !this.#trySend(packet, length, address, ttl, done, to, stamped, tag)) {
      if (this.#backlog.length === 0) this.#setWritable(true);
      this.#backlog.push({
        packet: Buffer.from(packet.subarray(0, length)),
        address,
        ttl,
        done,
        to,
        stamped,
        tag,
      });
    }
  }

  /** One `sendto`; false when the socket buffer is full and the packet should wait. */
  #trySend(
    packet: Buffer,
    length: number,
    address: string,
    ttl: number,
    done: SendDone,
    to: Uint8Array | undefined,
    stamped: TxStamped | undefined,
    tag: number,
  ): boolean {
    let sentAt = 0n;
    try {
      if (ttl !== this.#ttl) {
        if (this.family === 4)
          this.#socket.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_TTL, ttl);
        else this.#socket.setOption(raw.SocketLevel.IPPROTO_IPV6, raw.SocketOption.IPV6_UNICAST_HOPS, ttl);
        this.#ttl = ttl;
      }
      sentAt = process.hrtime.bigint();
      // The addon's send needs the descriptor, which the channel knows when it found its socket (see above).
      if (to !== undefined && this.#fd >= 0) {
        if (!native.sendTo(this.#fd, packet, length, to)) return false;
      } else {
        this.#socket.wrap.send(packet, 0, length, address, noop);
      }
    } catch (err) {
      if (isWouldBlock(err)) return false;
      done(
        new RawSocketError(`[probes] send to ${address} failed: ${(err as Error).message}`, { cause: err }),
        0n,
      );
      return true;
    }
    this.#sent(stamped, tag);
    done(null, sentAt);
    return true;
  }

  #flush(): void {
    while (this.#backlog.length > 0) {
      const next = this.#backlog[0]!;
      if (
        !this.#trySend(
          next.packet,
          next.packet.length,
          next.address,
          next.ttl,
          next.done,
          next.to,
          next.stamped,
          next.tag,
        )
      )
        return;
      this.#backlog.shift();
    }
    if (!this.#closed) this.#setWritable(false);
  }

  #drainStamped(onPacket: PacketHandler): void {
    const buffer = this.#buffer;
    const meta = this.#meta;
    const extra = this.#extra;
    // A handler may close the channel; its descriptor number can then be reused at once (by a socket the
    // handler opens, or by any libuv thread), and reading on would take that socket's packets.
    for (let i = 0; i < DRAIN_BATCH && !this.#closed; i++) {
      let source: string | undefined;
      try {
        source = native.receive(this.#fd, buffer, meta, extra);
      } catch {
        // Any receive error leaves nothing to read, as EAGAIN does.
        return;
      }
      if (source === undefined) return;
      this.received++;
      onPacket(buffer.subarray(0, Number(meta[1])), source, meta[0]!, extra[0]!, extra[1]!);
    }
  }

  #drainUnstamped(onPacket: PacketHandler): void {
    const buffer = this.#buffer;
    let bytes = -1;
    let source = '';
    const take = (_b: Buffer, n: number, from: string) => {
      bytes = n;
      source = from;
    };
    // raw-socket reports an empty socket (EAGAIN) by throwing; without a stack trace to capture, that costs
    // little, and it happens once per wake-up.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      // raw-socket's recv on a closed socket opens a new one: stop as soon as a handler closes the channel.
      for (let i = 0; i < DRAIN_BATCH && !this.#closed; i++) {
        try {
          this.#socket.wrap.recv(buffer, take);
        } catch {
          // EAGAIN: drained. Any other receive error leaves nothing to read either.
          return;
        }
        const receivedAt = process.hrtime.bigint();
        this.received++;
        Error.stackTraceLimit = stackTraceLimit;
        onPacket(buffer.subarray(0, bytes), source, receivedAt, 0, -1);
        Error.stackTraceLimit = 0;
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }

  /** Closes the socket; queued sends fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The addon's poll goes before the descriptor it watches.
    if (this.#watch !== undefined) native.unwatch(this.#watch);
    this.#txWaiting.length = 0;
    if (!this.#failure || this.#watch !== undefined) this.#socket.close();
    for (const b of this.#backlog.splice(0)) {
      b.done(new RawSocketError(`[probes] the ${this.kind} socket closed before sending`), 0n);
    }
  }
}

function noop(): void {}

/** What the channel calls on the addon: one built from an older agent/native/receive.c lacks some of them. */
const ADDON_FUNCTIONS = [
  'rawSocketFds',
  'enableTimestamps',
  'receive',
  'sendTo',
  'enableTxTimestamps',
  'txTimestamps',
  'watch',
  'setWatch',
  'unwatch',
] as const;

/** The functions of {@link ADDON_FUNCTIONS} that `addon` lacks. */
export function missingAddonFunctions(addon: object): string[] {
  return ADDON_FUNCTIONS.filter((f) => typeof (addon as Record<string, unknown>)[f] !== 'function');
}

/**
 * Refuses a stale addon at the first channel, by name: otherwise a missing `sendTo` would fail every probe with
 * status `error` and nothing in the logs.
 */
function checkAddon(): void {
  const missing = missingAddonFunctions(native);
  if (missing.length === 0) return;
  const err = new Error(
    `[probes] the agent's addon (pinger_native.node) has no ${missing.join(', ')}: it was built from an older ` +
      'agent/native/receive.c. Rebuild it with `npm run install` (a checkout), or install the one built with ' +
      'this agent (the binary)',
  );
  err.name = 'AddonLoadError';
  throw err;
}

/** The process's raw sockets of that domain and protocol, or undefined when /proc cannot tell (see below). */
function rawSocketFds(domain: number, protocol: number): number[] | undefined {
  try {
    return native.rawSocketFds(domain, protocol);
  } catch {
    return undefined;
  }
}

/**
 * The one raw socket of that domain and protocol not in `before`, with SO_TIMESTAMPNS turned on; -1 when there
 * is not exactly one, or when /proc/self/fd cannot be read (out of descriptors, /proc not mounted): the channel
 * then reads through raw-socket rather than fail to open.
 */
function timestampedFd(domain: number, protocol: number, before: readonly number[]): number {
  const opened = rawSocketFds(domain, protocol)?.filter((fd) => !before.includes(fd));
  if (opened?.length !== 1) return -1;
  native.enableTimestamps(opened[0]!);
  return opened[0]!;
}
