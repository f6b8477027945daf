/**
 * A binary min-heap of timer entries keyed by a time (monotonic ms). The scheduler keeps every destination's next
 * tick here and arms one real timer for the earliest: O(log n) per tick and a single native timer for 10,000
 * destinations.
 *
 * The keys live in a Float64Array beside the entries (struct of arrays): a sift compares keys only, so it walks
 * 80 kB of contiguous doubles for 10,000 entries instead of dereferencing an object scattered over the heap per
 * comparison (a cache miss each), and it moves entry pointers without reading them.
 *
 * Cancelling is lazy and needs no object per timer: the heap records an entry's generation when it is pushed, and
 * a slot whose entry has moved on to another generation since is stale and dropped when it reaches the top. So
 * one object per destination serves all its timers: removing a destination is O(1), retiming it one push
 * (O(log n)), and neither reorders the others.
 */

export interface HeapEntry {
  /**
   * The entry's generation. Its owner increases it to cancel the entry's pending time (then pushes the entry again
   * to retime it); slots pushed under an older generation are stale.
   */
  gen: number;
}

export class TimerHeap<T extends HeapEntry> {
  #keys = new Float64Array(64);
  /** The generation each slot was pushed under (a double: exact for any count of retimes). */
  #gens = new Float64Array(64);
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  /** Entries held, cancelled ones not yet discarded included. */
  get size(): number {
    return this.#size;
  }

  /** Adds `entry` to run at `at`, under its current generation. */
  push(entry: T, at: number): void {
    const i = this.#size++;
    if (i === this.#keys.length) {
      const keys = new Float64Array(i * 2);
      keys.set(this.#keys);
      this.#keys = keys;
      const gens = new Float64Array(i * 2);
      gens.set(this.#gens);
      this.#gens = gens;
    }
    this.#items.push(undefined);
    this.#siftUp(i, entry, at, entry.gen);
  }

  /** The earliest entry still of the generation it was pushed under, discarding stale slots on the way. */
  peek(): T | undefined {
    const items = this.#items;
    while (this.#size > 0 && items[0]!.gen !== this.#gens[0]) this.#removeTop();
    return this.#size > 0 ? items[0] : undefined;
  }

  /** When the entry {@link peek} returns wants to run, or +Infinity when the heap holds none. */
  peekAt(): number {
    return this.peek() === undefined ? Number.POSITIVE_INFINITY : this.#keys[0]!;
  }

  /** Removes and returns the earliest live entry. */
  pop(): T | undefined {
    const top = this.peek();
    if (top !== undefined) this.#removeTop();
    return top;
  }

  /**
   * Moves the entry {@link peek} just returned to `at`: one sift instead of a pop and a push. This is the
   * scheduler's every tick (a destination's next slot).
   */
  retimeTop(at: number): void {
    if (this.#size === 0) throw new RangeError('[agent:timer-heap] retimeTop() on an empty heap');
    this.#siftDown(0, this.#items[0]!, at, this.#gens[0]!);
  }

  clear(): void {
    this.#items.length = 0;
    this.#size = 0;
  }

  #removeTop(): void {
    const n = --this.#size;
    const last = this.#items[n]!;
    const at = this.#keys[n]!;
    const gen = this.#gens[n]!;
    this.#items.pop();
    if (n > 0) this.#siftDown(0, last, at, gen);
  }

  /** Places `entry` (keyed `at`, pushed under `gen`) at or above hole `i`. */
  #siftUp(i: number, entry: T, at: number, gen: number): void {
    const keys = this.#keys;
    const gens = this.#gens;
    const items = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= at) break;
      keys[i] = keys[parent]!;
      gens[i] = gens[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    keys[i] = at;
    gens[i] = gen;
    items[i] = entry;
  }

  /**
   * Places `entry` (keyed `at`, pushed under `gen`) at or below hole `i`. Bottom-up (Floyd): the hole first goes
   * down to a leaf along the smaller children, one comparison a level, then the entry climbs back from there. A
   * retimed tick usually belongs near the bottom (its next slot is an interval later than most), so this takes
   * about half the comparisons of the textbook sift, which also compares against the entry at every level.
   */
  #siftDown(i: number, entry: T, at: number, gen: number): void {
    const keys = this.#keys;
    const gens = this.#gens;
    const items = this.#items;
    const n = this.#size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && keys[r]! < keys[l]! ? r : l;
      keys[i] = keys[child]!;
      gens[i] = gens[child]!;
      items[i] = items[child];
      i = child;
    }
    this.#siftUp(i, entry, at, gen);
  }
}
