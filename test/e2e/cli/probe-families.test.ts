/**
 * `pinger probe` with IPv4 and IPv6 targets in one run: without `--protocol`, each target is probed over ICMP of
 * its own family; with an explicit protocol, a target of the other family is refused before anything is sent.
 * Loopback only; needs root (raw sockets).
 */
import { describe, expect, it } from 'vitest';
import { runPinger } from '../../helpers/pinger-process.js';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('pinger probe over both families', () => {
  it('probes 127.0.0.1 over icmp and ::1 over icmp6 in one run when no protocol is given', async () => {
    const run = await runPinger(['probe', '127.0.0.1', '::1', '--count', '3', '--interval', '20', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const results = lines.filter((l) => !('summary' in l));
    expect(results).toHaveLength(6);
    for (const [target, protocol] of [
      ['127.0.0.1', 'icmp'],
      ['::1', 'icmp6'],
    ] as const) {
      const mine = results.filter((r) => r.target === target);
      expect(mine.map((r) => [r.protocol, r.status, r.address])).toEqual(
        Array.from({ length: 3 }, () => [protocol, 'reply', target]),
      );
    }
  });

  it('refuses an IPv6 target for an explicit IPv4 protocol, naming it, and sends nothing', async () => {
    const run = await runPinger(['probe', '127.0.0.1', '::1', '--protocol', 'icmp', '--count', '1']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('TARGET ::1: is an IPv6 address but protocol icmp probes over IPv4');
  });
});
