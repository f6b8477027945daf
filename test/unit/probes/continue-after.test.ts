/**
 * A probe that waits (for its UDP source port, for a route) still yields exactly one outcome, whatever happens
 * while it waits: continueAfter is the one place that guarantees it for the probers.
 */
import { describe, expect, it } from 'vitest';
import { continueAfter } from '../../../agent/probes/prober-base.js';
import type { ProbeOutcome } from '../../../agent/probes/types.js';
import { unsentOutcome } from '../../../agent/probes/types.js';

const outcome = (): ProbeOutcome =>
  unsentOutcome({ rtime: '0', target: '127.0.0.1', protocol: 'udp', rseq: 0 });

/** Runs continueAfter and resolves once its promise chain has run (it never takes more than a few ticks). */
async function settle(pending: Promise<number>, next: (v: number, done: (o: ProbeOutcome) => void) => void) {
  const calls: string[] = [];
  continueAfter(
    pending,
    next,
    (reason) => calls.push(`refused: ${reason}`),
    () => calls.push('done'),
  );
  await pending.catch(() => undefined);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return calls;
}

describe('continueAfter', () => {
  it('runs next with the value, and its done reaches the caller once', async () => {
    const calls = await settle(Promise.resolve(7), (v, done) => {
      expect(v).toBe(7);
      done(outcome());
    });
    expect(calls).toEqual(['done']);
  });

  it('refuses with the reason when the wait fails', async () => {
    const calls = await settle(Promise.reject(new Error('EADDRINUSE')), () => {
      throw new Error('next must not run');
    });
    expect(calls).toEqual(['refused: EADDRINUSE']);
  });

  it('refuses when next throws before calling done, not when it throws after', async () => {
    expect(
      await settle(Promise.resolve(1), () => {
        throw new Error('packet too big');
      }),
    ).toEqual(['refused: packet too big']);
    expect(
      await settle(Promise.resolve(1), (_v, done) => {
        done(outcome());
        throw new Error('after done');
      }),
    ).toEqual(['done']);
  });
});
