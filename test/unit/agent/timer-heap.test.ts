import { describe, expect, it } from 'vitest';
import { TimerHeap } from '../../../agent/timer-heap.js';

interface Entry {
  id: number;
  live: boolean;
}

/** mulberry32: a small seeded PRNG, so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('TimerHeap', () => {
  it('pops in key order and skips cancelled entries', () => {
    const heap = new TimerHeap<Entry>();
    const e = (id: number): Entry => ({ id, live: true });
    const [a, b, c, d] = [e(1), e(2), e(3), e(4)];
    heap.push(c, 30);
    heap.push(a, 10);
    heap.push(d, 40);
    heap.push(b, 20);
    a.live = false;
    expect(heap.peekAt()).toBe(20);
    expect(heap.pop()).toBe(b);
    expect(heap.peek()).toBe(c);
    heap.retimeTop(45); // c (30) moves behind d (40)
    expect(heap.peekAt()).toBe(40);
    expect(heap.pop()).toBe(d);
    expect(heap.pop()).toBe(c);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peekAt()).toBe(Number.POSITIVE_INFINITY);
    expect(() => heap.retimeTop(1)).toThrow(/empty heap/);
  });

  it('agrees with a sorted reference under random push, cancel, retime and pop (with ties, past growth)', () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const rnd = random(seed);
      const heap = new TimerHeap<Entry>();
      // The reference: every live entry with its key.
      const ref = new Map<Entry, number>();
      let nextId = 0;
      const earliest = () => Math.min(...ref.values());
      for (let step = 0; step < 4000; step++) {
        const op = rnd();
        if (op < 0.45 || ref.size === 0) {
          // Integer keys in a narrow range: many ties.
          const entry = { id: nextId++, live: true };
          const at = Math.floor(rnd() * 200);
          heap.push(entry, at);
          ref.set(entry, at);
        } else if (op < 0.6) {
          const victims = [...ref.keys()];
          const victim = victims[Math.floor(rnd() * victims.length)]!;
          victim.live = false;
          ref.delete(victim);
        } else if (op < 0.8) {
          const top = heap.peek()!;
          expect(ref.get(top)).toBe(earliest());
          const at = earliest() + Math.floor(rnd() * 100);
          heap.retimeTop(at);
          ref.set(top, at);
        } else {
          const min = earliest();
          const top = heap.pop()!;
          expect(ref.get(top)).toBe(min);
          ref.delete(top);
        }
        if (ref.size > 0) expect(heap.peekAt()).toBe(earliest());
        else expect(heap.peek()).toBeUndefined();
      }
      // Drain: every live entry comes out once, in key order; cancelled ones never.
      const drained: number[] = [];
      for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
        expect(ref.has(top)).toBe(true);
        drained.push(ref.get(top)!);
        ref.delete(top);
      }
      expect(ref.size).toBe(0);
      expect(drained).toEqual([...drained].sort((x, y) => x - y));
      expect(heap.size).toBe(0);
    }
  });

  it('clear() empties it, and it is usable afterwards', () => {
    const heap = new TimerHeap<Entry>();
    for (let i = 0; i < 100; i++) heap.push({ id: i, live: true }, 100 - i);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    const e = { id: 7, live: true };
    heap.push(e, 5);
    expect(heap.pop()).toBe(e);
  });
});
