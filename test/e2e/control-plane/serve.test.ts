/** `pinger serve` as a real process: first start, restart on the same file, long-poll over HTTP, SIGTERM. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from './server-process.js';

/** The few fields these calls read back. */
interface Answer {
  id: string;
  token: string;
  source: { id: string };
}

async function call(
  url: string,
  method: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await request(url, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Answer) : undefined,
  };
}

describe('pinger serve (real process)', () => {
  let dir: string;
  const servers: ServerProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pinger-serve-'));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (adminToken?: string) => {
    const server = await startServer({
      dbPath: join(dir, 'data', 'pinger.db'),
      adminToken,
      logLevel: 'debug',
    });
    servers.push(server);
    return server;
  };

  it('generates an admin token on first start, prints it once, and keeps only its hash', async () => {
    const first = await start();
    const line = first.stdout.find((l) => l.includes('admin token'));
    const admin = /(pgr_admin_\S+)/.exec(line ?? '')?.[1];
    expect(admin).toBeDefined();
    expect((await call(`${first.url}/v1/sources`, 'GET', admin!)).status).toBe(200);
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const second = await start();
    expect(second.stdout.join('\n')).not.toContain('pgr_admin_');
    expect((await call(`${second.url}/v1/sources`, 'GET', admin!)).status).toBe(200);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'data', 'pinger.db')).includes(Buffer.from(admin!))).toBe(false);
  });

  it('keeps data across restarts and wakes a long-poll within 100 ms of a write', async () => {
    const admin = 'e2e-admin-token-0123456789-abcdefghijkl';
    let server = await start(admin);
    const source = await call(`${server.url}/v1/sources`, 'POST', admin, { name: 'e2e' });
    expect(source.status).toBe(201);
    await server.stop('SIGTERM');
    server = await start(admin);
    const agent = source.json!.token as string;
    const first = await call(`${server.url}/v1/agent/config`, 'GET', agent);
    expect(first.status).toBe(200);
    expect(first.json!.source.id).toBe(source.json!.id);

    // Park a long-poll (the server logs when it starts waiting), then write.
    const logged = server.stderr.length;
    const poll = request(`${server.url}/v1/agent/config?wait=20`, {
      headers: { authorization: `Bearer ${agent}`, 'if-none-match': first.headers.etag as string },
    });
    await server.waitForLog('long-poll waiting', { after: logged });
    const wrote = performance.now();
    const created = await call(`${server.url}/v1/destinations`, 'POST', admin, { address: '198.18.0.7' });
    expect(created.status).toBe(201);
    const res = await poll;
    const latency = performance.now() - wrote;
    expect(res.statusCode).toBe(200);
    const config = (await res.body.json()) as { destinations: { address: string }[] };
    expect(config.destinations.map((d) => d.address)).toEqual(['198.18.0.7']);
    expect(latency).toBeLessThan(100);
  });

  it('answers waiting long-polls and exits 0 on SIGTERM', async () => {
    const admin = 'e2e-admin-token-0123456789-abcdefghijkl';
    const server = await start(admin);
    const source = await call(`${server.url}/v1/sources`, 'POST', admin, { name: 'e2e' });
    const agent = source.json!.token as string;
    const etag = (await call(`${server.url}/v1/agent/config`, 'GET', agent)).headers.etag as string;
    const logged = server.stderr.length;
    const poll = request(`${server.url}/v1/agent/config?wait=30`, {
      headers: { authorization: `Bearer ${agent}`, 'if-none-match': etag },
    });
    await server.waitForLog('long-poll waiting', { after: logged });
    const began = performance.now();
    const exit = server.stop('SIGTERM');
    expect((await poll).statusCode).toBe(304);
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(performance.now() - began).toBeLessThan(5000);
  });

  it('refuses to start with a short PINGER_ADMIN_TOKEN', async () => {
    await expect(startServer({ dbPath: join(dir, 'x.db'), adminToken: 'short' })).rejects.toThrow(
      /at least 32 characters/,
    );
  });
});
