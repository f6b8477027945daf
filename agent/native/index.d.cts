/**
 * The project's addon (receive.c): kernel receive timestamps for raw sockets that raw-socket opened. Linux only.
 */

/** Descriptors of this process's open raw sockets with that domain (AF_INET 2, AF_INET6 10) and IP protocol. */
export function rawSocketFds(domain: number, protocol: number): number[];

/**
 * Turns SO_TIMESTAMPNS on for `fd`, so that each datagram read carries the time the kernel took it in; on an IPv6
 * socket also IPV6_RECVHOPLIMIT, so that it carries its hop limit.
 */
export function enableTimestamps(fd: number): void;

/**
 * Reads one datagram from `fd` without blocking into `buffer`; returns its source address, or undefined when
 * the socket is empty. `meta` (3 long) receives [arrival in `process.hrtime.bigint()` ns, bytes read, 1 if the
 * kernel stamped the arrival or 0 if it is the time of this read]; `extra` (2 long) [the kernel's stamp in
 * wall-clock ns since a base fixed when the addon loaded (a double: exact to the ns for 104 days), or 0; the IPv6 hop
 * limit, or -1]. Throws on any other receive error.
 */
export function receive(
  fd: number,
  buffer: Buffer,
  meta: BigInt64Array,
  extra: Float64Array,
): string | undefined;

/**
 * Sends `buffer[0, length)` from `fd` without blocking to `address` (4 or 16 bytes, network order). Returns true
 * when sent, false when the socket buffer is full (EAGAIN); throws on any other error (message `sendto: …`).
 */
export function sendTo(fd: number, buffer: Buffer, length: number, address: Uint8Array): boolean;

/**
 * Turns kernel transmit timestamps on for `fd` (SO_TIMESTAMPING: software, numbered by send from 0, without the
 * packet; SO_SELECT_ERR_QUEUE). Throws when the kernel refuses.
 */
export function enableTxTimestamps(fd: number): void;

/**
 * Drains transmit stamps from `fd`'s error queue without blocking, at most `out.length / 2`: writes [send number,
 * wall-clock ns since the same base as `receive`'s] pairs to `out` and returns how many.
 */
export function txTimestamps(fd: number, out: Float64Array): number;

/** A poll of one descriptor (see watch.c). */
export type Watch = { readonly __watch: unique symbol };

/**
 * Polls `fd` for data and for error-queue entries, and for room to send while `writable` is 1. `callback` gets
 * libuv's event bits (1 readable, 2 writable, 8 the error queue) or a negative libuv error. The descriptor must
 * have no other poll in this loop (raw-socket's paused for good).
 */
export function watch(fd: number, callback: (events: number) => void, writable: 0 | 1): Watch;

/** Whether the poll reports room to send too. */
export function setWatch(handle: Watch, writable: 0 | 1): void;

/** Stops the poll for good, before the descriptor closes. Idempotent. */
export function unwatch(handle: Watch): void;

/**
 * Writes into `out` the local address the kernel would send from towards `address` (4 or 16 bytes, network order;
 * `out` as long): a route lookup, no packet sent (see route.c). Throws when there is no route (message
 * `connect: …`).
 */
export function sourceFor(address: Uint8Array, out: Uint8Array): void;
