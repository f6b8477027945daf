/**
 * The lab responder's delay line (delay-line.ts): each action runs the delay after its own `since`, whatever order
 * the entries came in, and nothing runs once it is closed. No root needed: a worker thread and the clock.
 */
import { afterEach, expect, it } from 'vitest';
import { until } from '../helpers/until.js';
import { DelayLine } from './delay-line.js';

const MS = 1_000_000n;

let line: DelayLine | undefined;
afterEach(async () => {
  await line?.close();
  line = undefined;
});

it('runs an entry at its own deadline even when one queued before it is due later', async () => {
  // The responder's `since` is a kernel stamp; sockets are drained one after the other, so an entry can come in
  // after one that arrived later and must not wait behind it.
  line = new DelayLine(200);
  const ran: { name: string; at: bigint }[] = [];
  const now = process.hrtime.bigint();
  line.after(now, () => ran.push({ name: 'later', at: process.hrtime.bigint() }));
  line.after(now - 150n * MS, () => ran.push({ name: 'earlier', at: process.hrtime.bigint() }));
  await until('both actions to run', () => ran.length === 2, 5_000);

  expect(ran.map((r) => r.name)).toEqual(['earlier', 'later']);
  // Due 50 ms after `now`; the later one 200 ms after. Generous bounds for a loaded machine, still far apart.
  expect(ran[0]!.at - now).toBeGreaterThanOrEqual(50n * MS);
  expect(ran[0]!.at - now).toBeLessThan(150n * MS);
  expect(ran[1]!.at - now).toBeGreaterThanOrEqual(200n * MS);
});

it('keeps the order of entries due at the same time', async () => {
  line = new DelayLine(5);
  const ran: number[] = [];
  const since = process.hrtime.bigint();
  for (let i = 0; i < 100; i++) line.after(since, () => ran.push(i));
  await until('every action to run', () => ran.length === 100, 5_000);
  expect(ran).toEqual([...Array(100).keys()]);
});

it('runs nothing once closed, not even an entry the worker had already handed back', async () => {
  line = new DelayLine(1);
  let started = false;
  line.after(process.hrtime.bigint(), () => {
    started = true;
  });
  await until('the worker to run a first action', () => started, 5_000);
  let ran = false;
  // Already due: the worker hands it back at once; keep this thread busy so the message waits in the queue.
  line.after(process.hrtime.bigint() - 10n * MS, () => {
    ran = true;
  });
  const busyUntil = process.hrtime.bigint() + 50n * MS;
  while (process.hrtime.bigint() < busyUntil) {}
  const closing = line.close();
  line = undefined;
  await closing;
  // Give the loop turns in which a queued message would be dispatched.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  expect(ran).toBe(false);
});

it('runs an action at once without a delay, with no worker', () => {
  line = new DelayLine(0);
  let ran = false;
  line.after(process.hrtime.bigint(), () => {
    ran = true;
  });
  expect(ran).toBe(true);
});
