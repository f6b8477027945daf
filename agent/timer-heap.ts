/**
 * A binary min-heap of timer entries keyed by `at` (ms). The scheduler keeps every destination's next tick here and
 * arms one real timer for the earliest: O(log n) per tick and a single native timer for 10,000 destinations.
 *
 * Removal is lazy: an entry marked `live = false` is dropped when it reaches the top, so retiming or removing a
 * destination is O(1) and never reorders the others.
 */

export interface HeapEntry {
  /** When the entry wants to run (monotonic ms). */
  at: number;
  /** False once the entry was cancelled; the heap discards it when it surfaces. */
  live: boolean;
}

export class TimerHeap<T extends HeapEntry> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(entry: T): void {
    const items = this.#items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= entry.at) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = entry;
  }

  /** The earliest live entry, discarding cancelled ones on the way. */
  peek(): T | undefined {
    while (this.#items.length > 0 && !this.#items[0]!.live) this.#popTop();
    return this.#items[0];
  }

  /** Removes and returns the earliest live entry. */
  pop(): T | undefined {
    const top = this.peek();
    if (top !== undefined) this.#popTop();
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }

  #popTop(): void {
    const items = this.#items;
    const last = items.pop()!;
    if (items.length === 0) return;
    // Sift the last element down from the root.
    let i = 0;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && items[r]!.at < items[l]!.at ? r : l;
      if (items[child]!.at >= last.at) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}
