/**
 * A map from integer keys (0 … 2^31 − 1) to values, for keys that come and go tens of thousands of times a
 * second: the in-flight table's buckets and the UDP prober's (target, port) index, an entry added and removed per
 * probe.
 *
 * Open addressing with linear probing over two flat arrays (keys in an Int32Array, values beside them), and
 * deletion by shifting the following run back (no tombstones, so lookups never slow down with churn). A set, get
 * or delete is a few array reads, and nothing is allocated except when the table doubles (at half full). It
 * never shrinks: its size follows the peak of probes in flight.
 *
 * Not a `Map`: under constant insert/delete churn a V8 `Map` keeps rehashing into new tables, and an obsolete
 * table stays linked to its successor (for iterators still walking it); once one dead table is promoted to the
 * old generation it keeps the next one — and every entry it held — alive through the young generation's
 * collections. Measured with the engine alone at 10,000 probes/s (`--trace-gc-nvp`), that promoted ~2.8 MB per
 * scavenge (6–9 ms each) and grew the old space by ~6 MB/s. Nor the null-prototype object that replaced it
 * (~0.1 MB survived per scavenge): V8 keeps it as a number dictionary whose every insert and delete is a call
 * into the runtime, ~18 % of the prober's time in bench/probe/send-path.ts. Nor string keys (`target#port`): a
 * string key is internalized for every lookup, in the old generation.
 */

const EMPTY = -1;
/** 2^32 / φ: multiplying spreads keys whose low bits agree (Fibonacci hashing; the top bits pick the slot). */
const SPREAD = 0x9e3779b1;

/** See the module comment. */
export class IntMap<V> {
  #keys: Int32Array;
  #values: (V | undefined)[];
  #mask: number;
  /** 32 − log2(capacity): the top bits of the spread key pick the slot. */
  #shift: number;
  #size = 0;

  /** `capacity` is rounded up to a power of two (at least 16). */
  constructor(capacity = 1024) {
    let bits = 4;
    while (1 << bits < capacity && bits < 30) bits++;
    this.#keys = new Int32Array(1 << bits).fill(EMPTY);
    this.#values = new Array<V | undefined>(1 << bits).fill(undefined);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
  }

  get size(): number {
    return this.#size;
  }

  #home(key: number): number {
    return Math.imul(key, SPREAD) >>> this.#shift;
  }

  get(key: number): V | undefined {
    // A negative key would match an empty slot (EMPTY is −1): no such key is ever stored.
    if (key < 0) return undefined;
    const keys = this.#keys;
    for (let i = this.#home(key); ; i = (i + 1) & this.#mask) {
      const k = keys[i]!;
      if (k === key) return this.#values[i];
      if (k === EMPTY) return undefined;
    }
  }

  /** Sets `key` to `value`; `key` must be an integer 0 … 2^31 − 1. */
  set(key: number, value: V): void {
    if (!(key >= 0 && key <= 0x7fffffff && (key | 0) === key)) {
      throw new RangeError(`[probes] IntMap key must be an integer 0 … 2^31 − 1, got ${key}`);
    }
    const keys = this.#keys;
    let i = this.#home(key);
    for (; ; i = (i + 1) & this.#mask) {
      const k = keys[i]!;
      if (k === key) {
        this.#values[i] = value;
        return;
      }
      if (k === EMPTY) break;
    }
    keys[i] = key;
    this.#values[i] = value;
    if (++this.#size * 2 > keys.length) this.#grow();
  }

  delete(key: number): void {
    if (key < 0) return;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = this.#home(key);
    for (; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === key) break;
      if (k === EMPTY) return;
    }
    this.#size--;
    // Shift back every later entry of the run that may sit at the hole (its home is not in (hole, j]).
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = this.#home(k);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      keys[i] = k;
      values[i] = values[j];
      i = j;
    }
    keys[i] = EMPTY;
    values[i] = undefined;
  }

  /** Every value (a fresh array). */
  values(): V[] {
    const out: V[] = [];
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) out.push(this.#values[i] as V);
    return out;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const bigger = new IntMap<V>(keys.length * 2);
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) bigger.set(keys[i]!, values[i] as V);
    this.#keys = bigger.#keys;
    this.#values = bigger.#values;
    this.#mask = bigger.#mask;
    this.#shift = bigger.#shift;
  }
}
