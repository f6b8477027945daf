/**
 * A binary min-heap of timer entries keyed by a time (monotonic ms). The scheduler keeps every destination's next
 * tick here and arms one real timer for the earliest: O(log n) per tick and a single native timer for 10,000
 * destinations.
 *
 * The keys live in a Float64Array beside the entries (struct of arrays): a sift compares keys only, so it walks
 * 80 kB of contiguous doubles for 10,000 entries instead of dereferencing an object scattered over the heap per
 * comparison (a cache miss each), and it moves entry pointers without reading them.
 *
 * Removal is lazy: an entry marked `live = false` is dropped when it reaches the top, so retiming or removing a
 * destination is O(1) and never reorders the others.
 */

export interface HeapEntry {
  /** False once the entry was cancelled; the heap discards it when it surfaces. */
  live: boolean;
}

export class TimerHeap<T extends HeapEntry> {
  #keys = new Float64Array(64);
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  /** Entries held, cancelled ones not yet discarded included. */
  get size(): number {
    return this.#size;
  }

  /** Adds `entry` to run at `at`. */
  push(entry: T, at: number): void {
    const i = this.#size++;
    if (i === this.#keys.length) {
      const keys = new Float64Array(i * 2);
      keys.set(this.#keys);
      this.#keys = keys;
    }
    this.#items.push(undefined);
    this.#siftUp(i, entry, at);
  }

  /** The earliest live entry, discarding cancelled ones on the way. */
  peek(): T | undefined {
    const items = this.#items;
    while (this.#size > 0 && !items[0]!.live) this.#removeTop();
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
    this.#siftDown(0, this.#items[0]!, at);
  }

  clear(): void {
    this.#items.length = 0;
    this.#size = 0;
  }

  #removeTop(): void {
    const n = --this.#size;
    const last = this.#items[n]!;
    const at = this.#keys[n]!;
    this.#items.pop();
    if (n > 0) this.#siftDown(0, last, at);
  }

  /** Places `entry` keyed `at` at or above hole `i`. */
  #siftUp(i: number, entry: T, at: number): void {
    const keys = this.#keys;
    const items = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= at) break;
      keys[i] = keys[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    keys[i] = at;
    items[i] = entry;
  }

  /** Places `entry` keyed `at` at or below hole `i`. */
  #siftDown(i: number, entry: T, at: number): void {
    const keys = this.#keys;
    const items = this.#items;
    const n = this.#size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && keys[r]! < keys[l]! ? r : l;
      if (keys[child]! >= at) break;
      keys[i] = keys[child]!;
      items[i] = items[child];
      i = child;
    }
    keys[i] = at;
    items[i] = entry;
  }
}
