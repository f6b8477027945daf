/**
 * Hash routes (`#/`, `#/d/ID`, `#/census/ID`, `#/manage`, `#/sources`): the server serves one page at `/`, on a Node host and
 * behind a Lambda URL alike, and a reload keeps the view. Hand-written: a router library would outweigh it.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'destination'; id: string }
  | { page: 'census'; id: string }
  | { page: 'manage' }
  | { page: 'sources' };

/** The route a hash names; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'd' && parts[1]) return { page: 'destination', id: parts[1] };
  if (parts[0] === 'census' && parts[1]) return { page: 'census', id: parts[1] };
  if (parts[0] === 'manage') return { page: 'manage' };
  if (parts[0] === 'sources') return { page: 'sources' };
  return { page: 'overview' };
}

/** The link to a route. */
export function href(route: Route): string {
  switch (route.page) {
    case 'destination':
      return `#/d/${encodeURIComponent(route.id)}`;
    case 'census':
      return `#/census/${encodeURIComponent(route.id)}`;
    case 'manage':
      return '#/manage';
    case 'sources':
      return '#/sources';
    default:
      return '#/';
  }
}

/** The current route, following the hash. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}
