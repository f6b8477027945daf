/**
 * A per-request signal that aborts when any of the given ones does, and lets go of them when the request ends.
 *
 * `AbortSignal.any()` would do the first half, but on Node 20 every call leaves a WeakRef in the long-lived
 * source signal's dependant set that is never pruned (~55 B per call; a thousand agents long-polling the server's
 * shutdown signal grow it by ~170 MB a day). Plain listeners, removed by `release()`, leave nothing behind.
 */

export interface LinkedSignal {
  /** Aborts once any source signal has aborted (at once if one already had). */
  readonly signal: AbortSignal;
  /** Detaches from the source signals; call when the work the signal guards is over. Idempotent. */
  release(): void;
}

/** Links `signal` to every given source; `undefined` entries are skipped. */
export function linkSignals(...sources: (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const attached: AbortSignal[] = [];
  const onAbort = (event: Event) => {
    release();
    controller.abort((event.target as AbortSignal).reason);
  };
  function release() {
    for (const source of attached) source.removeEventListener('abort', onAbort);
    attached.length = 0;
  }
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      release();
      controller.abort(source.reason);
      break;
    }
    source.addEventListener('abort', onAbort, { once: true });
    attached.push(source);
  }
  return { signal: controller.signal, release };
}
