import { describe, expect, it } from 'vitest';
import { TimerHeap } from '../../../agent/schedule/timer-heap.js';
import { mulberry32 } from '../../helpers/prng.js';

interface Entry {
  id: number;
  gen: number;
}

describe('TimerHeap', () => {
  it('pops in key order, skips cancelled entries and keeps a re-pushed one at its new time only', () => {
    const heap = new TimerHeap<Entry>();
    const e = (id: number): Entry => ({ id, gen: 0 });
    const [a, b, c, d] = [e(1), e(2), e(3), e(4)];
    heap.push(c, 30);
    heap.push(a, 10);
    heap.push(d, 40);
    heap.push(b, 20);
    a.gen++; // cancelled
    expect(heap.peekAt()).toBe(20);
    expect(heap.pop()).toBe(b);
    expect(heap.peek()).toBe(c);
    heap.retimeTop(45); // c (30) moves behind d (40)
    expect(heap.peekAt()).toBe(40);
    expect(heap.peek()).toBe(d);
    // Retimed the way the scheduler does it: cancel, then push again (its old slot at 40 is stale).
    d.gen++;
    heap.push(d, 50);
    expect(heap.pop()).toBe(c);
    expect(heap.peekAt()).toBe(50);
    expect(heap.pop()).toBe(d);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peekAt()).toBe(Number.POSITIVE_INFINITY);
    expect(() => heap.retimeTop(1)).toThrow(/empty heap/);
  });

  it('agrees with a sorted reference under random push, cancel, re-push, retimeTop and pop (ties, growth)', () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const rnd = mulberry32(seed); // seeded, so a failure replays
      const heap = new TimerHeap<Entry>();
      // The reference: every live entry with its key.
      const ref = new Map<Entry, number>();
      let nextId = 0;
      const earliest = () => Math.min(...ref.values());
      for (let step = 0; step < 4000; step++) {
        const op = rnd();
        if (op < 0.4 || ref.size === 0) {
          // Integer keys in a narrow range: many ties.
          const entry = { id: nextId++, gen: 0 };
          const at = Math.floor(rnd() * 200);
          heap.push(entry, at);
          ref.set(entry, at);
        } else if (op < 0.5) {
          const victims = [...ref.keys()];
          const victim = victims[Math.floor(rnd() * victims.length)]!;
          victim.gen++;
          ref.delete(victim);
        } else if (op < 0.6) {
          // Retime any entry: cancel and push again, the same object (its old slot stays behind, stale).
          const entries = [...ref.keys()];
          const entry = entries[Math.floor(rnd() * entries.length)]!;
          entry.gen++;
          const at = Math.floor(rnd() * 300);
          heap.push(entry, at);
          ref.set(entry, at);
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
    for (let i = 0; i < 100; i++) heap.push({ id: i, gen: 0 }, 100 - i);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    const e = { id: 7, gen: 0 };
    heap.push(e, 5);
    expect(heap.pop()).toBe(e);
  });
});
