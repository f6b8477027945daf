/**
 * The responder's delay: runs each action a fixed time after the moment its packet was read, to within tens of
 * microseconds, whatever the phase of the arrival.
 *
 * A Node timer cannot do that: it counts whole milliseconds of a loop clock that truncates CLOCK_MONOTONIC, so
 * the delay it gives depends on where in its millisecond a packet arrives. The prober under test is a Node
 * process too; its timers fire just after the same millisecond ticks, so its packets arrive at one phase and get
 * a shorter delay on average than those of iputils ping, which arrive at any phase — a bias of a few hundred
 * microseconds between two tools crossing the same responder, made by the lab, not by either tool.
 *
 * Here a worker thread sleeps until each deadline with `Atomics.wait` (a futex wait with a sub-millisecond
 * timeout) and then posts the entry's id back; the main thread runs the action when the message arrives. The
 * remaining error is the thread wake-up and the message hop, the same for every arrival phase. Entries reach the
 * worker through a ring in the order they were added, but not in deadline order: `since` is the kernel's arrival
 * stamp, and the responder drains its sockets one after the other, so a packet read later may have arrived
 * earlier. The worker keeps them in a heap, so that none waits behind a later one.
 */
import { Worker } from 'node:worker_threads';

/** Entries in flight at most (a 20 ms delay at the lab's rates keeps a few hundred). */
const CAPACITY = 1 << 14;

// control: [0] entries written (the worker waits on it), [1] stop flag.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const control = new Int32Array(workerData.control);
const deadlines = new Float64Array(workerData.deadlines);
const mask = deadlines.length - 1;
// Entries taken from the ring, earliest deadline first (ties: first written first): a binary min-heap.
const heap = [];
const before = (a, b) => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
function push(entry) {
  let i = heap.push(entry) - 1;
  while (i > 0 && before(entry, heap[(i - 1) >> 1])) {
    heap[i] = heap[(i - 1) >> 1];
    i = (i - 1) >> 1;
  }
  heap[i] = entry;
}
function pop() {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
  return top;
}
let read = 0;
let seq = 0;
while (Atomics.load(control, 1) === 0) {
  const written = Atomics.load(control, 0);
  for (; read !== written; read = (read + 1) | 0) push({ deadline: deadlines[read & mask], id: read, seq: seq++ });
  const now = Number(process.hrtime.bigint());
  if (heap.length > 0 && heap[0].deadline <= now) {
    parentPort.postMessage(pop().id);
    continue;
  }
  // Until the earliest deadline, or a new entry (which may be due sooner), or stop: all notify index 0.
  Atomics.wait(control, 0, written, heap.length > 0 ? (heap[0].deadline - now) / 1e6 : 1000);
}
`;

export class DelayLine {
  readonly #delayNs: number;
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  readonly #deadlines = new Float64Array(new SharedArrayBuffer(CAPACITY * 8));
  readonly #actions = new Map<number, () => void>();
  readonly #worker: Worker | undefined;
  #written = 0;
  #closed = false;

  constructor(delayMs: number) {
    this.#delayNs = Math.round(delayMs * 1e6);
    if (this.#delayNs === 0) return;
    this.#worker = new Worker(WORKER, {
      eval: true,
      workerData: { control: this.#control.buffer, deadlines: this.#deadlines.buffer },
    });
    this.#worker.on('message', (id: number) => {
      const action = this.#actions.get(id);
      this.#actions.delete(id);
      action?.();
    });
    this.#worker.on('error', (err) => {
      console.error(`delay line: ${err.message}`);
      process.exit(1);
    });
  }

  /** Runs `action` the delay after `since` (a `process.hrtime.bigint()` reading), or at once without a delay. */
  after(since: bigint, action: () => void): void {
    if (this.#closed) throw new Error('delay line: closed');
    if (this.#worker === undefined) {
      action();
      return;
    }
    // An entry not yet run is in #actions, and the worker copies entries out of the ring before it runs any:
    // below CAPACITY in flight, a slot is never rewritten before the worker took it.
    if (this.#actions.size >= CAPACITY)
      throw new Error(`delay line: more than ${CAPACITY} entries in flight`);
    const id = this.#written;
    this.#deadlines[id & (CAPACITY - 1)] = Number(since) + this.#delayNs;
    this.#actions.set(id, action);
    this.#written = (id + 1) | 0;
    Atomics.store(this.#control, 0, this.#written);
    Atomics.notify(this.#control, 0);
  }

  /**
   * Stops the worker; pending actions are dropped at once, before this returns: a message the worker already
   * posted would otherwise still run its action after the caller closed the sockets it answers on.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#actions.clear();
    Atomics.store(this.#control, 1, 1);
    Atomics.notify(this.#control, 0);
    await this.#worker?.terminate();
  }
}
