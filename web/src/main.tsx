/** The dashboard's entry: sign in, then the page the hash names inside one shell. */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, createApi, session } from './api.js';
import { lazyPage } from './lazy-page.js';
import { ManagePage } from './pages/manage.js';
import { OverviewPage } from './pages/overview.js';
import { SignIn } from './pages/sign-in.js';
import { SourcesPage } from './pages/sources.js';
import { href, type Route, useRoute } from './router.js';
import { type Session, SessionContext } from './session-context.js';

// The pages with uPlot in them, in chunks of their own (see lazy-page.tsx).
const DestinationPage = lazyPage(() => import('./pages/destination.js').then((m) => m.DestinationPage));
const CensusPage = lazyPage(() => import('./pages/census.js').then((m) => m.CensusPage));

function Shell({ value, route, checked }: { value: Session; route: Route; checked: boolean }) {
  const nav: [Route, string][] = [
    [{ page: 'overview' }, 'Overview'],
    [{ page: 'manage' }, 'Destinations'],
    [{ page: 'sources' }, 'Sources'],
  ];
  useEffect(() => {
    const titles = {
      overview: 'Overview',
      destination: 'Destination',
      census: 'Census',
      manage: 'Destinations',
      sources: 'Sources',
    };
    document.title = `${titles[route.page]} · Pinger`;
  }, [route.page]);
  return (
    <SessionContext.Provider value={value}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          <span class="dot" aria-hidden="true" /> Pinger
        </a>
        <nav aria-label="Pages">
          {nav.map(([r, label]) => (
            <a
              key={label}
              href={href(r)}
              aria-current={
                r.page === route.page ||
                (route.page === 'destination' && r.page === 'overview') ||
                (route.page === 'census' && r.page === 'manage')
                  ? 'page'
                  : undefined
              }
            >
              {label}
            </a>
          ))}
        </nav>
        {checked && (
          <span class="who" title="What this token may do">
            {value.kind === 'admin' ? 'admin' : 'read-only'}
          </span>
        )}
        <button type="button" class="ghost" onClick={value.signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === 'overview' && <OverviewPage />}
        {route.page === 'destination' && <DestinationPage id={route.id} />}
        {route.page === 'census' && <CensusPage id={route.id} />}
        {route.page === 'manage' && <ManagePage />}
        {route.page === 'sources' && <SourcesPage />}
      </main>
    </SessionContext.Provider>
  );
}

function App() {
  const route = useRoute();
  const [token, setToken] = useState(session.get);
  const [kind, setKind] = useState<'admin' | 'read' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const signOut = () => {
    session.clear();
    setToken(null);
    setKind(undefined);
  };
  const api = useMemo(() => (token ? createApi(token, signOut) : undefined), [token]);

  // Ask the server what the token is, so a bad token fails here and not on the first page.
  useEffect(() => {
    if (!api) return;
    api.get<{ kind: 'admin' | 'read' }>('/v1/tokens/self').then(
      (self) => {
        setKind(self.kind);
        setError(undefined);
      },
      (err: unknown) => {
        session.clear();
        setToken(null);
        setError(
          err instanceof ApiError && (err.status === 401 || err.status === 403)
            ? 'The control plane does not take this token (an admin or read-only token is needed).'
            : String((err as Error).message),
        );
      },
    );
  }, [api]);

  // The pages start loading at once, beside the token check; until it answers they show no edit controls
  // (as for a read token), and a token the server refuses sends everyone back here.
  if (!api) {
    return (
      <SignIn
        error={error}
        onToken={(t) => {
          session.set(t);
          setToken(t);
        }}
      />
    );
  }
  return <Shell value={{ api, kind: kind ?? 'read', signOut }} checked={kind !== undefined} route={route} />;
}

// The moment the script has loaded and run its imports: what precedes it is the HTML and the script's download.
performance.mark('app:start');
render(<App />, document.getElementById('app')!);
