/**
 * A per-request abort signal that follows a long-lived one (the component's stop signal) plus a deadline, and lets
 * go of it when the request ends. `AbortSignal.any([longLived, AbortSignal.timeout(ms)])` would do the same, but on
 * Node 20 every call leaves an entry in the long-lived signal's dependant set that is never removed (~55 B per
 * request, forever: one per result batch, one per config poll).
 */

/** The signal for one request; call `done()` when the request settled (always, e.g. in `finally`). */
export interface RequestSignal {
  readonly signal: AbortSignal;
  done(): void;
}

/** Aborts when `parent` aborts (with its reason) or after `timeoutMs` (with a `TimeoutError`), whichever first. */
export function requestSignal(parent: AbortSignal, timeoutMs: number): RequestSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException(`the request took longer than ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  timer.unref();
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}
