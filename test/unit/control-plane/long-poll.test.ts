import { describe, expect, it } from 'vitest';
import { waitForVersion } from '../../../control-plane/long-poll.js';
import type { ChangeListener, Store } from '../../../control-plane/store/store.js';

/** Just enough of a store for the waiter: a version and, optionally, change pushes. */
function versioned(push: boolean) {
  let version = 0;
  const listeners = new Set<ChangeListener>();
  const store = {
    configVersion: async () => version,
    onChange: push
      ? (listener: ChangeListener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        }
      : undefined,
  } as unknown as Store;
  return {
    store,
    listeners,
    bump() {
      version++;
      for (const listener of listeners) listener(version);
    },
  };
}

describe('waitForVersion', () => {
  it('sees a change committed before it subscribed', async () => {
    const s = versioned(true);
    s.bump();
    expect(await waitForVersion(s.store, 0, { timeoutMs: 5000, pollIntervalMs: 1000 })).toBe('changed');
    expect(s.listeners.size).toBe(0);
  });

  it('wakes on a push, and unsubscribes', async () => {
    const s = versioned(true);
    const waiting = waitForVersion(s.store, 0, { timeoutMs: 5000, pollIntervalMs: 1000 });
    await Promise.resolve();
    s.bump();
    expect(await waiting).toBe('changed');
    expect(s.listeners.size).toBe(0);
  });

  it('polls when the store cannot push', async () => {
    const s = versioned(false);
    const began = performance.now();
    const waiting = waitForVersion(s.store, 0, { timeoutMs: 5000, pollIntervalMs: 20 });
    s.bump();
    expect(await waiting).toBe('changed');
    expect(performance.now() - began).toBeLessThan(1000);
  });

  it('times out, and stops at an abort', async () => {
    const s = versioned(true);
    expect(await waitForVersion(s.store, 0, { timeoutMs: 30, pollIntervalMs: 10 })).toBe('timeout');
    const abort = new AbortController();
    const waiting = waitForVersion(s.store, 0, { timeoutMs: 5000, pollIntervalMs: 10, signal: abort.signal });
    abort.abort();
    expect(await waiting).toBe('aborted');
    expect(s.listeners.size).toBe(0);
    expect(
      await waitForVersion(s.store, 0, { timeoutMs: 5000, pollIntervalMs: 10, signal: abort.signal }),
    ).toBe('aborted');
  });
});
