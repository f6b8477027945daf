/**
 * The addon's Timer (timer.c) and the system clock built on it, on the real clock and the real event loop: firing
 * precision, never early, disarm and re-arm, close, errors, the callback's Node semantics (microtasks after it,
 * throws as uncaught exceptions), and that only an armed timer keeps a process alive (checked in child processes).
 * No privileges. Precision bounds leave room for a busy 2-core machine; "never early" has no slack at all.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/clock.js';
import native from '../../../agent/native/index.cjs';

const ADDON = fileURLToPath(new URL('../../../agent/native/index.cjs', import.meta.url));
const ms = (n: number) => BigInt(Math.round(n * 1e6));
const now = () => process.hrtime.bigint();

/** A timer and a promise of the time it fired (hrtime ns); the timer is closed once it fired. */
function oneShot(): { timer: native.Timer; fired: Promise<bigint> } {
  let resolve!: (at: bigint) => void;
  const fired = new Promise<bigint>((r) => {
    resolve = r;
  });
  const timer = new native.Timer(() => {
    resolve(now());
    timer.close();
  });
  return { timer, fired };
}

/** Runs `script` (CommonJS, `Timer` in scope) in a child node; resolves with its output and how long it lived. */
function child(script: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const source = `const { Timer } = require(${JSON.stringify(ADDON)});\n${script}`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', source], { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('native Timer', () => {
  it('fires 50 timers at now+1…5 ms, none early, median error under 0.2 ms', async () => {
    const runs = Array.from({ length: 50 }, (_, i) => {
      const { timer, fired } = oneShot();
      const deadline = now() + ms(1 + (i % 5) + (i % 7) / 7);
      timer.arm(deadline);
      return fired.then((at) => Number(at - deadline) / 1e6);
    });
    const errors = (await Promise.all(runs)).sort((a, b) => a - b);
    expect(errors[0]).toBeGreaterThanOrEqual(0);
    expect(errors[25]).toBeLessThan(0.2);
  });

  it('fires at once for a deadline in the past', async () => {
    const { timer, fired } = oneShot();
    const before = now();
    timer.arm(before - ms(1000));
    expect(Number((await fired) - before) / 1e6).toBeLessThan(50);
  });

  it('does not fire once disarmed, and fires again when re-armed', async () => {
    let calls = 0;
    const timer = new native.Timer(() => {
      calls++;
    });
    timer.arm(now() + ms(2));
    timer.disarm();
    timer.disarm(); // a no-op when not armed
    const sentinel = oneShot();
    sentinel.timer.arm(now() + ms(20));
    await sentinel.fired;
    expect(calls).toBe(0);
    const again = oneShot();
    timer.arm(now() + ms(1));
    again.timer.arm(now() + ms(20));
    await again.fired;
    expect(calls).toBe(1);
    timer.close();
  });

  it('moves the firing when re-armed earlier or later', async () => {
    const earlier = oneShot();
    const start = now();
    earlier.timer.arm(start + ms(400));
    earlier.timer.arm(start + ms(3));
    const at = Number((await earlier.fired) - start) / 1e6;
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(300);

    const later = oneShot();
    const start2 = now();
    later.timer.arm(start2 + ms(2));
    later.timer.arm(start2 + ms(30));
    expect(Number((await later.fired) - start2) / 1e6).toBeGreaterThanOrEqual(30);
  });

  it('fires once per arming, with the timer as this', async () => {
    let calls = 0;
    let self: unknown;
    const { timer: sentinel, fired } = oneShot();
    const timer = new native.Timer(function (this: native.Timer) {
      calls++;
      self = this;
    });
    timer.arm(now() + ms(1));
    sentinel.arm(now() + ms(25));
    await fired;
    expect(calls).toBe(1);
    expect(self).toBe(timer);
    timer.close();
  });

  it('closes idempotently; a closed timer does not fire and cannot be armed', async () => {
    let calls = 0;
    const timer = new native.Timer(() => {
      calls++;
    });
    timer.arm(now() + ms(1));
    timer.close();
    timer.close();
    timer.disarm(); // a no-op once closed
    expect(() => timer.arm(now())).toThrow(/\[agent:timer\] arm: the timer is closed/);
    const sentinel = oneShot();
    sentinel.timer.arm(now() + ms(20));
    await sentinel.fired;
    expect(calls).toBe(0);
  });

  it('rejects bad arguments, naming them', () => {
    expect(() => new native.Timer(1 as never)).toThrow(/callback: must be a function/);
    const timer = new native.Timer(() => {});
    expect(() => timer.arm(5 as never)).toThrow(/deadlineNs: must be a bigint/);
    expect(() => timer.arm(2n ** 70n)).toThrow(/deadlineNs: must be a bigint within int64/);
    expect(() => native.Timer.prototype.arm.call({}, 1n)).toThrow(TypeError); // V8's receiver check
    timer.close();
  });

  it('runs microtasks and nextTicks right after the callback, before other macrotasks', async () => {
    const order: string[] = [];
    const { timer, fired } = oneShot();
    const probe = new native.Timer(() => {
      setImmediate(() => order.push('immediate'));
      process.nextTick(() => order.push('tick'));
      queueMicrotask(() => order.push('microtask'));
      order.push('callback');
      probe.close();
    });
    probe.arm(now() + ms(1));
    timer.arm(now() + ms(30));
    await fired;
    expect(order).toEqual(['callback', 'tick', 'microtask', 'immediate']);
  });
});

