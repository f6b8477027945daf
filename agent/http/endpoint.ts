/**
 * Resolves an API path against the control plane's base URL, keeping the base's own path: a control plane behind
 * a proxy at `https://h/pinger/` (or `https://h/pinger`) serves `https://h/pinger/v1/agent/results`. A leading
 * slash (`new URL('/v1/…', base)`) would silently drop the `/pinger` prefix and talk to whatever owns `/v1/` on
 * that host.
 */
export function endpointUrl(base: string, path: string): URL {
  const url = new URL(base);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return new URL(path.replace(/^\/+/, ''), url);
}
