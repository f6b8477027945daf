import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSync, SyncAuthError } from '../../../agent/config/sync.js';
import { createAgentMetrics, metricValue } from '../../../agent/metrics/metrics.js';
import type { AgentConfig } from '../../../contract/index.js';
import { startControlPlane, type TestControlPlane } from './control-plane.js';
import { startPrefixProxy } from './prefix-proxy.js';
import { memoryLogger, until } from './results-server.js';

let dir: string;
let cp: TestControlPlane;
const syncs: ConfigSync[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-sync-'));
  cp = await startControlPlane(join(dir, 'pinger.db'));
});

afterEach(async () => {
  for (const s of syncs.splice(0)) s.stop();
  await cp.close();
  await rm(dir, { recursive: true, force: true });
});

function follow(
  url: string,
  token: string,
  extra: Partial<ConstructorParameters<typeof ConfigSync>[0]> = {},
) {
  const configs: { config: AgentConfig; origin: string; at: number }[] = [];
  const metrics = createAgentMetrics();
  const logger = memoryLogger();
  const sync = new ConfigSync({
    url,
    token,
    cachePath: join(dir, 'spool', 'config.json'),
    onConfig: (config, origin) => configs.push({ config, origin, at: performance.now() }),
    waitSeconds: 2,
    backoff: { baseMs: 20, capMs: 100 },
    metrics,
    logger,
    ...extra,
  });
  syncs.push(sync);
  const running = sync.run();
  running.catch(() => undefined);
  return { sync, configs, metrics, logger, running };
}

