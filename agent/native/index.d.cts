/** See receive.c. */
export function rawSocketFds(domain: number, protocol: number): number[];
export function enableTimestamps(fd: number): void;
export function receive(fd: number, buffer: Buffer, meta: BigInt64Array): string | undefined;
