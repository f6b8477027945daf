/**
 * The project's addon (receive.c): kernel receive timestamps for raw sockets that raw-socket opened. Linux only.
 */

/** Descriptors of this process's open raw sockets with that domain (AF_INET 2, AF_INET6 10) and IP protocol. */
export function rawSocketFds(domain: number, protocol: number): number[];

/** Turns SO_TIMESTAMPNS on for `fd`, so that each datagram read carries the time the kernel took it in. */
export function enableTimestamps(fd: number): void;

/**
 * Reads one datagram from `fd` without blocking into `buffer`; returns its source address, or undefined when
 * the socket is empty. `meta` receives [arrival in `process.hrtime.bigint()` ns, bytes read, 1 if the kernel
 * stamped the arrival or 0 if it is the time of this read]. Throws on any other receive error.
 */
export function receive(fd: number, buffer: Buffer, meta: BigInt64Array): string | undefined;

/**
 * Sends `buffer[0, length)` from `fd` without blocking to `address` (4 or 16 bytes, network order). Returns true
 * when sent, false when the socket buffer is full (EAGAIN); throws on any other error (message `sendto: …`).
 */
export function sendTo(fd: number, buffer: Buffer, length: number, address: Uint8Array): boolean;