describe('native Timer and the process lifetime', () => {
  it('keeps the process alive while armed, and lets it exit after firing', async () => {
    const run = await child(`
      const t0 = process.hrtime.bigint();
      const t = new Timer(() => console.log('fired', Number(process.hrtime.bigint() - t0) / 1e6 >= 50));
      t.arm(t0 + 50000000n);`);
    expect(run).toMatchObject({ code: 0, stdout: 'fired true\n' });
    expect(run.ms).toBeLessThan(5000);
  });

  it('lets the process exit when the timer is disarmed or never armed', async () => {
    const run = await child(`
      const idle = new Timer(() => console.log('idle fired'));
      const t = new Timer(() => console.log('fired'));
      t.arm(process.hrtime.bigint() + 60000000000n);
      t.disarm();
      console.log('done');`);
    expect(run).toMatchObject({ code: 0, stdout: 'done\n' });
    expect(run.ms).toBeLessThan(5000);
  });

  it('surfaces a throwing callback as an uncaught exception, as setTimeout does', async () => {
    const handled = await child(`
      process.on('uncaughtException', (err) => console.log('uncaught', err.message));
      new Timer(() => { throw new Error('boom'); }).arm(0n);`);
    expect(handled).toMatchObject({ code: 0, stdout: 'uncaught boom\n' });

    const unhandled = await child(`new Timer(() => { throw new Error('boom'); }).arm(0n);`);
    expect(unhandled.code).toBe(1);
    expect(unhandled.stderr).toMatch(/Error: boom/);
  });
});

describe('systemClock timers', () => {
  it('fire after their delay, never before, within 0.2 ms at the median', async () => {
    const errors = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const delay = 1 + (i % 5) * 0.37;
        const start = performance.now();
        return new Promise<number>((resolve) => {
          systemClock.setTimer(() => resolve(performance.now() - start - delay), delay);
        });
      }),
    );
    errors.sort((a, b) => a - b);
    expect(errors[0]).toBeGreaterThanOrEqual(0);
    expect(errors[15]).toBeLessThan(0.2);
  });

  it('clears a pending timer, and a stale handle cannot cancel the pooled timer’s next use', async () => {
    let cleared = 0;
    const pending = systemClock.setTimer(() => cleared++, 1);
    systemClock.clearTimer(pending);
    const first = await new Promise<ReturnType<typeof systemClock.setTimer>>((resolve) => {
      const handle = systemClock.setTimer(() => resolve(handle), 1);
    });
    // The pooled timer behind `first` (and `pending`) now serves the next call; the old handles must not touch it.
    const fired = new Promise<void>((resolve) => systemClock.setTimer(resolve, 2));
    systemClock.clearTimer(first);
    systemClock.clearTimer(pending);
    await fired;
    expect(cleared).toBe(0);
  });

  it('clears a setTimeout fallback handle too', () => {
    // A delay that is not a finite number goes to setTimeout, which reads it as 1 ms (as do all delays when the
    // addon cannot make a timer).
    const handle = systemClock.setTimer(() => {
      throw new Error('must not fire');
    }, Number.NaN);
    systemClock.clearTimer(handle);
  });
});
