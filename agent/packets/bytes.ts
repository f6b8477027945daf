/**
 * Big-endian reads and writes on a Uint8Array. Callers check lengths first (decoders throw PacketError before
 * reading); these stay branch-free so the hot receive path costs a few array loads. Works for Buffer too.
 */

export function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

export function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

export function u64(b: Uint8Array, i: number): bigint {
  return (BigInt(u32(b, i)) << 32n) | BigInt(u32(b, i + 4));
}

export function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

export function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

export function put64(b: Uint8Array, i: number, v: bigint): void {
  put32(b, i, Number((v >> 32n) & 0xffffffffn));
  put32(b, i + 4, Number(v & 0xffffffffn));
}