/** A TCP port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('config sync (against a real control plane)', () => {
  it('fetches the config, then wakes on a change within a fraction of a second (long-poll)', async () => {
    const source = await cp.createSource('agent-1');
    await cp.createDestination({ address: '127.0.0.1' });
    const { configs, metrics } = follow(cp.url, source.token);
    await until('first config', () => configs.length === 1);
    expect(configs[0]!.origin).toBe('control-plane');
    expect(configs[0]!.config.destinations.map((d) => d.address)).toEqual(['127.0.0.1']);
    expect(configs[0]!.config.source.sourceid).toBe(source.sourceid);
    // Let the poll settle into its wait, then change something.
    await until('waiting', async () => (await metricValue(metrics.lastSync)) > 0);
    const t0 = performance.now();
    await cp.createDestination({ address: '::1', protocol: 'icmp6' });
    await until('second config', () => configs.length === 2);
    expect(configs[1]!.at - t0).toBeLessThan(500);
    expect(configs[1]!.config.destinations.map((d) => d.address).sort()).toEqual(['127.0.0.1', '::1']);
    // 304s (the 2 s wait running out) apply nothing.
    const syncedAt = await metricValue(metrics.lastSync);
    await until('a 304', async () => (await metricValue(metrics.lastSync)) > syncedAt, 5000);
    expect(configs).toHaveLength(2);
    // The cache holds the latest config with its ETag.
    const cached = JSON.parse(await readFile(join(dir, 'spool', 'config.json'), 'utf8'));
    expect(cached.config.version).toBe(configs[1]!.config.version);
    expect(cached.etag).toBe(`"${configs[1]!.config.version}"`);
  });

  it('restarting while the control plane is down: probes from the cache at once, backs off, resumes', async () => {
    const source = await cp.createSource('agent-1');
    await cp.createDestination({ address: '127.0.0.1', interval: 500 });
    const first = follow(cp.url, source.token, { waitSeconds: 1 });
    await until('config cached', () => first.configs.length === 1);
    await until('cache written', () =>
      readFile(join(dir, 'spool', 'config.json'), 'utf8').then(
        () => true,
        () => false,
      ),
    );
    first.sync.stop();
    await first.running;

    const port = await deadPort();
    const second = follow(`http://127.0.0.1:${port}`, source.token, { waitSeconds: 1 });
    await until('config from cache', () => second.configs.length === 1);
    expect(second.configs[0]!.origin).toBe('cache');
    expect(second.configs[0]!.config.destinations[0]!.interval).toBe(500);
    const t0 = performance.now();
    await until('failures', async () => (await metricValue(second.metrics.syncFailures)) >= 5);
    // Full jitter between 0 and 20·2^n ms (cap 100): a handful of attempts, not a hot loop.
    const elapsed = performance.now() - t0;
    const failures = await metricValue(second.metrics.syncFailures);
    expect(failures).toBeLessThan(10 + elapsed / 10);
    expect(second.logger.lines.some((l) => /cannot fetch the config/.test(l.msg))).toBe(true);
    // The control plane returns (same database, the port the agent knows): the cached ETag is still current (304),
    // and the next change arrives.
    await cp.close();
    cp = await startControlPlane(join(dir, 'pinger.db'), port);
    await until('reachable again', () => second.logger.lines.some((l) => /reachable again/.test(l.msg)));
    expect(second.configs).toHaveLength(1);
    await cp.createDestination({ address: '127.0.0.2' });
    await until('new config', () => second.configs.length === 2);
    expect(second.configs[1]!.config.destinations).toHaveLength(2);
  });

  it('keeps the base URL path: polls a control plane published under /pinger/ behind a proxy', async () => {
    const source = await cp.createSource('agent-1');
    await cp.createDestination({ address: '127.0.0.1' });
    const proxy = await startPrefixProxy(cp.url);
    try {
      const { configs } = follow(`${proxy.url}/pinger`, source.token);
      await until('config through the prefix', () => configs.length === 1);
      expect(configs[0]!.config.destinations.map((d) => d.address)).toEqual(['127.0.0.1']);
      expect(new Set(proxy.paths)).toEqual(new Set(['/pinger/v1/agent/config']));
    } finally {
      for (const s of syncs.splice(0)) s.stop();
      await proxy.close();
    }
  });

  it('behind a proxy that drops If-None-Match and answers at once: polls spaced, same version not re-applied', async () => {
    const source = await cp.createSource('agent-1');
    await cp.createDestination({ address: '127.0.0.1' });
    const res = await fetch(`${cp.url}/v1/agent/config?wait=0`, {
      headers: { authorization: `Bearer ${source.token}` },
    });
    const config = await res.text();
    const polls: number[] = [];
    const proxy = createHttpServer((req, reply) => {
      polls.push(performance.now());
      req.resume();
      reply.writeHead(200, { 'content-type': 'application/json' }).end(config);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as { port: number }).port;
      const { configs } = follow(`http://127.0.0.1:${port}`, source.token, { minPollIntervalMs: 150 });
      await until('six polls', () => polls.length >= 6, 5000);
      for (const s of syncs.splice(0)) s.stop();
      // The first answer is a new config (the agent had none): the next poll follows at once, then spaced.
      const gaps = polls.slice(2).map((t, i) => t - polls[i + 1]!);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(140);
      // Applied (and cached) once: the same version again is not a new config.
      expect(configs).toHaveLength(1);
    } finally {
      for (const s of syncs.splice(0)) s.stop();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('ignores a damaged cache file', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'spool'), { recursive: true });
    await writeFile(join(dir, 'spool', 'config.json'), '{"etag":"\\"3\\"","config":{"version":');
    const source = await cp.createSource('agent-1');
    const { configs, logger } = follow(cp.url, source.token);
    await until('config', () => configs.length === 1);
    expect(configs[0]!.origin).toBe('control-plane');
    expect(logger.lines.some((l) => /cached config is damaged/.test(l.msg))).toBe(true);
  });

  it('a refused token ends the loop with a clear SyncAuthError', async () => {
    const { running } = follow(cp.url, 'pgr_agent_not-a-real-token');
    const err = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SyncAuthError);
    expect((err as SyncAuthError).status).toBe(401);
    expect((err as Error).message).toMatch(/refused the agent token \(HTTP 401.*PINGER_TOKEN/);
  });
});
