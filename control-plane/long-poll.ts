/**
 * Waiting for the config version to move past a value: pushed by the store where it can tell (one process),
 * polled where it cannot (DynamoDB behind Lambda). Timers only, no runtime imports.
 */
import type { Store } from './store/store.js';

export type WaitOutcome = 'changed' | 'timeout' | 'aborted';

export interface WaitOptions {
  /** Milliseconds to wait at most. */
  timeoutMs: number;
  /** How often to re-read the version when the store cannot push changes. */
  pollIntervalMs: number;
  /** Ends the wait early (client gone, server closing). */
  signal?: AbortSignal | undefined;
}

/** Resolves once `store.configVersion()` exceeds `since`, the time runs out, or `signal` aborts. */
export function waitForVersion(store: Store, since: number, options: WaitOptions): Promise<WaitOutcome> {
  return new Promise<WaitOutcome>((resolve) => {
    let settled = false;
    let poller: ReturnType<typeof setTimeout> | undefined;
    const cleanups: (() => void)[] = [];
    const finish = (outcome: WaitOutcome) => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      resolve(outcome);
    };

    if (options.signal?.aborted) return finish('aborted');
    const onAbort = () => finish('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => options.signal?.removeEventListener('abort', onAbort));

    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    cleanups.push(() => clearTimeout(timer));

    const unsubscribe = store.onChange?.((version) => {
      if (version > since) finish('changed');
    });
    if (unsubscribe) {
      cleanups.push(unsubscribe);
      // A change may have committed between the caller reading `since` and this subscription.
      void check();
      return;
    }
    cleanups.push(() => clearTimeout(poller));
    const poll = async () => {
      await check();
      if (!settled) poller = setTimeout(poll, options.pollIntervalMs);
    };
    poller = setTimeout(poll, options.pollIntervalMs);

    async function check() {
      try {
        if ((await store.configVersion()) > since) finish('changed');
      } catch {
        // A failed read is not a change; the next poll (or the timeout) decides.
      }
    }
  });
}
