/**
 * `pinger probe --no-tx-timestamps`: the one-off probe times its sends by its own clock when told to, and says so
 * on every line and in the JSON; without the flag the same probes are timed by the kernel on both ends (loopback
 * stamps its packets' transmit like any device) and the lines carry no mark. Loopback only; needs root (raw
 * sockets).
 */
import { describe, expect, it } from 'vitest';
import { runPinger } from '../../helpers/pinger-process.js';

const isRoot = process.getuid?.() === 0;
/** Nothing listens here on loopback: TCP probes are answered by a reset, an RTT of their own. */
const CLOSED_PORT = '9';

type Line = Record<string, unknown> & { timing?: { send: string; receive: string | null } };

function jsonLines(stdout: string): { results: Line[]; summaries: { summary: Record<string, unknown> }[] } {
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  return {
    results: lines.filter((l) => !('summary' in l)),
    summaries: lines.filter((l) => 'summary' in l) as unknown as { summary: Record<string, unknown> }[],
  };
}

describe.skipIf(!isRoot)('pinger probe --no-tx-timestamps', () => {
  const base = ['probe', '127.0.0.1', '::1', '--count', '3', '--interval', '20'];

  it('marks every RTT of icmp and icmp6 as timed by the process on send, on each line and in the JSON', async () => {
    const text = await runPinger([...base, '--no-tx-timestamps']);
    expect(text.code, text.stderr).toBe(0);
    const replies = text.stdout.split('\n').filter((l) => l.includes(' reply from '));
    expect(replies).toHaveLength(6);
    for (const line of replies) expect(line).toMatch(/ time=\d+\.\d{3} ms timed=process-send$/);
    expect(text.stdout).toContain('3 sent, 3 received, 0.0% loss, 3 timed by the process, rtt');

    const json = jsonLines((await runPinger([...base, '--no-tx-timestamps', '--json'])).stdout);
    expect(json.results.map((r) => [r.status, r.timing?.send, r.timing?.receive])).toEqual(
      Array.from({ length: 6 }, () => ['reply', 'process', 'kernel']),
    );
    expect(json.summaries.map((s) => s.summary.processTimed)).toEqual([3, 3]);
  });

  it('times the same probes by the kernel on both ends without the flag, and marks nothing', async () => {
    const text = await runPinger(base);
    expect(text.code, text.stderr).toBe(0);
    const replies = text.stdout.split('\n').filter((l) => l.includes(' reply from '));
    expect(replies).toHaveLength(6);
    for (const line of replies) expect(line).toMatch(/ time=\d+\.\d{3} ms$/);
    expect(text.stdout).not.toContain('timed');

    const json = jsonLines((await runPinger([...base, '--json'])).stdout);
    expect(json.results.map((r) => [r.status, r.timing?.send, r.timing?.receive])).toEqual(
      Array.from({ length: 6 }, () => ['reply', 'kernel', 'kernel']),
    );
    expect(json.summaries.map((s) => s.summary.processTimed)).toEqual([0, 0]);
  });

  it('marks tcp resets the same way, over both families', async () => {
    for (const [target, protocol] of [
      ['127.0.0.1', 'tcp'],
      ['::1', 'tcp6'],
    ] as const) {
      const args = ['probe', target, '-p', protocol, '--port', CLOSED_PORT, '-c', '2', '-i', '20', '--json'];
      const off = jsonLines((await runPinger([...args, '--no-tx-timestamps'])).stdout).results;
      const on = jsonLines((await runPinger(args)).stdout).results;
      expect(
        off.map((r) => [r.status, r.timing?.send]),
        protocol,
      ).toEqual([
        ['reset', 'process'],
        ['reset', 'process'],
      ]);
      expect(
        on.map((r) => [r.status, r.timing?.send]),
        protocol,
      ).toEqual([
        ['reset', 'kernel'],
        ['reset', 'kernel'],
      ]);
    }
  });
});
