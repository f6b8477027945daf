/**
 * The order a census pass visits its addresses in: a pseudo-random permutation of [0, n), so that consecutive
 * probes land all over the prefix and no subnet (a /24 of a /16, a rack, a firewall's state table) takes a burst.
 *
 * Hand-written, because no maintained npm package offers a small keyed permutation over an arbitrary range (format-
 * preserving encryption packages are built for digit strings with AES, far heavier than needed here). It is a
 * balanced Feistel network over the smallest even power of two ≥ n, with cycle walking to stay within [0, n)
 * (Black & Rogaway, "Ciphers with Arbitrary Finite Domains", 2002): a Feistel network is a bijection whatever its
 * round function, and cycle walking keeps one on a subset. The round function is murmur3's 32-bit finaliser over
 * the half-block and a per-round key drawn from the seed. Not cryptographic — it only has to spread probes — but
 * unlike a linear congruential generator modulo a power of two, the low bits of successive outputs do not cycle
 * with a short period.
 *
 * Memoryless: `at(i)` is computed from i alone, so a retry round walks the same order without a 65,536-entry table.
 */

const ROUNDS = 4;

function mix(x: number, key: number): number {
  let h = (x ^ key) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A keyed permutation of [0, n), n ≤ 2^30. */
export class Permutation {
  readonly #n: number;
  readonly #halfBits: number;
  readonly #mask: number;
  readonly #keys: number[];

  /** `seed` picks the order; the same (n, seed) always gives the same order. */
  constructor(n: number, seed: number) {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 30) {
      throw new RangeError(`[agent:census] a permutation needs 1 ≤ n ≤ 2^30, got ${n}`);
    }
    this.#n = n;
    let bits = 2;
    while (2 ** bits < n) bits += 2;
    this.#halfBits = bits / 2;
    this.#mask = (1 << this.#halfBits) - 1;
    this.#keys = [];
    let s = seed >>> 0;
    for (let r = 0; r < ROUNDS; r++) {
      s = mix(s + 0x9e3779b9, 0x7f4a7c15 + r);
      this.#keys.push(s);
    }
  }

  get size(): number {
    return this.#n;
  }

  /** The i-th element of the order (0 ≤ i < n): a value in [0, n), each exactly once over all i. */
  at(i: number): number {
    let x = i;
    // Cycle walking: the Feistel network permutes [0, 4^halfBits); values past n step on until they fall inside.
    // Expected steps are below 4 (the domain is under 4 n).
    do x = this.#encrypt(x);
    while (x >= this.#n);
    return x;
  }

  #encrypt(x: number): number {
    const hb = this.#halfBits;
    const mask = this.#mask;
    let left = x >>> hb;
    let right = x & mask;
    for (let r = 0; r < ROUNDS; r++) {
      const next = (left ^ mix(right, this.#keys[r]!)) & mask;
      left = right;
      right = next;
    }
    return ((left << hb) | right) >>> 0;
  }
}
