/**
 * `pinger up` (npm start) as a user runs it: a real process in an empty directory, loopback probed over IPv4
 * and IPv6 by the local agent, results read back through the API, Ctrl-C (SIGINT) ending it with exit 0. Then
 * the second start, which must reuse everything, and a start that finds its agent token lost.
 */
import { chmod, mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/client.js';
import { readSecret } from '../../../cli/up/secret-file.js';
import { BIN, exec, pingerEnv } from '../../helpers/pinger-process.js';
import { until } from '../../helpers/until.js';
import { startUp, type UpProcess } from './up-process.js';

let cwd: string;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'pinger-up-'));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** Waits (at most 20 s) until results newer than `sinceNs` show a reply from 127.0.0.1 and from ::1. */
async function waitForLoopbackReplies(api: ApiClient, sinceNs: bigint, up: UpProcess): Promise<void> {
  let answered = new Set<string>();
  await until(
    () => `replies from both loopbacks (saw: ${[...answered]})\n${up.stderr()}`,
    async () => {
      const page = await api.resultPage({ status: 'reply', from: `${sinceNs}` }, 100);
      answered = new Set(page.results.map((r) => `${r.protocol} ${r.address}`));
      return answered.has('icmp 127.0.0.1') && answered.has('icmp6 ::1');
    },
    20_000,
    200,
  );
}

/** SIGINT, as Ctrl-C sends it: exit 0, promptly. */
async function interrupt(up: UpProcess): Promise<void> {
  const exit = await up.stop('SIGINT', 15_000);
  expect({ code: exit.code, signal: exit.signal }, up.stderr()).toEqual({ code: 0, signal: null });
  expect(exit.ms).toBeLessThan(10_000);
}

describe('pinger up', () => {
  let adminToken: string;
  let localId: string;

  it('starts everything in an empty directory, probes both loopbacks, and stops on Ctrl-C', async () => {
    const started = BigInt(Date.now()) * 1_000_000n;
    const up = await startUp(cwd, ['--port', '0']);
    try {
      const match = /admin token \(new, shown once, kept in data\/admin\.token\): (pgr_admin_\S+)/.exec(
        up.banner,
      );
      expect(match, up.banner).not.toBeNull();
      adminToken = match![1]!;
      expect(await readSecret(join(cwd, 'data/admin.token'))).toBe(adminToken);
      expect(await mode(join(cwd, 'data/admin.token'))).toBe(0o600);
      expect(await mode(join(cwd, 'data/local-agent.token'))).toBe(0o600);
      expect(up.banner).toContain('npx pinger results');
      expect(up.banner).toContain('npx pinger dest add');
      expect(up.banner).toContain(`export PINGER_URL=${up.url}`);

      const api = new ApiClient({ url: up.url, token: adminToken });
      const sources = await api.listSources();
      expect(sources.map((s) => s.name)).toEqual(['local']);
      localId = sources[0]!.id;
      const destinations = await api.listDestinations();
      expect(destinations.map((d) => [d.address, d.protocol, d.interval, d.sources]).sort()).toEqual([
        ['127.0.0.1', 'icmp', 1000, [localId]],
        ['::1', 'icmp6', 1000, [localId]],
      ]);
      await waitForLoopbackReplies(api, started, up);
    } finally {
      await interrupt(up);
    }
  });

  it('starts again on the same database: same source, same destinations, no new admin token', async () => {
    const started = BigInt(Date.now()) * 1_000_000n;
    const up = await startUp(cwd, ['--port', '0']);
    try {
      expect(up.banner).toContain('admin token: in data/admin.token');
      expect(up.banner).not.toContain('pgr_admin_');
      expect(up.banner).not.toContain('added destinations');
      const api = new ApiClient({ url: up.url, token: adminToken });
      expect((await api.listSources()).map((s) => s.id)).toEqual([localId]);
      expect(await api.listDestinations()).toHaveLength(2);
      await waitForLoopbackReplies(api, started, up);
    } finally {
      await interrupt(up);
    }
  });

  it('renews a lost agent token: the old one no longer works, results flow again', async () => {
    const lost = (await readSecret(join(cwd, 'data/local-agent.token')))!;
    await unlink(join(cwd, 'data/local-agent.token'));
    const started = BigInt(Date.now()) * 1_000_000n;
    const up = await startUp(cwd, ['--port', '0']);
    try {
      expect(up.banner).toContain(`local source "local" (${localId}): agent token renewed`);
      const renewed = await readSecret(join(cwd, 'data/local-agent.token'));
      expect(renewed).toMatch(/^pgr_agent_/);
      expect(renewed).not.toBe(lost);
      const refused = await fetch(`${up.url}/v1/agent/config`, {
        headers: { authorization: `Bearer ${lost}` },
      });
      expect(refused.status).toBe(401);
      await waitForLoopbackReplies(new ApiClient({ url: up.url, token: adminToken }), started, up);
    } finally {
      await interrupt(up);
    }
  });

  it('without CAP_NET_RAW says how to grant it, stops the control plane and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pinger-up-nocap-'));
    try {
      await chmod(dir, 0o777);
      const result = await exec(
        'setpriv',
        ['--reuid=nobody', '--regid=nogroup', '--init-groups', process.execPath, BIN, 'up', '--port', '0'],
        { cwd: dir, env: pingerEnv({ PINGER_LOG_LEVEL: 'error' }), timeoutMs: 30_000 },
      );
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('pinger: the local agent stopped:');
      expect(result.stderr).toContain('CAP_NET_RAW');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
