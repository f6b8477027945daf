/**
 * A real reverse proxy standing in for a control plane published under a path prefix (`/pinger/…`), with a
 * catch-all page for every other path that answers 200 (as many front ends do). An agent that loses the prefix
 * gets 200 and HTML, never the control plane.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PrefixProxy {
  /** `http://127.0.0.1:<port>` (the catch-all root). */
  url: string;
  /** Requests per path as received, for asserting where the agent went. */
  paths: string[];
  close(): Promise<void>;
}

export async function startPrefixProxy(target: string, prefix = '/pinger'): Promise<PrefixProxy> {
  const upstream = new URL(target);
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    paths.push(path.split('?')[0]!);
    if (!path.startsWith(`${prefix}/`)) {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>');
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: path.slice(prefix.length),
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (err) => res.writeHead(502).end(err.message));
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
