/**
 * A page whose code loads when first shown: the destination and census pages carry uPlot (about 40 % of the
 * script), which the overview — the page a visit starts on — never draws, so it is not compiled before it.
 * Hand-written rather than preact/compat's `lazy` + `Suspense`: these few lines, and no compat layer in the build.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  let pending: Promise<ComponentType<P>> | undefined;
  return function LazyPage(props: P) {
    const [Page, setPage] = useState(() => loaded);
    const [error, setError] = useState<string | undefined>();
    useEffect(() => {
      if (Page) return;
      let live = true;
      pending ??= load().then((c) => {
        loaded = c;
        return c;
      });
      pending.then(
        (c) => live && setPage(() => c),
        (err: unknown) => {
          // A failed fetch of the chunk is tried again on the next visit, not remembered.
          pending = undefined;
          if (live) setError(`[web] this page's code did not load: ${(err as Error).message}`);
        },
      );
      return () => {
        live = false;
      };
    }, [Page]);
    if (Page) return <Page {...props} />;
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="empty">Loading…</p>
    );
  };
}
