/**
 * startAgent wired end to end in-process against a real control plane, with the raw-socket engine replaced by a
 * sender that answers at once (the probe engine has its own lab tests): results reach SQLite, a restart while the
 * control plane is down probes from the cached config and delivers once it is back, a refused token is fatal.
 */

import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentHandle, SyncAuthError, startAgent } from '../../../agent/main.js';
import { metricValue } from '../../../agent/metrics/metrics.js';
import type { SendProbe } from '../../../agent/schedule/scheduler.js';
import { startControlPlane, type TestControlPlane } from './control-plane.js';
import { result } from './fixtures.js';
import { memoryLogger, until } from './results-server.js';

let dir: string;
let cp: TestControlPlane;
const agents: AgentHandle[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-main-'));
  cp = await startControlPlane(join(dir, 'pinger.db'));
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await cp.close();
  await rm(dir, { recursive: true, force: true });
});

const sent: { destination: string; seq: number }[] = [];
const answering =
  (): SendProbe =>
  ({ destination: d }, seq, done) => {
    sent.push({ destination: d.id, seq });
    // From a later turn of the event loop, as a socket's answer comes.
    setImmediate(() =>
      done(
        result(d.id, seq, {
          rtime: `${BigInt(Date.now()) * 1_000_000n + BigInt(seq)}`,
          target: '127.0.0.1',
        }),
      ),
    );
  };

async function agent(url: string, token: string) {
  const logger = memoryLogger();
  const handle = await startAgent({
    url,
    token,
    spoolDir: join(dir, 'spool'),
    logger,
    sender: answering,
    waitSeconds: 5,
    outbox: { batchAgeMs: 100, flushMs: 20, backoff: { baseMs: 20, capMs: 100 } },
  });
  agents.push(handle);
  return { handle, logger };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('startAgent', () => {
  it('probes what the control plane assigns and stores every result once; stop() flushes', async () => {
    sent.length = 0;
    const source = await cp.createSource('main-1');
    const d = await cp.createDestination({ address: '127.0.0.1', interval: 50 });
    const { handle } = await agent(cp.url, source.token);
    await until('results stored', async () => (await cp.results({ destination: d.id })).length >= 10);
    await handle.stop();
    const stored = (await cp.results({ destination: d.id })).map((r) => r.rseq).sort((a, b) => a - b);
    expect(stored).toEqual(sent.filter((s) => s.destination === d.id).map((_, i) => i));
  });

  it('restarted while the control plane is down: probes from the cache, delivers once it is back', async () => {
    sent.length = 0;
    const source = await cp.createSource('main-1');
    const d = await cp.createDestination({ address: '127.0.0.1', interval: 50 });
    const first = await agent(cp.url, source.token);
    await until('probing', () => sent.length > 3);
    await first.handle.stop();
    await cp.close();

    const port = await freePort();
    const before = sent.length;
    const second = await agent(`http://127.0.0.1:${port}`, source.token);
    await until('probing from the cache', () => sent.length > before + 10);
    expect(second.logger.lines.some((l) => /cached config/.test(l.msg))).toBe(true);
    cp = await startControlPlane(join(dir, 'pinger.db'), port);
    await until('delivered after the outage', async () => {
      const n = (await cp.results({ destination: d.id })).length;
      return n >= before + 10;
    });
    await second.handle.stop();
    const stored = (await cp.results({ destination: d.id })).length;
    expect(stored).toBe(sent.length);
  });

  it('stop() settles the probes still in flight through the engine before the outbox closes: no seq gap', async () => {
    // A UDP listener that never answers: every probe waits for its 20 s timeout, far past the stop's drain.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const port = silent.address().port;
    try {
      const source = await cp.createSource('agent-1');
      const dest = await cp.createDestination({
        address: '127.0.0.1',
        protocol: 'udp',
        port,
        interval: 100,
        timeout: 20_000,
      });
      const logger = memoryLogger();
      const handle = await startAgent({
        url: cp.url,
        token: source.token,
        spoolDir: join(dir, 'spool'),
        logger,
        waitSeconds: 5,
        maxDrainMs: 100,
        outbox: { batchAgeMs: 100, flushMs: 20, backoff: { baseMs: 20, capMs: 100 } },
      });
      agents.push(handle);
      await until('a few probes in flight', async () => (await metricValue(handle.metrics.inflight)) >= 3);
      await handle.stop();
      const stopped = logger.lines.find((l) => l.msg === '[agent] stopped')!;
      const sentCount = Number(stopped.obj.sent);
      expect(sentCount).toBeGreaterThanOrEqual(3);
      expect(stopped.obj.dropped).toBe(0);
      const stored = (await cp.results({ destination: dest.id })).map((r) => r.rseq).sort((a, b) => a - b);
      expect(stored).toEqual(Array.from({ length: sentCount }, (_, i) => i));
    } finally {
      silent.close();
    }
  });

  it('a refused token stops the agent: done rejects with SyncAuthError', async () => {
    const { handle, logger } = await agent(cp.url, 'pgr_agent_wrong');
    await expect(handle.done).rejects.toBeInstanceOf(SyncAuthError);
    expect(logger.lines.some((l) => l.level === 'error' && /refused the agent token/.test(l.msg))).toBe(true);
  });
});
